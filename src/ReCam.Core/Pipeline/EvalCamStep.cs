using Microsoft.Extensions.Logging;
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
    /// <summary>The official VOC seed threshold of ReCAM (cam_eval_thres).</summary>
    public const float DefaultThreshold = 0.21f;

    /// <summary>Evaluates the maps in <paramref name="mapsDir"/> (default <c>cams/</c>) and writes <c>metrics/&lt;step&gt;.json</c>.</summary>
    public static EvaluationReport Run(PipelineSettings settings, ILogger logger, float threshold = DefaultThreshold,
        string? mapsDir = null, string stepName = "eval-cam", CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        string dir = mapsDir ?? work.Cams;
        var view = DatasetView.Open(settings, logger);
        var withMasks = view.Ids.Where(id => view.Dataset.MaskPath(id) is not null).ToList();
        if (withMasks.Count == 0)
            throw new InvalidDataException($"No image of split '{settings.Split}' has a mask in SegmentationClass/ or SegmentationClassAug/ under '{settings.VocRoot}'.");
        if (withMasks.Count < view.Ids.Count)
            logger.LogWarning("{Step}: {Missing} of {Count} images have no ground-truth mask and are not evaluated.", stepName, view.Ids.Count - withMasks.Count, view.Ids.Count);
        var missing = withMasks.Where(id => !File.Exists(CamMapsFile.PathFor(dir, id))).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} map file(s) missing in '{dir}' (e.g. {string.Join(", ", missing.Take(5))}); run make-cam for split '{settings.Split}' first.");

        var sweep = new ThresholdSweep(view.ClassNames.Count + 1, threshold);
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
        var report = EvaluationReport.Create(sweep.GetResult(), view.ClassNames);
        AtomicFile.WriteAllText(work.MetricsFile(stepName), report.ToJson());
        logger.LogInformation("{Step}: {Images} images; mIoU {Default:F2} at threshold {T:F2}, best {Best:F2} at {BestT:F2}; wrote {Path}",
            stepName, report.ImageCount, 100 * report.DefaultMeanIoU, report.DefaultThreshold, 100 * report.BestMeanIoU, report.BestThreshold,
            work.MetricsFile(stepName));
        return report;
    }
}
