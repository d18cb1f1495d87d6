namespace ReCam.Refinement;

/// <summary>
/// The pixel pairs IRNet relates (the official <c>PathIndex</c>): every direction d = (dy, dx) of length below the
/// radius in one half-plane, so each unordered pair appears once, and for each direction the pixels of the straight
/// path from 0 to d, the pixels whose boundary values decide the pair's affinity (1 − the path's largest boundary value).
/// </summary>
public sealed class PathIndex
{
    /// <summary>Builds the directions and paths for <paramref name="radius"/> (2 to 32).</summary>
    public PathIndex(int radius)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(radius, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(radius, 32);
        Radius = radius;
        var directions = new List<(int Dy, int Dx)>();
        for (int x = 1; x < radius; x++) directions.Add((0, x));
        for (int y = 1; y < radius; y++)
            for (int x = 1 - radius; x < radius; x++)
                if (x * x + y * y < radius * radius) directions.Add((y, x));
        Directions = directions;
        Paths = directions.Select(d => PathOf(d.Dy, d.Dx)).ToList();
    }

    /// <summary>The radius: pairs closer than this are related.</summary>
    public int Radius { get; }

    /// <summary>The directions (dy ≥ 0; dx &gt; 0 when dy = 0): 34 for radius 5, 152 for radius 10.</summary>
    public IReadOnlyList<(int Dy, int Dx)> Directions { get; }

    /// <summary>For each direction, the offsets (dy, dx) of its path's pixels from the source, both ends included.</summary>
    public IReadOnlyList<(int Dy, int Dx)[]> Paths { get; }

    /// <summary>
    /// Affinity of each pair from a boundary map B in [0, 1] (h × w, row-major): <c>a[dir, p] = 1 − max over the path of B</c>
    /// for source p and destination p + d, or 0 when p + d falls outside the map. Layout [direction, pixel].
    /// </summary>
    public float[] Affinities(ReadOnlySpan<float> boundary, int height, int width)
    {
        if (boundary.Length != height * width) throw new ArgumentException($"Expected {height}x{width} boundary values, got {boundary.Length}.", nameof(boundary));
        int n = height * width;
        var affinity = new float[Directions.Count * n];
        for (int dir = 0; dir < Directions.Count; dir++)
        {
            var (dy, dx) = Directions[dir];
            var path = Paths[dir];
            for (int y = 0; y < height; y++)
            {
                if (y + dy >= height) break;
                for (int x = Math.Max(0, -dx); x < width && x + dx < width; x++)
                {
                    // Both ends inside implies the whole path is (it lies in their bounding box).
                    float max = 0;
                    foreach (var (py, px) in path) max = MathF.Max(max, boundary[(y + py) * width + x + px]);
                    affinity[dir * n + y * width + x] = 1 - max;
                }
            }
        }
        return affinity;
    }

    // Pixels of the bounding box of 0 and d whose squared distance to the line through them is below 1, farthest first.
    private static (int Dy, int Dx)[] PathOf(int dy, int dx)
    {
        var points = new List<(int Dy, int Dx)>();
        double length2 = dy * dy + dx * dx;
        for (int y = Math.Min(0, dy); y <= Math.Max(0, dy); y++)
            for (int x = Math.Min(0, dx); x <= Math.Max(0, dx); x++)
            {
                double cross = dy * x - dx * y;
                if (cross * cross / length2 < 1) points.Add((y, x));
            }
        return points.OrderByDescending(p => Math.Abs(p.Dy) + Math.Abs(p.Dx)).ToArray();
    }
}
