using static TorchSharp.torch;

namespace ReCam.Cli.Commands;

/// <summary>
/// recam bench --peak: what this CPU does through libtorch at its best, as the yardstick for the steps' figures: a large
/// fp32 matrix product and the 3x3 convolutions that dominate a ResNet, in GFLOP/s (2 x multiply-adds / seconds, median of
/// repetitions), and bfloat16 where the CPU has native support for it (AVX-512 BF16 or AMX), since elsewhere libtorch
/// emulates it and it is slower than fp32. bench/official/official_side.py --work peak prints the same lines for PyTorch.
/// </summary>
internal static class PeakBench
{
    /// <summary>The shapes measured: a matrix product, then 3x3 convolutions (batch, channels, side) met in extraction.</summary>
    private static readonly (string Name, long Batch, long Channels, long Side)[] Convolutions =
    [
        ("conv3x3 64ch 80px", 2, 64, 80), ("conv3x3 128ch 40px", 2, 128, 40), ("conv3x3 256ch 20px", 2, 256, 20), ("conv3x3 512ch 20px", 2, 512, 20),
    ];

    /// <summary>Prints one <c>PEAK name dtype GFLOP/s</c> line per shape and type.</summary>
    public static void Run(int repetitions, CancellationToken token)
    {
        bool bf16 = NativeBf16();
        Console.WriteLine($"threads {get_num_threads()}, native bfloat16: {(bf16 ? "yes" : "no (AVX-512 BF16 / AMX not reported by the CPU)")}");
        foreach (var type in bf16 ? new[] { ScalarType.Float32, ScalarType.BFloat16 } : [ScalarType.Float32])
        {
            using (var scope = NewDisposeScope())
            {
                const long n = 2048;
                var a = randn(n, n).to(type);
                var b = randn(n, n).to(type);
                Print("matmul 2048", type, 2.0 * n * n * n, Median(() => matmul(a, b).Dispose(), repetitions, token));
            }
            foreach (var (name, batch, channels, side) in Convolutions)
            {
                using var scope = NewDisposeScope();
                var x = randn(batch, channels, side, side).to(type);
                var w = randn(channels, channels, 3, 3).to(type);
                double flops = 2.0 * batch * channels * channels * 9 * side * side;
                Print(name, type, flops, Median(() => nn.functional.conv2d(x, w, padding: [1, 1]).Dispose(), repetitions, token));
            }
        }
    }

    private static void Print(string name, ScalarType type, double flops, double seconds) =>
        Console.WriteLine(FormattableString.Invariant($"PEAK {name.Replace(' ', '_')} {(type == ScalarType.BFloat16 ? "bf16" : "fp32")} {flops / seconds / 1e9:F1}"));

    private static double Median(Action work, int repetitions, CancellationToken token)
    {
        using var noGrad = no_grad();
        work(); // warm-up: first-call allocations and kernel selection
        return BenchTiming.MedianSeconds(repetitions, work, token);
    }

    /// <summary>True when /proc/cpuinfo lists avx512_bf16 or amx_bf16 (Linux; false elsewhere).</summary>
    internal static bool NativeBf16()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return false;
        var flags = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        var set = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        return set.Contains("avx512_bf16") || set.Contains("amx_bf16");
    }
}
