using System.Globalization;
using System.Text;
using System.Text.Json;
using ReCam.Evaluation;

namespace ReCam.Pipeline;

/// <summary>The mIoU of a folder of masks against ground truth.</summary>
/// <param name="Step">The step that measured it.</param>
/// <param name="Images">Images evaluated.</param>
/// <param name="Classes">Class names, background first.</param>
/// <param name="IoU">IoU per class (NaN for a class absent from truth and prediction).</param>
public sealed record MaskEvaluation(string Step, int Images, IReadOnlyList<string> Classes, IReadOnlyList<double> IoU)
{
    /// <summary>Mean IoU over the classes that occur.</summary>
    public double MeanIoU => ConfusionMatrix.NanMean(IoU);

    /// <summary>Fraction of the ground truth's scored pixels that the evaluated masks leave unlabelled (255); they are not in <see cref="IoU"/>.</summary>
    public double UnlabelledFraction { get; init; }

    /// <summary>
    /// The pixel counts behind <see cref="IoU"/> (rows: ground truth, columns: prediction, in <see cref="Classes"/> order), or null.
    /// They tell why a class scores low: object pixels predicted as background (the masks are too small) or as another class.
    /// </summary>
    public ConfusionMatrix? Confusion { get; init; }

    /// <summary>
    /// The result as JSON: <c>{"step", "images", "miou", "unlabelled", "classes": {name: iou}, "confusion": [[count]]}</c>
    /// (IoU and the unlabelled share as fractions; NaN as null; the confusion's rows are the ground truth, its columns the
    /// prediction, both in the order of <c>classes</c>, counts of pixels; only when <see cref="Confusion"/> is set).
    /// </summary>
    public string ToJson()
    {
        var classes = Classes.Zip(IoU).ToDictionary(p => p.First, p => double.IsNaN(p.Second) ? (double?)null : Math.Round(p.Second, 6));
        long[][]? confusion = Confusion is { } m
            ? [.. Enumerable.Range(0, m.ClassCount).Select(t => Enumerable.Range(0, m.ClassCount).Select(p => m[t, p]).ToArray())]
            : null;
        return JsonSerializer.Serialize(
            new { step = Step, images = Images, miou = Math.Round(MeanIoU, 6), unlabelled = Math.Round(UnlabelledFraction, 6), classes, confusion },
            new JsonSerializerOptions { WriteIndented = true, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
    }

    /// <summary>
    /// A table of IoU % per class and the mean; with <see cref="Confusion"/>, also each object class's share of pixels predicted as
    /// background ("as bg %") and the other class most of its pixels went to.
    /// </summary>
    public string ToTable()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        bool details = Confusion is not null && Confusion.ClassCount == Classes.Count;
        sb.AppendLine(details ? $"{"class",-14} {"IoU %",8} {"as bg %",8}  most confused with" : $"{"class",-14} {"IoU %",8}");
        sb.AppendLine(new string('-', details ? 54 : 23));
        for (int i = 0; i < Classes.Count; i++)
        {
            sb.Append($"{Classes[i],-14} {(double.IsNaN(IoU[i]) ? "-" : (100 * IoU[i]).ToString("F2", c)),8}");
            if (details && i > 0) sb.Append(Details(Confusion!, i, c));
            sb.AppendLine();
        }
        sb.AppendLine(new string('-', details ? 54 : 23));
        sb.Append($"{"mIoU",-14} {100 * MeanIoU,8:F2}");
        if (UnlabelledFraction > 0) sb.AppendLine().Append($"{"unlabelled %",-14} {100 * UnlabelledFraction,8:F2}");
        return sb.ToString();
    }

    private string Details(ConfusionMatrix m, int truth, CultureInfo c)
    {
        long row = 0;
        for (int p = 0; p < m.ClassCount; p++) row += m[truth, p];
        if (row == 0) return $" {"-",8}";
        int other = -1;
        for (int p = 1; p < m.ClassCount; p++)
        {
            if (p != truth && m[truth, p] > 0 && (other < 0 || m[truth, p] > m[truth, other])) other = p;
        }
        string share = (100.0 * m[truth, 0] / row).ToString("F1", c);
        return other < 0 ? $" {share,8}" : $" {share,8}  {Classes[other]} {(100.0 * m[truth, other] / row).ToString("F1", c)}%";
    }
}
