using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Refinement;

namespace ReCam.Evaluation;

/// <summary>
/// A background threshold chosen from the images as well as the maps, without masks: for each candidate threshold t, the seed
/// labelling at t splits the image into foreground and background, and the split is scored by its normalised cut
/// (Shi and Malik 2000) under the appearance affinity of the dense CRF's bilateral kernel,
/// <c>w_ij = exp(-|p_i - p_j|² / 2σ_xy² - |I_i - I_j|² / 2σ_rgb²)</c>:
/// <c>Ncut(t) = cut(F, B) / vol(F) + cut(F, B) / vol(B)</c>, where cut sums the affinities across the split and vol those
/// from one side to every pixel. A threshold too low spills the seeds onto background that resembles the background around
/// it; one too high leaves object pixels that resemble the object outside; the cut is smallest where the seed boundary
/// follows the image's own boundary. Each image votes for the candidate of its smallest cut within the range asked for and the
/// estimate is the median vote, so a few images without a visible boundary do not move it.
/// </summary>
/// <remarks>
/// Why not the maps alone: the maps' histogram (<see cref="AutomaticThreshold"/>'s Otsu) is almost the same whether the items
/// are small or large, while the best threshold moves with their size; the image shows where objects end. The affinities
/// are filtered through the same permutohedral lattice as the dense CRF, so one image costs one lattice and one filter per
/// candidate threshold (about 1 ms each at 160×160).
/// </remarks>
public sealed class NormalizedCutThreshold
{
    /// <summary>The smallest candidate threshold.</summary>
    public const float Lowest = 0.05f;

    /// <summary>The largest candidate threshold.</summary>
    public const float Highest = 0.70f;

    /// <summary>The spacing of the candidate thresholds.</summary>
    public const float Step = 0.01f;

    private readonly List<double[]> _cuts = [];

    /// <summary>Creates an estimate with the given affinity; the defaults are the ones chosen on generated scenes (README).</summary>
    /// <param name="spatialScale">σ_xy as a fraction of the image's side (the square root of its pixel count).</param>
    /// <param name="colourScale">σ_rgb in 8-bit colour units.</param>
    public NormalizedCutThreshold(double spatialScale = DefaultSpatialScale, double colourScale = DefaultColourScale)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(spatialScale);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(colourScale);
        SpatialScale = spatialScale;
        ColourScale = colourScale;
    }

    /// <summary>The default σ_xy, as a fraction of the image's side.</summary>
    public const double DefaultSpatialScale = 0.5;

    /// <summary>The default σ_rgb.</summary>
    public const double DefaultColourScale = 20;

    /// <summary>σ_xy as a fraction of the image's side.</summary>
    public double SpatialScale { get; }

    /// <summary>σ_rgb in 8-bit colour units.</summary>
    public double ColourScale { get; }

    /// <summary>Images added that had at least one class.</summary>
    public int Images
    {
        get
        {
            lock (_cuts) return _cuts.Count;
        }
    }

    /// <summary>The candidate thresholds, <see cref="Lowest"/> to <see cref="Highest"/> by <see cref="Step"/>.</summary>
    public static float[] Candidates { get; } =
        Enumerable.Range(0, (int)Math.Round((Highest - Lowest) / Step) + 1).Select(i => (float)Math.Round(Lowest + i * Step, 2)).ToArray();

    /// <summary>Adds one image's normalised cut at every candidate threshold (nothing if its maps have no class).</summary>
    /// <exception cref="ArgumentException">The maps and the image differ in size.</exception>
    public void Add(CamMaps maps, RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentNullException.ThrowIfNull(image);
        if (maps.Count == 0) return;
        var cuts = Cuts(maps, image);
        lock (_cuts) _cuts.Add(cuts);
    }

    /// <summary>
    /// The median of the images' votes, each image voting for the candidate between <paramref name="lowest"/> and
    /// <paramref name="highest"/> (inclusive) where its cut is smallest.
    /// </summary>
    /// <exception cref="InvalidOperationException">No image with classes was added.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No candidate lies in the range.</exception>
    public float Estimate(float lowest = 0, float highest = 1)
    {
        double[][] curves;
        lock (_cuts) curves = [.. _cuts];
        if (curves.Length == 0) throw new InvalidOperationException("No maps with classes were added; the threshold cannot be chosen.");
        var allowed = Enumerable.Range(0, Candidates.Length).Where(j => Candidates[j] >= lowest - 1e-6f && Candidates[j] <= highest + 1e-6f).ToArray();
        if (allowed.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(lowest), $"No candidate threshold lies between {lowest} and {highest}.");
        var votes = new float[curves.Length];
        for (int v = 0; v < curves.Length; v++)
        {
            int best = allowed[0];
            foreach (int j in allowed)
                if (curves[v][j] < curves[v][best]) best = j;
            votes[v] = Candidates[best];
        }
        Array.Sort(votes);
        int mid = votes.Length / 2;
        return votes.Length % 2 == 1 ? votes[mid] : (votes[mid - 1] + votes[mid]) / 2;
    }

    /// <summary>The normalised cut of the seed labelling at each of <see cref="Candidates"/> (1 + 1 where one side is empty).</summary>
    internal double[] Cuts(CamMaps maps, RgbImage image)
    {
        if (image.Width != maps.Width || image.Height != maps.Height)
            throw new ArgumentException($"The maps are {maps.Width}x{maps.Height} but the image is {image.Width}x{image.Height}.", nameof(image));
        int n = maps.Height * maps.Width;
        // The dense CRF's appearance features, with σ_xy relative to the image so the affinity means the same at any size.
        var lattice = new PermutohedralLattice(DenseCrf.BilateralFeatures(image, SpatialScale * Math.Sqrt(n), ColourScale), n, 5);
        var degree = new float[n];
        var ones = new float[n];
        Array.Fill(ones, 1f);
        lattice.Filter(ones, degree, 1);

        // Each pixel's highest class value: a pixel is foreground at t when it exceeds t (SeedPrediction's rule).
        var peak = new float[n];
        for (int k = 0; k < maps.Count; k++)
        {
            var plane = maps.HighResPlane(k);
            for (int i = 0; i < n; i++) peak[i] = Math.Max(peak[i], plane[i]);
        }
        var inside = new float[n];
        var toForeground = new float[n];
        var cuts = new double[Candidates.Length];
        for (int j = 0; j < Candidates.Length; j++)
        {
            float t = Candidates[j];
            double volumeF = 0, volumeB = 0;
            for (int i = 0; i < n; i++)
            {
                bool f = peak[i] > t;
                inside[i] = f ? 1 : 0;
                if (f) volumeF += degree[i];
                else volumeB += degree[i];
            }
            if (volumeF <= 0 || volumeB <= 0)
            {
                cuts[j] = 2;
                continue;
            }
            lattice.Filter(inside, toForeground, 1);
            double cut = 0;
            for (int i = 0; i < n; i++)
                if (inside[i] == 0) cut += toForeground[i];
            cuts[j] = cut / volumeF + cut / volumeB;
        }
        return cuts;
    }
}
