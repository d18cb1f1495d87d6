using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.Pipeline;

/// <summary>Device and thread selection for the steps.</summary>
public static class Compute
{
    /// <summary>
    /// Parses "cpu", "cuda" or "cuda:N" and checks the device is usable. CUDA needs the CUDA build
    /// of ReCam (<c>-p:TorchBackend=cuda</c>), which is not tested here.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown or unavailable device.</exception>
    public static Device SelectDevice(string name, int threads = 0)
    {
        if (threads > 0) set_num_threads(threads);
        string n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new ArgumentException(
                    $"Device '{name}' requested but CUDA is not available. Build with -p:TorchBackend=cuda on a machine with an NVIDIA GPU, or use --device cpu.");
            return torch.device(n);
        }
        throw new ArgumentException($"Unknown device '{name}'. Use cpu, cuda or cuda:N.");
    }

    /// <summary>Seeds torch's generators (weight initialisation) from the run's seed.</summary>
    public static void Seed(int seed) => random.manual_seed(seed);
}
