using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// Serialises this library's use of torch's process-wide generator. Module constructors draw their initial weights from it,
/// so two networks built at once on two threads (two ML.NET pipelines fitted in one server, parallel tests) would interleave
/// their draws and a seeded construction would stop being reproducible. Every construction here draws under
/// <see cref="Gate"/>; <see cref="Seeded{T}"/> seeds, builds and restores the generator's state under it.
/// </summary>
internal static class GlobalGenerator
{
    /// <summary>Held while drawing from the global generator. Re-entrant (a monitor), so nested constructions are fine.</summary>
    internal static readonly object Gate = new();

    /// <summary>
    /// Runs <paramref name="create"/> with the global generator seeded with <paramref name="seed"/>, then restores the
    /// generator's previous state, so other users of the generator in the same process see no difference.
    /// </summary>
    internal static T Seeded<T>(int seed, Func<T> create)
    {
        using (Hold(seed)) return create();
    }

    /// <summary>
    /// Takes <see cref="Gate"/> and seeds the global generator with <paramref name="seed"/> until disposed (on the same thread),
    /// when the generator's previous state comes back and the gate is released: <see cref="Seeded{T}"/> for a block of code.
    /// </summary>
    internal static IDisposable Hold(int seed) => new Holding(seed);

    private sealed class Holding : IDisposable
    {
        private readonly Tensor _saved;

        public Holding(int seed)
        {
            Monitor.Enter(Gate);
            try
            {
                _saved = random.get_rng_state();
                random.manual_seed(seed);
            }
            catch
            {
                Monitor.Exit(Gate);
                throw;
            }
        }

        public void Dispose()
        {
            random.set_rng_state(_saved);
            _saved.Dispose();
            Monitor.Exit(Gate);
        }
    }
}
