using Microsoft.Extensions.Logging;
using ReCam.Evaluation;
using ReCam.Imaging;
using ReCam.IO;

namespace ReCam.Pipeline;

/// <summary>
/// eval-sem-seg: mIoU (background included, 255 ignored) of the pseudo masks in <c>pseudo_masks/</c> against the split's
/// ground-truth masks, per class; writes <c>metrics/eval-sem-seg.json</c> and prints a table. Pixels a mask leaves
/// unlabelled (255, see <see cref="SemSegOptions.UncertainMargin"/>) are left out of the score and counted apart.
/// </summary>
public static class EvalSemSegStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "eval-sem-seg";

    /// <summary>Evaluates the pseudo masks of the work folder.</summary>
    public static MaskEvaluation Run(PipelineSettings settings, ILogger logger, CancellationToken cancellationToken = default) =>
        Evaluate(Name, new WorkFolder(settings.WorkDir).PseudoMasks, settings, logger, cancellationToken);

    /// <summary>Evaluates the label PNGs in <paramref name="folder"/> and writes <c>metrics/&lt;step&gt;.json</c>.</summary>
    internal static MaskEvaluation Evaluate(string stepName, string folder, PipelineSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        var view = DatasetView.Open(settings, logger);
        var work = new WorkFolder(settings.WorkDir);
        var withMasks = view.Ids.Where(id => view.Dataset.MaskPath(id) is not null).ToList();
        if (withMasks.Count == 0)
            throw new InvalidDataException($"No image of split '{settings.Split}' has a mask in {view.Dataset.MaskLocation}.");
        var missing = withMasks.Where(id => !File.Exists(MakeSemSegStep.PathFor(folder, id))).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} mask(s) missing in '{folder}' (e.g. {string.Join(", ", missing.Take(5))}); make them for split '{settings.Split}' first.");
        var matrix = new ConfusionMatrix(view.ClassNames.Count + 1);
        foreach (string id in withMasks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string predictedPath = MakeSemSegStep.PathFor(folder, id), truthPath = view.Dataset.MaskPath(id)!;
            var predicted = PngLabelReader.Read(predictedPath);
            var truth = PngLabelReader.Read(truthPath);
            if (predicted.Width != truth.Width || predicted.Height != truth.Height)
                throw new InvalidDataException($"Mask '{predictedPath}' is {predicted.Width}x{predicted.Height} but '{truthPath}' is {truth.Width}x{truth.Height}.");
            try
            {
                matrix.Add(truth.Values, predicted.Values);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"'{predictedPath}' against '{truthPath}': {e.Message}", e);
            }
        }
        var result = new MaskEvaluation(stepName, withMasks.Count, [EvaluationReport.BackgroundName, .. view.ClassNames], matrix.IoU())
        {
            UnlabelledFraction = matrix.UnlabelledFraction,
            Confusion = matrix,
        };
        Directory.CreateDirectory(work.Metrics);
        AtomicFile.WriteAllText(work.MetricsFile(stepName), result.ToJson());
        if (matrix.Unlabelled > 0)
            logger.LogInformation("{Step}: {Images} images; mIoU {MIoU:F2} over the {Labelled:F1}% of pixels the masks label; wrote {Path}",
                stepName, result.Images, 100 * result.MeanIoU, 100 * (1 - result.UnlabelledFraction), work.MetricsFile(stepName));
        else
            logger.LogInformation("{Step}: {Images} images; mIoU {MIoU:F2}; wrote {Path}", stepName, result.Images, 100 * result.MeanIoU, work.MetricsFile(stepName));
        return result;
    }
}
