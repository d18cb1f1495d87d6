using ReCam.Networks;
using static TorchSharp.torch;

namespace ReCam.Tests.Networks;

/// <summary>
/// For a test body that draws from torch's global generator: holds <see cref="GlobalGenerator.Gate"/>, seeds the generator, and
/// restores its state and releases the gate on dispose. Tests run in parallel, and a draw outside the gate would change the weights
/// of a seeded network another test is building at that moment (as a bare manual_seed did to GlobalGeneratorTests).
/// </summary>
internal sealed class SeededGlobalGenerator : IDisposable
{
    private readonly Tensor _saved;

    public SeededGlobalGenerator(int seed)
    {
        Monitor.Enter(GlobalGenerator.Gate);
        _saved = random.get_rng_state();
        random.manual_seed(seed);
    }

    public void Dispose()
    {
        random.set_rng_state(_saved);
        _saved.Dispose();
        Monitor.Exit(GlobalGenerator.Gate);
    }
}
