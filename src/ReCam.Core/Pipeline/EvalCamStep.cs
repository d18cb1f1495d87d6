using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Imaging;
using ReCam.IO;

namespace ReCam.Pipeline;

/// <summary>
/// eval-cam: the official seed evaluation. For every image of the split that has a ground-truth mask,
/// a constant background plane at threshold t is stacked on the full-resolution maps, the argmax is
/// compared with the mask (255 ignored), and the confusion is accumulated; mIoU includes background.
/// Thresholds are swept in the same pass; the report names the best one and the default one.
/// </summary>
public static class EvalCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "eval-cam";

    /// <summary>Evaluates the maps in <c>cams/</c> and writes <c>metrics/eval-cam.json</c>.</summary>
    public static EvaluationReport Run(PipelineSettings settings, EvaluationOptions options, ILogger logger, CancellationToken cancellationToken = default) =>
        Evaluate(Name, new WorkFolder(settings.WorkDir).Cams, settings, options, logger, cancellationToken);

    /// <summary>Evaluates the maps in <paramref name="dir"/> and writes <c>metrics/&lt;step&gt;.json</c>.</summary>
    internal static EvaluationReport Evaluate(string stepName, string dir, PipelineSettings settings, EvaluationOptions options, ILogger logger,
        CancellationToken cancellationToken)
    {
        options.Validate();
        var work = new WorkFolder(settings.WorkDir);
        var view = DatasetView.Open(settings, logger);
        var withMasks = view.Ids.Where(id => view.Dataset.MaskPath(id) is not null).ToList();
        if (withMasks.Count == 0)
            throw new InvalidDataException($"No image of split '{settings.Split}' has a mask in {view.Dataset.MaskLocation}.");
        if (withMasks.Count < view.Ids.Count)
            logger.LogWarning("{Step}: {Missing} of {Count} images have no ground-truth mask and are not evaluated.", stepName, view.Ids.Count - withMasks.Count, view.Ids.Count);
        var missing = withMasks.Where(id => !File.Exists(CamMapsFile.PathFor(dir, id))).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} map file(s) missing in '{dir}' (e.g. {string.Join(", ", missing.Take(5))}); run make-cam for split '{settings.Split}' first.");

        CamMapsFile.CheckClasses(dir, view.ClassNames);
        float automatic = AutomaticThresholdOf(stepName, dir, view, logger, cancellationToken);
        var sweep = new ThresholdSweep(view.ClassNames.Count + 1, options.Threshold, ThresholdSweep.StandardThresholds().Append(automatic));
        foreach (string id in withMasks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var maps = CamMapsFile.Read(CamMapsFile.PathFor(dir, id));
            var mask = PngLabelReader.Read(view.Dataset.MaskPath(id)!);
            if (mask.Width != maps.Width || mask.Height != maps.Height)
                throw new InvalidDataException(
                    $"Mask '{view.Dataset.MaskPath(id)}' is {mask.Width}x{mask.Height} but the maps of '{id}' are {maps.Width}x{maps.Height}.");
            sweep.Add(maps, new GroundTruth(id, mask.Width, mask.Height, mask.Values));
        }
        var report = EvaluationReport.Create(sweep.GetResult(), view.ClassNames).WithAutomaticThreshold(automatic);
        AtomicFile.WriteAllText(work.MetricsFile(stepName), report.ToJson());
        logger.LogInformation("{Step}: {Images} images; mIoU {Default:F2} at threshold {T:F2}, {Auto:F2} at the automatic {AutoT:F3}, best {Best:F2} at {BestT:F2}; wrote {Path}",
            stepName, report.ImageCount, 100 * report.DefaultMeanIoU, report.DefaultThreshold, 100 * report.AutomaticMeanIoU, automatic,
            100 * report.BestMeanIoU, report.BestThreshold, work.MetricsFile(stepName));
        return report;
    }

    // The maps' threshold.json (make-cam/make-recam write it), else the same estimate from the split's maps; never the masks.
    private static float AutomaticThresholdOf(string stepName, string dir, DatasetView view, ILogger logger, CancellationToken cancellationToken)
    {
        if (AutomaticThreshold.Read(dir) is { } recorded) return recorded;
        var estimate = AutomaticThreshold.FromFolder(dir, view.Ids, view.Dataset.ImagePath, cancellationToken);
        if (estimate.Pixels == 0) return EvaluationOptions.DefaultThreshold;
        logger.LogInformation("{Step}: no {File} beside the maps; estimated the automatic threshold from them.", stepName, AutomaticThreshold.FileName);
        return estimate.Estimate();
    }
}
