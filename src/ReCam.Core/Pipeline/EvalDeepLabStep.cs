using System.Globalization;
using Microsoft.Extensions.Logging;
using ReCam.Cam;
using TorchSharp;
using ReCam.Imaging;
using ReCam.IO;
using ReCam.Segmentation;

namespace ReCam.Pipeline;

/// <summary>
/// eval-deeplab: segments every image of the split with <c>models/deeplab.ckpt</c> (multi-scale and flipped, optionally
/// with dense CRF post-processing), writes <c>deeplab_masks/&lt;id&gt;.png</c> (<c>deeplab_masks_crf/</c> with the CRF),
/// and scores them against the split's masks: <c>metrics/eval-deeplab.json</c> (<c>eval-deeplab-crf.json</c>).
/// Masks already written with the same settings are kept, so an interrupted run resumes.
/// </summary>
public static class EvalDeepLabStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "eval-deeplab";

    /// <summary>The file in the masks folder recording what the masks were made with.</summary>
    public const string SettingsFile = "deeplab_masks.json";

    /// <summary>Runs the step; returns the evaluation, or null when this process ran one shard of several (evaluate after all).</summary>
    public static MaskEvaluation? Run(PipelineSettings settings, SegmentationOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (work, view, device) = StepContext.Open(settings, logger);
        string modelPath = settings.Checkpoint ?? work.Checkpoint(TrainDeepLabStep.Kind);
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"No segmentation network '{modelPath}': run {TrainDeepLabStep.Name} first.", modelPath);
        var (network, info) = TrainDeepLabStep.Load(modelPath);
        using var _ = network;
        view.CheckClasses(modelPath, info.Classes, network);
        network.to(device);

        bool crf = options.Crf is not null;
        string outDir = work.DeepLabMasks(crf);
        Directory.CreateDirectory(outDir);
        AtomicFile.RemoveStaleTemporaries(outDir);
        var c = CultureInfo.InvariantCulture;
        OutputSettings.CheckOrRecord(outDir, SettingsFile, "segmentation masks", new Dictionary<string, object>
        {
            ["model"] = Path.GetFullPath(modelPath), ["model_written"] = File.GetLastWriteTimeUtc(modelPath).ToString("O", c),
            ["scales"] = string.Join(",", options.Scales.Select(s => s.ToString(c))), ["flip"] = options.Flip, ["max_input_side"] = options.MaxInputSide,
            ["crf"] = crf,
        }, settings.Force);
        CamMapsFile.RecordClasses(outDir, view.ClassNames);

        var ids = view.Shard(settings.Shard);
        var todo = ids.Where(id => settings.Force || !File.Exists(MakeSemSegStep.PathFor(outDir, id))).ToList();
        logger.LogInformation("{Step}: {Todo} of {Count} images to do with {Model} ({Description}; scales {Scales}, flip {Flip}, CRF {Crf}); writing {Dir}.",
            Name, todo.Count, ids.Count, modelPath, TrainDeepLabStep.Describe(network, info), string.Join(",", options.Scales.Select(s => s.ToString(c))),
            options.Flip, crf, outDir);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int n = 0; n < todo.Count; n++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var image = ImageDecoder.LoadRgb(view.Dataset.ImagePath(todo[n]));
            PalettePngWriter.Write(MakeSemSegStep.PathFor(outDir, todo[n]), Segmenter.Segment(network, image, options, device).Mask);
            if ((n + 1) % 50 == 0 || n + 1 == todo.Count)
                logger.LogInformation("{Step}: {Done}/{Todo} images, {Ips:F2} images/s", Name, n + 1, todo.Count, (n + 1) / clock.Elapsed.TotalSeconds);
        }
        if (settings.Shard.Count > 1)
        {
            logger.LogInformation("{Step}: shard {Index}/{Count} done; run once more without --shard to score all masks.", Name, settings.Shard.Index, settings.Shard.Count);
            return null;
        }
        return EvalSemSegStep.Evaluate(crf ? Name + "-crf" : Name, outDir, settings, logger, cancellationToken);
    }
}
