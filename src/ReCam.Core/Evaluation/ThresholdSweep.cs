using ReCam.Cam;

namespace ReCam.Evaluation;

/// <summary>The ground-truth label map of one image: row-major H*W labels (0 background, c+1 class c, 255 ignored).</summary>
/// <param name="Id">Image id, used in error messages.</param>
/// <param name="Width">Width W.</param>
/// <param name="Height">Height H.</param>
/// <param name="Values">The W*H labels.</param>
public sealed record GroundTruth(string Id, int Width, int Height, byte[] Values);

/// <summary>The mean IoU obtained at one background threshold.</summary>
/// <param name="Threshold">The background threshold.</param>
/// <param name="MeanIoU">The mean IoU over all classes (background included).</param>
public sealed record ThresholdScore(float Threshold, double MeanIoU);

/// <summary>The outcome of a <see cref="ThresholdSweep"/>.</summary>
/// <param name="ImageCount">Number of images evaluated.</param>
/// <param name="Scores">mIoU per threshold, ascending thresholds.</param>
/// <param name="DefaultThreshold">The configured threshold.</param>
/// <param name="DefaultConfusion">Confusion matrix at the configured threshold.</param>
/// <param name="BestThreshold">The threshold with the highest mIoU (lowest one on ties).</param>
/// <param name="BestConfusion">Confusion matrix at the best threshold.</param>
public sealed record SweepResult(
    int ImageCount,
    IReadOnlyList<ThresholdScore> Scores,
    float DefaultThreshold,
    ConfusionMatrix DefaultConfusion,
    float BestThreshold,
    ConfusionMatrix BestConfusion);

/// <summary>
/// Evaluates seeds (<see cref="SeedPrediction"/>) at many background thresholds in one pass over the images:
/// for each pixel only the best class value m and its label are needed, since the pixel is labelled with that
/// class exactly at the thresholds t &lt; m and background otherwise. Counts are kept per (truth, class,
/// threshold interval), so the cost per pixel does not grow with the number of thresholds.
/// </summary>
public sealed class ThresholdSweep
{
    private readonly float[] _thresholds;
    private readonly long[] _histogram; // [truth, label, number of thresholds below the pixel's best value]
    private readonly int _bins;

