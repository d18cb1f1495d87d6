namespace ReCam.Refinement;

/// <summary>
/// IRNet's random walk (the official <c>propagate_to_edge</c>) as a sparse computation. The official code builds the
/// dense n × n transition matrix of the stride-4 grid (n = h·w: 552 MB and about 26 TFLOP for a 500 × 375 image)
/// and squares it 8 times. Here each of the 256 steps is one sparse product over every pixel's neighbours within
/// the radius (69 with itself for radius 5): <c>y_j = Σ_i x_i a_ij / Σ_i a_ij</c>, the same result in O(n) memory.
/// </summary>
public static class RandomWalk
{
    /// <summary>Radius of the affinity neighbourhood at inference (official 5).</summary>
    public const int DefaultRadius = 5;

    /// <summary>Exponent applied to affinities (official 10).</summary>
    public const double DefaultBeta = 10;

    /// <summary>Random-walk steps (official: 8 squarings of the transition matrix, 2^8 = 256).</summary>
    public const int DefaultSteps = 256;

    /// <summary>
    /// Propagates seed maps along affinities derived from a boundary map: seeds × (1 − B), then
    /// <paramref name="steps"/> steps of the column-normalised transition matrix of <c>A = (1 − max over path B)^β</c>
    /// (self-loops 1).
    /// </summary>
    /// <param name="seeds">Seed maps, [count, height, width] row-major (the stride-4 CAMs of the present classes).</param>
    /// <param name="count">Number of maps.</param>
    /// <param name="boundary">Boundary probabilities in [0, 1], [height, width].</param>
    /// <param name="height">Grid height.</param>
    /// <param name="width">Grid width.</param>
    /// <param name="beta">Affinity exponent.</param>
    /// <param name="steps">Random-walk steps (0 returns the masked seeds).</param>
    /// <param name="radius">Neighbourhood radius.</param>
    /// <returns>The propagated maps, [count, height, width].</returns>
    public static float[] Propagate(ReadOnlySpan<float> seeds, int count, ReadOnlySpan<float> boundary, int height, int width,
        double beta = DefaultBeta, int steps = DefaultSteps, int radius = DefaultRadius)
    {
        int n = height * width;
        if (seeds.Length != (long)count * n) throw new ArgumentException($"Expected {count}x{height}x{width} seed values, got {seeds.Length}.", nameof(seeds));
        if (boundary.Length != n) throw new ArgumentException($"Expected {height}x{width} boundary values, got {boundary.Length}.", nameof(boundary));
        if (!(beta > 0)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "Beta must be positive.");
        ArgumentOutOfRangeException.ThrowIfNegative(steps);

        var x = new float[seeds.Length];
        for (int k = 0; k < count; k++)
            for (int i = 0; i < n; i++) x[k * n + i] = seeds[k * n + i] * (1 - boundary[i]);
        if (steps == 0 || count == 0) return x;

        var graph = TransitionGraph.Build(new PathIndex(radius), boundary, height, width, beta);
        var y = new float[x.Length];
        for (int s = 0; s < steps; s++)
        {
            for (int k = 0; k < count; k++) graph.Step(x.AsSpan(k * n, n), y.AsSpan(k * n, n));
            (x, y) = (y, x);
        }
        return x;
    }

    /// <summary>Each pixel's incoming neighbours with weights a_ij / Σ_i a_ij, in compressed rows.</summary>
    private sealed class TransitionGraph
    {
        private readonly int[] _start, _source;
        private readonly float[] _weight;

        private TransitionGraph(int[] start, int[] source, float[] weight) => (_start, _source, _weight) = (start, source, weight);

        public static TransitionGraph Build(PathIndex index, ReadOnlySpan<float> boundary, int height, int width, double beta)
        {
            int n = height * width, dirs = index.Directions.Count;
            var affinity = index.Affinities(boundary, height, width);
            for (int i = 0; i < affinity.Length; i++) affinity[i] = (float)Math.Pow(Math.Max(affinity[i], 0), beta);
            var start = new int[n + 1];
            var source = new List<int>(n * (2 * dirs + 1));
            var weight = new List<float>(n * (2 * dirs + 1));
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int j = y * width + x;
                    start[j] = source.Count;
                    source.Add(j);
                    weight.Add(1f);
                    for (int d = 0; d < dirs; d++)
                    {
                        var (dy, dx) = index.Directions[d];
                        if (y + dy < height && x + dx >= 0 && x + dx < width) { source.Add(j + dy * width + dx); weight.Add(affinity[d * n + j]); }
                        if (y - dy >= 0 && x - dx >= 0 && x - dx < width) { source.Add(j - dy * width - dx); weight.Add(affinity[d * n + j - dy * width - dx]); }
                    }
                    // Column normalisation of the symmetric affinity matrix = dividing by this pixel's total weight.
                    double total = 0;
                    for (int e = start[j]; e < source.Count; e++) total += weight[e];
                    for (int e = start[j]; e < source.Count; e++) weight[e] = (float)(weight[e] / total);
                }
            start[n] = source.Count;
            return new TransitionGraph(start, source.ToArray(), weight.ToArray());
        }

        public void Step(ReadOnlySpan<float> x, Span<float> y)
        {
            for (int j = 0; j < y.Length; j++)
            {
                float s = 0;
                for (int e = _start[j]; e < _start[j + 1]; e++) s += _weight[e] * x[_source[e]];
                y[j] = s;
            }
        }
    }
}
