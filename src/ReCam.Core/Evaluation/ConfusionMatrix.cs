namespace ReCam.Evaluation;

/// <summary>
/// Pixel confusion matrix over N classes (background included): rows = ground truth, columns = prediction,
/// as in the official evaluation (chainercv <c>calc_semantic_segmentation_confusion</c>).
/// Ground-truth pixels equal to <see cref="IgnoreLabel"/> are skipped; predicted ones (a pseudo mask that leaves uncertain
/// pixels unlabelled) are skipped too and counted in <see cref="Unlabelled"/>.
/// </summary>
public sealed class ConfusionMatrix
{
    /// <summary>The ground-truth value that marks pixels excluded from evaluation.</summary>
    public const byte IgnoreLabel = 255;

    private readonly long[] _counts;

    /// <summary>Creates an empty matrix for <paramref name="classCount"/> classes (labels 0..N-1).</summary>
    public ConfusionMatrix(int classCount)
    {
        if (classCount is < 1 or > IgnoreLabel)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "Class count must be between 1 and 255.");
        ClassCount = classCount;
        _counts = new long[classCount * classCount];
    }

    internal ConfusionMatrix(int classCount, long[] counts) : this(classCount)
    {
        counts.AsSpan().CopyTo(_counts);
    }

    /// <summary>Number of classes N, background included.</summary>
    public int ClassCount { get; }

    /// <summary>Number of pixels with ground truth <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => _counts[truth * ClassCount + predicted];

    /// <summary>Total number of counted (non-ignored) pixels.</summary>
    public long Total => _counts.Sum();

    /// <summary>Pixels with a ground-truth label that the prediction left unlabelled (<see cref="IgnoreLabel"/>); not in <see cref="Total"/>.</summary>
    public long Unlabelled { get; private set; }

    /// <summary>The share of the pixels with a ground-truth label that the prediction left unlabelled (0 when there are none).</summary>
    public double UnlabelledFraction => Unlabelled == 0 ? 0 : (double)Unlabelled / (Total + Unlabelled);

    /// <summary>Counts one image (or any pixel set).</summary>
    /// <param name="groundTruth">Labels 0..N-1, or <see cref="IgnoreLabel"/> to skip the pixel.</param>
    /// <param name="prediction">Labels 0..N-1, or <see cref="IgnoreLabel"/> for a pixel left unlabelled; same length.</param>
    /// <exception cref="ArgumentException">Lengths differ, or a label is out of range (the message names the value).</exception>
    public void Add(ReadOnlySpan<byte> groundTruth, ReadOnlySpan<byte> prediction)
    {
        if (groundTruth.Length != prediction.Length)
            throw new ArgumentException($"Ground truth has {groundTruth.Length} pixels but prediction has {prediction.Length}.");
        int n = ClassCount;
        // Validate first so that a rejected image leaves the matrix unchanged.
        int bad = FindInvalidLabel(groundTruth, n);
        if (bad >= 0)
            throw new ArgumentException($"Ground-truth label {groundTruth[bad]} at pixel {bad} is outside 0..{n - 1} (and is not the ignore label 255).", nameof(groundTruth));
        for (int i = 0; i < prediction.Length; i++)
        {
            if (prediction[i] >= n && prediction[i] != IgnoreLabel && groundTruth[i] != IgnoreLabel)
                throw new ArgumentException($"Predicted label {prediction[i]} at pixel {i} is outside 0..{n - 1}.", nameof(prediction));
        }
        for (int i = 0; i < groundTruth.Length; i++)
        {
            int g = groundTruth[i], p = prediction[i];
            if (g == IgnoreLabel) continue;
            if (p == IgnoreLabel) Unlabelled++;
            else _counts[g * n + p]++;
        }
    }

    /// <summary>Index of the first label that is neither below <paramref name="classCount"/> nor 255; -1 if none.</summary>
    internal static int FindInvalidLabel(ReadOnlySpan<byte> labels, int classCount)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount && labels[i] != IgnoreLabel) return i;
        }
        return -1;
    }

    /// <summary>Adds the counts of <paramref name="other"/> (same class count) to this matrix.</summary>
    public void Merge(ConfusionMatrix other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.ClassCount != ClassCount)
            throw new ArgumentException($"Cannot merge a {other.ClassCount}-class matrix into a {ClassCount}-class one.", nameof(other));
        for (int i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        Unlabelled += other.Unlabelled;
    }

    /// <summary>
    /// Per-class intersection over union: diag / (row sum + column sum - diag);
    /// NaN for a class that appears neither in the ground truth nor in the prediction.
    /// </summary>
    public double[] IoU()
    {
        int n = ClassCount;
        var iou = new double[n];
        for (int c = 0; c < n; c++)
        {
            long row = 0, col = 0;
            for (int j = 0; j < n; j++)
            {
                row += _counts[c * n + j];
                col += _counts[j * n + c];
            }
            long diag = _counts[c * n + c];
            long union = row + col - diag;
            iou[c] = union == 0 ? double.NaN : (double)diag / union;
        }
        return iou;
    }

    /// <summary>Mean IoU over all N classes (background included), ignoring NaN classes; NaN if all are NaN.</summary>
    public double MeanIoU() => NanMean(IoU());

    /// <summary>Share of correctly labelled pixels (trace / total); NaN when empty.</summary>
    public double PixelAccuracy()
    {
        long trace = 0;
        for (int c = 0; c < ClassCount; c++) trace += this[c, c];
        long total = Total;
        return total == 0 ? double.NaN : (double)trace / total;
    }

    /// <summary>
    /// Share of predicted-foreground pixels whose ground truth is background (the official "among_predfg_bg");
    /// NaN when nothing is predicted as foreground.
    /// </summary>
    public double PredictedForegroundThatIsBackground()
    {
        long predictedForeground = 0, onBackground = 0;
        for (int g = 0; g < ClassCount; g++)
            for (int p = 1; p < ClassCount; p++)
            {
                predictedForeground += this[g, p];
                if (g == 0) onBackground += this[g, p];
            }
        return predictedForeground == 0 ? double.NaN : (double)onBackground / predictedForeground;
    }

    /// <summary>The mean of the non-NaN values (numpy <c>nanmean</c>); NaN if there are none.</summary>
    public static double NanMean(IEnumerable<double> values)
    {
        double sum = 0;
        int count = 0;
        foreach (double v in values)
        {
            if (double.IsNaN(v)) continue;
            sum += v;
            count++;
        }
        return count == 0 ? double.NaN : sum / count;
    }
}