    /// <summary>Creates an empty sweep.</summary>
    /// <param name="classCount">Number of classes N, background included (21 on VOC).</param>
    /// <param name="defaultThreshold">The configured threshold; always evaluated.</param>
    /// <param name="thresholds">Thresholds to try; <see cref="StandardThresholds"/> when null.</param>
    public ThresholdSweep(int classCount, float defaultThreshold, IEnumerable<float>? thresholds = null)
    {
        if (!float.IsFinite(defaultThreshold))
            throw new ArgumentOutOfRangeException(nameof(defaultThreshold), defaultThreshold, "Threshold must be finite.");
        if (classCount is < 1 or > ConfusionMatrix.IgnoreLabel)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "Class count must be between 1 and 255.");
        var set = new List<float> { defaultThreshold };
        foreach (float t in thresholds ?? StandardThresholds())
        {
            if (!float.IsFinite(t)) throw new ArgumentOutOfRangeException(nameof(thresholds), t, "Thresholds must be finite.");
            if (!set.Any(s => Math.Abs(s - t) < 1e-6f)) set.Add(t);
        }
        set.Sort();
        _thresholds = [.. set];
        ClassCount = classCount;
        DefaultThreshold = defaultThreshold;
        _bins = _thresholds.Length + 1;
        _histogram = new long[classCount * classCount * _bins];
    }

    /// <summary>Number of classes N, background included.</summary>
    public int ClassCount { get; }

    /// <summary>The configured threshold.</summary>
    public float DefaultThreshold { get; }

    /// <summary>All evaluated thresholds, ascending (the default included once).</summary>
    public IReadOnlyList<float> Thresholds => _thresholds;

    /// <summary>Number of images added so far.</summary>
    public int ImageCount { get; private set; }

    /// <summary>The default sweep: 0.05, 0.06, ..., 0.60.</summary>
    public static IReadOnlyList<float> StandardThresholds() =>
        [.. Enumerable.Range(5, 56).Select(i => (float)(i / 100.0))];

    /// <summary>Runs a sweep over <paramref name="images"/> (each map loaded once) and returns its result.</summary>
    public static SweepResult Run(IEnumerable<(CamMaps Maps, GroundTruth Truth)> images, int classCount,
        float defaultThreshold, IEnumerable<float>? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        var sweep = new ThresholdSweep(classCount, defaultThreshold, thresholds);
        foreach (var (maps, truth) in images) sweep.Add(maps, truth);
        return sweep.GetResult();
    }

    /// <summary>Counts one image at every threshold.</summary>
    /// <exception cref="InvalidDataException">Sizes differ or labels are out of range; the message names the image id.</exception>
    public void Add(CamMaps maps, GroundTruth truth)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentNullException.ThrowIfNull(truth);
        if (truth.Width != maps.Width || truth.Height != maps.Height)
            throw new InvalidDataException(
                $"Image '{truth.Id}': ground truth is {truth.Width}x{truth.Height} but the CAM maps are {maps.Width}x{maps.Height} (WxH).");
        int pixels = maps.Width * maps.Height;
        if (truth.Values.Length != pixels)
            throw new InvalidDataException($"Image '{truth.Id}': ground truth has {truth.Values.Length} values, expected {truth.Width}x{truth.Height}.");
        int n = ClassCount, k = maps.Count;
        var labelOf = new int[k];
        for (int c = 0; c < k; c++)
        {
            labelOf[c] = (int)maps.Keys[c] + 1;
            if (maps.Keys[c] >= n - 1)
                throw new InvalidDataException($"Image '{truth.Id}': class key {maps.Keys[c]} is outside 0..{n - 2}.");
        }
        byte[] gt = truth.Values;
        int bad = ConfusionMatrix.FindInvalidLabel(gt, n);
        if (bad >= 0)
            throw new InvalidDataException($"Image '{truth.Id}': ground-truth label {gt[bad]} is outside 0..{n - 1} (and is not 255).");
        float[] planes = maps.HighRes;
        for (int i = 0; i < pixels; i++)
        {
            int g = gt[i];
            if (g == ConfusionMatrix.IgnoreLabel) continue;
            float best = float.NegativeInfinity;
            int label = 0;
            for (int c = 0, offset = i; c < k; c++, offset += pixels)
            {
                float v = planes[offset];
                if (v > best)
                {
                    best = v;
                    label = labelOf[c];
                }
            }
            int below = label == 0 ? 0 : CountBelow(best);
            _histogram[(g * n + label) * _bins + below]++;
        }
        ImageCount++;
    }

    /// <summary>Adds the counts of another sweep with the same classes and thresholds (for parallel evaluation).</summary>
    public void Merge(ThresholdSweep other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.ClassCount != ClassCount || !other._thresholds.AsSpan().SequenceEqual(_thresholds))
            throw new ArgumentException("Sweeps with different classes or thresholds cannot be merged.", nameof(other));
        for (int i = 0; i < _histogram.Length; i++) _histogram[i] += other._histogram[i];
        ImageCount += other.ImageCount;
    }

    /// <summary>The confusion matrix at <see cref="Thresholds"/>[<paramref name="index"/>].</summary>
    public ConfusionMatrix ConfusionAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _thresholds.Length);
        int n = ClassCount;
        var counts = new long[n * n];
        for (int g = 0; g < n; g++)
            for (int label = 0; label < n; label++)
            {
                ReadOnlySpan<long> bins = _histogram.AsSpan((g * n + label) * _bins, _bins);
                for (int j = 0; j < _bins; j++)
                    counts[g * n + (j > index ? label : 0)] += bins[j]; // labelled only where threshold < best value
            }
        return new ConfusionMatrix(n, counts);
    }

    /// <summary>Scores every threshold and picks the best one.</summary>
    /// <exception cref="InvalidOperationException">No image was added.</exception>
    public SweepResult GetResult()
    {
        if (ImageCount == 0) throw new InvalidOperationException("No images were evaluated.");
        var matrices = Enumerable.Range(0, _thresholds.Length).Select(ConfusionAt).ToArray();
        var scores = matrices.Select((m, i) => new ThresholdScore(_thresholds[i], m.MeanIoU())).ToArray();
        int defaultIndex = Array.IndexOf(_thresholds, DefaultThreshold);
        int best = defaultIndex;
        double bestScore = double.NegativeInfinity;
        for (int i = 0; i < scores.Length; i++)
        {
            if (scores[i].MeanIoU > bestScore) // strict: the lowest threshold wins ties; NaN never wins
                (best, bestScore) = (i, scores[i].MeanIoU);
        }
        return new SweepResult(ImageCount, scores, DefaultThreshold, matrices[defaultIndex], _thresholds[best], matrices[best]);
    }

    private int CountBelow(float value)
    {
        int lo = 0, hi = _thresholds.Length; // first index whose threshold is >= value
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_thresholds[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
