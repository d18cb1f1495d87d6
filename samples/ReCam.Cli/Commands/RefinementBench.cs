using System.Diagnostics;
using ReCam.Imaging;
using ReCam.Refinement;
using static TorchSharp.torch;

namespace ReCam.Cli.Commands;

/// <summary>
/// recam bench --refinement: the dense CRF on a 500x375 image (21 labels as in VOC, and 3 as in a typical IR label), the
/// sparse random walk on that image's 125x94 stride-4 grid, and the official dense formulation (n x n transition matrix
/// squared 8 times) at growing grids beside the sparse walk on the same grid, with time and peak memory.
/// </summary>
internal static class RefinementBench
{
    public static void Run(int classes, int repetitions, CancellationToken token)
    {
        repetitions = Math.Max(1, Math.Min(repetitions, 5));
        var image = BlockImage(500, 375);
        foreach (int labels in new[] { 21, 3 })
        {
            var seeds = BlockLabels(500, 375, labels);
            DenseCrf.RefineLabels(image, seeds, labels); // warm-up
            double seconds = BenchTiming.MedianSeconds(repetitions, () => DenseCrf.RefineLabels(image, seeds, labels), token);
            Console.WriteLine($"dense CRF, 500x375, {labels} labels, 10 iterations: {seconds:F2} s/image (one thread)");
        }

        var (boundary, maps) = Grid(94, 125, classes);
        RandomWalk.Propagate(maps, classes, boundary, 94, 125); // warm-up
        GC.Collect();
        bool reset = BenchCommand.TryResetPeak();
        double walk = BenchTiming.MedianSeconds(repetitions, () => RandomWalk.Propagate(maps, classes, boundary, 94, 125), token);
        Console.WriteLine($"sparse random walk, 125x94 grid (500x375 image), {classes} classes, 256 steps: {walk:F2} s/image, " +
                          $"peak resident memory {(reset ? "" : "(of the process so far) ")}{BenchCommand.PeakResidentBytes() / (1024.0 * 1024.0):F0} MiB");
        Console.WriteLine("official dense walk at 125x94: n = 11,750, one n x n fp32 matrix = 552 MB, 8 squarings = 2n^3 x 8 = 26 TFLOP (not run)");

        foreach (var (h, w) in new[] { (30, 40), (48, 64), (72, 96) })
        {
            token.ThrowIfCancellationRequested();
            var (b, x) = Grid(h, w, classes);
            double sparse = BenchTiming.MedianSeconds(repetitions, () => RandomWalk.Propagate(x, classes, b, h, w), token);
            GC.Collect();
            bool cleared = BenchCommand.TryResetPeak();
            var watch = Stopwatch.StartNew();
            DenseWalk(x, classes, b, h, w);
            double dense = watch.Elapsed.TotalSeconds;
            long n = (long)h * w;
            Console.WriteLine($"grid {w}x{h} (n = {n}): dense {dense:F2} s, peak {(cleared ? "" : "(process) ")}{BenchCommand.PeakResidentBytes() / (1024.0 * 1024.0):F0} MiB " +
                              $"({n * n * 4 / (1024.0 * 1024.0):F0} MiB per matrix); sparse {sparse:F3} s; dense/sparse time {dense / sparse:F0}x");
        }
    }

    // The official propagate_to_edge in TorchSharp: dense A (self 1), column normalisation, 8 squarings, x · T.
    private static void DenseWalk(float[] seeds, int classes, float[] boundary, int h, int w)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var index = new PathIndex(RandomWalk.DefaultRadius);
        var affinity = index.Affinities(boundary, h, w);
        int n = h * w;
        var dense = new float[(long)n * n];
        for (int p = 0; p < n; p++) dense[(long)p * n + p] = 1;
        for (int d = 0; d < index.Directions.Count; d++)
        {
            var (dy, dx) = index.Directions[d];
            for (int y = 0; y + dy < h; y++)
                for (int x = Math.Max(0, -dx); x < w && x + dx < w; x++)
                {
                    int p = y * w + x, q = p + dy * w + dx;
                    float a = MathF.Pow(affinity[d * n + p], (float)RandomWalk.DefaultBeta);
                    dense[(long)p * n + q] = a;
                    dense[(long)q * n + p] = a;
                }
        }
        var t = tensor(dense, [n, n]);
        t = t / t.sum(0, keepdim: true);
        for (int i = 0; i < 8; i++) t = t.mm(t);
        var walked = tensor(seeds, [classes, n]).mm(t);
        walked.sum().item<float>();
    }

    // A 500x375-like photo: flat blocks of colour with mild noise (random noise would make the bilateral lattice unrealistically sparse).
    private static RgbImage BlockImage(int width, int height)
    {
        var rng = new Random(1);
        var px = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int block = (x / 60 + 3 * (y / 50)) % 7;
                for (int c = 0; c < 3; c++) px[(y * width + x) * 3 + c] = (byte)Math.Clamp(block * 35 + c * 20 + rng.Next(-8, 9), 0, 255);
            }
        return new RgbImage(width, height, px);
    }

    private static byte[] BlockLabels(int width, int height, int labels)
    {
        var l = new byte[width * height];
        for (int i = 0; i < l.Length; i++) l[i] = (byte)(((i % width) / 40 + (i / width) / 40) % labels);
        return l;
    }

    private static (float[] Boundary, float[] Maps) Grid(int h, int w, int classes)
    {
        var rng = new Random(2);
        var boundary = new float[h * w];
        for (int i = 0; i < boundary.Length; i++) boundary[i] = (float)(0.3 * rng.NextDouble());
        var maps = new float[classes * h * w];
        for (int i = 0; i < maps.Length; i++) maps[i] = (float)rng.NextDouble();
        return (boundary, maps);
    }
}
