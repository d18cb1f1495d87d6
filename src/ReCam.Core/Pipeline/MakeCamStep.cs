using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Training;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// make-cam: multi-scale CAMs of every image of the split (or of this shard), one <c>cams/&lt;id&gt;.npz</c> per image.
/// Images already done are skipped, so an interrupted run resumes.
/// </summary>
public static class MakeCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "make-cam";

    /// <summary>Runs the step with the CAM checkpoint of the work folder (or <see cref="PipelineSettings.Checkpoint"/>); returns the images done.</summary>
    public static int Run(PipelineSettings settings, ExtractionOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (work, view, device) = StepContext.Open(settings, logger);
        string path = settings.Checkpoint ?? work.CamCheckpoint;
        var (network, classes) = Checkpoint.LoadAnyCamNetwork(path, settings.Backbone, view.ClassNames);
        using (network)
        {
            view.CheckClasses(path, classes, network);
            network.to(device);
            network.eval();
            return Extract(Name, view, settings, new CamExtractor(network, scales: options.EffectiveScales, maxInputSide: options.MaxInputSide), work.Cams, logger, cancellationToken);
        }
    }

    /// <summary>The extraction loop with the log lines make-cam and make-recam share.</summary>
    internal static int Extract(string step, DatasetView view, PipelineSettings settings, CamExtractor extractor, string folder, ILogger logger,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        CamMapsFile.RecordClasses(folder, view.ClassNames);
        var all = view.MapsRequests(settings.Shard).ToList();
        var todo = MapsExtraction.ToDo(all, folder, settings.Force);
        logger.LogInformation("{Step}: {Todo} of {Count} images to do (shard {Index}/{Shards}, scales {Scales}, max input side {MaxInputSide}); writing {Dir}.",
            step, todo.Count, all.Count, settings.Shard.Index, settings.Shard.Count, string.Join(",", extractor.Scales), extractor.MaxInputSide, folder);
        int written = MapsExtraction.WriteAll(extractor, todo, folder, new Progress(p =>
        {
            if (p.Done % 50 == 0 || p.Done == p.Total)
                logger.LogInformation("{Step}: {Done}/{Todo} images, {Ips:F2} images/s", step, p.Done, p.Total, p.ImagesPerSecond);
        }), cancellationToken);
        RecordThreshold(step, view, folder, logger, cancellationToken);
        return written;
    }

    // threshold.json from every map of the split in the folder (other shards' too), rewritten by each run so the last shard to
    // finish leaves the threshold of the whole split.
    private static void RecordThreshold(string step, DatasetView view, string folder, ILogger logger, CancellationToken cancellationToken)
    {
        var estimate = AutomaticThreshold.FromFolder(folder, view.Ids, view.Dataset.ImagePath, cancellationToken);
        if (estimate.Pixels == 0)
        {
            logger.LogWarning("{Step}: no maps with classes; {File} not written.", step, AutomaticThreshold.FileName);
            return;
        }
        estimate.Write(folder);
        logger.LogInformation(
            "{Step}: automatic background threshold {Threshold:F3} ({Method} of the seeds on {Votes} images; Otsu over the maps of {Images} images: {Otsu:F3}; no masks used); wrote {File}.",
            step, estimate.Estimate(), estimate.Method, estimate.CutVotes, estimate.Images, estimate.Otsu(), Path.Combine(folder, AutomaticThreshold.FileName));
    }

    private sealed class Progress(Action<ExtractionProgress> report) : IProgress<ExtractionProgress>
    {
        public void Report(ExtractionProgress value) => report(value);
    }
}
