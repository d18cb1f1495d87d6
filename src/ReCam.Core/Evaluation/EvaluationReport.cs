using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ReCam.Evaluation;

/// <summary>The IoU of one class at the best and at the configured threshold.</summary>
/// <param name="Name">Class name ("background" for class 0).</param>
/// <param name="IoUAtBest">IoU at the best threshold (NaN if the class never occurs).</param>
/// <param name="IoUAtDefault">IoU at the configured threshold (NaN if the class never occurs).</param>
public sealed record ClassScore(string Name, double IoUAtBest, double IoUAtDefault);

/// <summary>The summary of a seed evaluation, written to <c>metrics/&lt;step&gt;.json</c> and printed as a table.</summary>
/// <param name="ImageCount">Number of images evaluated.</param>
/// <param name="DefaultThreshold">The configured background threshold.</param>
/// <param name="DefaultMeanIoU">mIoU at the configured threshold.</param>
/// <param name="BestThreshold">The threshold with the highest mIoU.</param>
/// <param name="BestMeanIoU">mIoU at the best threshold.</param>
/// <param name="PredictedForegroundThatIsBackground">Share of predicted-foreground pixels that are background
/// in the ground truth, at the configured threshold (the official "among_predfg_bg").</param>
/// <param name="Classes">Per-class IoU, background first.</param>
/// <param name="Sweep">mIoU per threshold, ascending thresholds.</param>
public sealed record EvaluationReport(
    int ImageCount,
    float DefaultThreshold,
    double DefaultMeanIoU,
    float BestThreshold,
    double BestMeanIoU,
    double PredictedForegroundThatIsBackground,
    IReadOnlyList<ClassScore> Classes,
    IReadOnlyList<ThresholdScore> Sweep)
{
    /// <summary>The name of class 0.</summary>
    public const string BackgroundName = "background";

    /// <summary>The threshold chosen from the maps alone (<see cref="Evaluation.AutomaticThreshold"/>); null if none was evaluated.</summary>
    public float? AutomaticThreshold { get; init; }

    /// <summary>mIoU at <see cref="AutomaticThreshold"/> (NaN if none was evaluated).</summary>
    public double AutomaticMeanIoU { get; init; } = double.NaN;

    /// <summary>This report with the mIoU its sweep found at <paramref name="threshold"/> (which the sweep must have tried).</summary>
    public EvaluationReport WithAutomaticThreshold(float threshold)
    {
        var score = Sweep.FirstOrDefault(s => Math.Abs(s.Threshold - threshold) < 1e-6f)
            ?? throw new ArgumentException($"The sweep did not try the threshold {threshold}.", nameof(threshold));
        return this with { AutomaticThreshold = threshold, AutomaticMeanIoU = score.MeanIoU };
    }

    /// <summary>Builds the report of a sweep.</summary>
    /// <param name="result">The sweep result.</param>
    /// <param name="foregroundClassNames">Names of the N-1 foreground classes, in label order (label c+1 = name c).</param>
    public static EvaluationReport Create(SweepResult result, IReadOnlyList<string> foregroundClassNames)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(foregroundClassNames);
        int n = result.BestConfusion.ClassCount;
        if (foregroundClassNames.Count != n - 1)
            throw new ArgumentException($"{foregroundClassNames.Count} class names given for {n - 1} foreground classes.", nameof(foregroundClassNames));
        double[] best = result.BestConfusion.IoU();
        double[] atDefault = result.DefaultConfusion.IoU();
        var classes = new ClassScore[n];
        for (int c = 0; c < n; c++)
            classes[c] = new ClassScore(c == 0 ? BackgroundName : foregroundClassNames[c - 1], best[c], atDefault[c]);
        return new EvaluationReport(result.ImageCount, result.DefaultThreshold, ConfusionMatrix.NanMean(atDefault),
            result.BestThreshold, ConfusionMatrix.NanMean(best),
            result.DefaultConfusion.PredictedForegroundThatIsBackground(), classes, result.Scores);
    }

    /// <summary>The report as indented JSON (snake_case names; NaN written as null).</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("images", ImageCount);
            Number(w, "default_threshold", Round(DefaultThreshold));
            Number(w, "default_miou", DefaultMeanIoU);
            Number(w, "best_threshold", Round(BestThreshold));
            Number(w, "best_miou", BestMeanIoU);
            if (AutomaticThreshold is { } automatic)
            {
                Number(w, "automatic_threshold", Round(automatic));
                Number(w, "automatic_miou", AutomaticMeanIoU);
            }
            Number(w, "predicted_fg_that_is_bg", PredictedForegroundThatIsBackground);
            w.WriteStartArray("per_class_iou");
            foreach (ClassScore c in Classes)
            {
                w.WriteStartObject();
                w.WriteString("class", c.Name);
                Number(w, "iou_best", c.IoUAtBest);
                Number(w, "iou_default", c.IoUAtDefault);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("sweep");
            foreach (ThresholdScore s in Sweep)
            {
                w.WriteStartObject();
                Number(w, "threshold", Round(s.Threshold));
                Number(w, "miou", s.MeanIoU);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A plain-text table for the console: IoU (%) per class at the best and at the configured threshold.</summary>
    public string ToTable()
    {
        int nameWidth = Math.Max(10, Classes.Max(c => c.Name.Length));
        string bestHeader = $"best {Format(BestThreshold)}";
        string defaultHeader = $"default {Format(DefaultThreshold)}";
        int col = Math.Max(bestHeader.Length, defaultHeader.Length) + 2;
        var sb = new StringBuilder();
        void Row(string name, string a, string b) =>
            sb.Append(name.PadRight(nameWidth)).Append(a.PadLeft(col)).Append(b.PadLeft(col)).Append('\n');
        Row("class", bestHeader, defaultHeader);
        sb.Append('-', nameWidth + 2 * col).Append('\n');
        foreach (ClassScore c in Classes) Row(c.Name, Percent(c.IoUAtBest), Percent(c.IoUAtDefault));
        sb.Append('-', nameWidth + 2 * col).Append('\n');
        Row("mIoU", Percent(BestMeanIoU), Percent(DefaultMeanIoU));
        if (AutomaticThreshold is { } automatic)
            sb.Append($"automatic threshold {Format(automatic)} (chosen without masks): mIoU {Percent(AutomaticMeanIoU)}\n");
        sb.Append($"{ImageCount} images; predicted foreground that is background: {Percent(PredictedForegroundThatIsBackground)}%\n");
        return sb.ToString();
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    private static double Round(float threshold) => Math.Round(threshold, 6);

    private static string Format(float threshold) => Round(threshold).ToString("0.00##", CultureInfo.InvariantCulture);

    private static string Percent(double value) =>
        double.IsNaN(value) ? "-" : (100 * value).ToString("0.00", CultureInfo.InvariantCulture);
}
