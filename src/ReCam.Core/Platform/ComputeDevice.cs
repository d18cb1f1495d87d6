using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.Platform;

/// <summary>Device and CPU thread selection for the pipeline steps.</summary>
public static class ComputeDevice
{
    /// <summary>
    /// Parses "cpu", "cuda" or "cuda:N" and checks the device is usable; with <paramref name="threads"/> &gt; 0 also sets
    /// torch's CPU threads. CUDA needs the CUDA build of ReCam (<c>-p:TorchBackend=cuda</c>), which is not tested here.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown or unavailable device.</exception>
    public static Device Select(string name, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        TorchNativeLoader.ThrowIfUnloadable();
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
}
