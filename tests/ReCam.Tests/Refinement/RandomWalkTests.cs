using ReCam.Refinement;
using Xunit;

namespace ReCam.Tests.Refinement;

public sealed class RandomWalkTests
{
    [Theory]
    [InlineData(5, 34)]
    [InlineData(10, 152)]
    public void PathIndexHasTheOfficialNumberOfDirections(int radius, int directions)
    {
        var index = new PathIndex(radius);
        Assert.Equal(directions, index.Directions.Count);
        Assert.All(index.Directions, d => Assert.True(d.Dy > 0 || d is { Dy: 0, Dx: > 0 }));
        for (int i = 0; i < index.Directions.Count; i++)
        {
            Assert.Equal(index.Directions[i], index.Paths[i][0]); // farthest first: the destination itself
            Assert.Contains((0, 0), index.Paths[i]);
        }
        Assert.Equal([(0, 3), (0, 2), (0, 1), (0, 0)], index.Paths[index.Directions.ToList().IndexOf((0, 3))]);
    }

    // The official formulation, densely: A over every pair closer than the radius (self 1), T = A / column sums, T^(2^8) by squaring.
    private static double[] DenseWalk(float[] seeds, int count, float[] boundary, int h, int w, double beta, int radius)
    {
        int n = h * w;
        var t = new double[n, n];
        for (int p = 0; p < n; p++)
            for (int q = 0; q < n; q++)
            {
                int py = p / w, px = p % w, qy = q / w, qx = q % w;
                int dy = qy - py, dx = qx - px;
                if (p == q) { t[p, q] = 1; continue; }
                if (dy * dy + dx * dx >= radius * radius) continue;
                double max = 0; // pixels of the segment's bounding box within distance 1 of the line through p and q
                for (int y = Math.Min(py, qy); y <= Math.Max(py, qy); y++)
                    for (int x = Math.Min(px, qx); x <= Math.Max(px, qx); x++)
                    {
                        double cross = dy * (x - px) - dx * (y - py);
                        if (cross * cross / (dy * dy + dx * dx) < 1) max = Math.Max(max, boundary[y * w + x]);
                    }
                t[p, q] = Math.Pow(1 - max, beta);
            }
        for (int q = 0; q < n; q++)
        {
            double sum = 0;
            for (int p = 0; p < n; p++) sum += t[p, q];
            for (int p = 0; p < n; p++) t[p, q] /= sum;
        }
        for (int s = 0; s < 8; s++)
        {
            var sq = new double[n, n];
            for (int i = 0; i < n; i++)
                for (int k = 0; k < n; k++)
                {
                    double a = t[i, k];
                    if (a == 0) continue;
                    for (int j = 0; j < n; j++) sq[i, j] += a * t[k, j];
                }
            t = sq;
        }
        var result = new double[count * n];
        for (int c = 0; c < count; c++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int i = 0; i < n; i++) s += seeds[c * n + i] * (1 - boundary[i]) * t[i, j];
                result[c * n + j] = s;
            }
        return result;
    }

    [Theory]
    [InlineData(9, 11, 5, 10.0)]
    [InlineData(12, 7, 3, 4.0)]
    public void SparseWalkEqualsTheDenseTransitionMatrixPower(int h, int w, int radius, double beta)
    {
        var rng = new Random(h * w);
        var boundary = Enumerable.Range(0, h * w).Select(_ => (float)(rng.NextDouble() * 0.3)).ToArray();
        var seeds = Enumerable.Range(0, 2 * h * w).Select(_ => (float)rng.NextDouble()).ToArray();
        var sparse = RandomWalk.Propagate(seeds, 2, boundary, h, w, beta, 256, radius);
        var dense = DenseWalk(seeds, 2, boundary, h, w, beta, radius);
        double scale = dense.Max();
        double worst = sparse.Zip(dense, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-4 * scale, $"largest difference {worst:E2} (values up to {scale:F3})");
    }

    [Fact]
    public void ABoundaryWallStopsTheWalk()
    {
        int h = 12, w = 16;
        var boundary = new float[h * w];
        for (int y = 0; y < h; y++) boundary[y * w + 8] = 1; // a closed wall at column 8
        var seed = new float[h * w];
        seed[5 * w + 2] = 1; // one seed pixel on the left
        var walked = RandomWalk.Propagate(seed, 1, boundary, h, w);
        for (int y = 0; y < h; y++)
            for (int x = 8; x < w; x++) Assert.Equal(0f, walked[y * w + x]);
        float near = walked[5 * w + 3], far = walked[0 * w + 7];
        Assert.True(far > 0.3f * near, $"mass spread over the left region (near {near:E2}, far {far:E2})");
        // Each step averages a pixel's neighbours (the columns of T sum to 1), so a uniform map without boundaries stays uniform.
        var flat = RandomWalk.Propagate(Enumerable.Repeat(0.7f, h * w).ToArray(), 1, new float[h * w], h, w);
        Assert.All(flat, v => Assert.Equal(0.7f, v, 1e-5f));
    }

    [Fact]
    public void WithTrueBoundariesTheWalkRecoversTheMasksOfBlurredMaps()
    {
        var set = Scenes.SceneGenerator.Generate(Path.Combine(Path.GetTempPath(), "recam-rw-" + Guid.NewGuid().ToString("N")),
            new Scenes.SceneOptions { Count = 4, ValFraction = 0, ImageSize = 96, Seed = 8 });
        try
        {
            foreach (string id in set.TrainIds)
            {
                var truth = ReCam.Imaging.PngLabelReader.Read(Path.Combine(set.Root, "SegmentationClass", id + ".png"));
                var maps = CamToIrLabelStepTests.MapsFromMask(truth);
                int gh = maps.CamHeight, gw = maps.CamWidth;
                // Boundary 1 on every stride-4 cell whose 4x4 block holds more than one label, 0 elsewhere.
                var boundary = new float[gh * gw];
                for (int y = 0; y < gh; y++)
                    for (int x = 0; x < gw; x++)
                    {
                        var block = from yy in Enumerable.Range(4 * y, 4) from xx in Enumerable.Range(4 * x, 4)
                                    where yy < truth.Height && xx < truth.Width select truth[xx, yy];
                        boundary[y * gw + x] = block.Distinct().Count() > 1 ? 1 : 0;
                    }
                var walked = RandomWalk.Propagate(maps.Cam, maps.Count, boundary, gh, gw);
                var mask = PseudoMask.FromRandomWalk(walked, maps.Keys, gh, gw, maps.Height, maps.Width, PseudoMask.OfficialBackgroundThreshold);
                int agree = mask.Values.Zip(truth.Values).Count(p => p.First == p.Second || p.Second == 255);
                Assert.True(agree > 0.9 * mask.Values.Length, $"{id}: {agree} of {mask.Values.Length} pixels agree with the mask");
            }
        }
        finally
        {
            Directory.Delete(set.Root, recursive: true);
        }
    }

    [Fact]
    public void PseudoMaskUpsamplesLikePyTorchAndAppliesTheBackgroundPlane()
    {
        // One class on a 2x2 grid; the image is 7x8 (crop of the 8x8 upsampling).
        float[] walked = [0f, 1f, 0f, 0.2f];
        var mask = PseudoMask.FromRandomWalk(walked, [3], 2, 2, 7, 8, backgroundThreshold: 0.5f);
        // Column taps of x4 bilinear, align_corners=False: src = max(0, (x + 0.5)/4 - 0.5); row 0 values 0 → 1 across.
        float[] row0 = Enumerable.Range(0, 8).Select(x => Math.Min(1f, Math.Max(0f, (x + 0.5f) / 4f - 0.5f))).ToArray();
        for (int x = 0; x < 8; x++) Assert.Equal(row0[x] > 0.5f ? 4 : 0, mask[x, 0]);
        Assert.Equal(0, mask[7, 6]); // bottom right ~0.2-0.4 of the max: background at 0.5
        Assert.Equal(4, PseudoMask.FromRandomWalk(walked, [3], 2, 2, 7, 8, 0.1f)[7, 6]);
        Assert.All(PseudoMask.FromRandomWalk([], [], 2, 2, 7, 8, 0.28f).Values, v => Assert.Equal(0, v));
        Assert.Throws<ArgumentException>(() => PseudoMask.FromRandomWalk(walked, [3], 2, 2, 9, 8, 0.28f));
    }

    [Fact]
    public void AnUncertainMarginLeavesPixelsWhereTheWinnerBarelyLeadsUnlabelled()
    {
        // Two classes on a 1x2 grid (image 4x8): class 3 falls 1 → 0.3 across, class 5 rises 0 → 0.9; background plane 0.5.
        float[] walked = [1f, 0.3f, 0f, 0.9f];
        var plain = PseudoMask.FromRandomWalk(walked, [3, 5], 1, 2, 4, 8, 0.5f);
        var margin = PseudoMask.FromRandomWalk(walked, [3, 5], 1, 2, 4, 8, 0.5f, uncertainMargin: 0.1f);
        Assert.DoesNotContain(PseudoMask.IgnoreLabel, plain.Values);
        for (int x = 0; x < 8; x++)
        {
            // Each column's scores, as the function upsamples them (the grid has one row, so every row is the same).
            float src = Math.Min(1f, Math.Max(0f, (x + 0.5f) / 4f - 0.5f));
            float a = 1f + (0.3f - 1f) * src, b = 0.9f * src;
            float[] scores = [0.5f, a, b];
            Array.Sort(scores);
            bool uncertain = scores[2] - scores[1] < 0.1f;
            for (int y = 0; y < 4; y++)
                Assert.Equal(uncertain ? PseudoMask.IgnoreLabel : plain[x, y], margin[x, y]);
        }
        // The crossing of the two classes (around x = 4) is unlabelled, the confident ends keep their classes.
        Assert.Equal(4, margin[0, 0]);
        Assert.Equal(6, margin[7, 0]);
        Assert.Contains(PseudoMask.IgnoreLabel, margin.Values);
        Assert.Throws<ArgumentOutOfRangeException>(() => PseudoMask.FromRandomWalk(walked, [3, 5], 1, 2, 4, 8, 0.5f, uncertainMargin: -0.1f));
    }
}
