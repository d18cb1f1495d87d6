using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.IO;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.Pipeline;

/// <summary>
/// make-cam: multi-scale CAMs of every image of the split (or of this shard), one
/// <c>cams/&lt;id&gt;.npz</c> per image. Images already done are skipped, so an interrupted run resumes.
/// </summary>
public static class MakeCamStep
{
    /// <summary>Runs the step with the CAM checkpoint of the work folder (or <paramref name="checkpoint"/>).</summary>
    public static int Run(PipelineSettings settings, ILogger logger, string? checkpoint = null, IReadOnlyList<double>? scales = null,
        CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        string path = checkpoint ?? work.CamCheckpoint;
        var view = DatasetView.Open(settings, logger);
        var device = Compute.SelectDevice(settings.Device, settings.Threads);
        var (network, backbone) = CamModels.Load(path, settings, view.ClassNames);
        using (network)
        {
            network.to(device);
            network.eval();
            var spec = BackboneCatalog.Get(backbone);
            var extractor = new CamExtractor(network.Backbone, network.ClassifierWeight, spec.Normalization, device, scales);
            return ExtractAll(view, settings, extractor, work.Cams, "make-cam", logger, cancellationToken);
        }
    }

    /// <summary>Extracts and writes the maps of every image of the shard into <paramref name="outputDir"/>.</summary>
    public static int ExtractAll(DatasetView view, PipelineSettings settings, CamExtractor extractor, string outputDir, string stepName,
        ILogger logger, CancellationToken cancellationToken)
    {
        var ids = view.Shard(settings.Shard);
        var todo = ids.Where(id => settings.Force || !File.Exists(CamMapsFile.PathFor(outputDir, id))).ToList();
        logger.LogInformation("{Step}: {Todo} of {Count} images to do (shard {Index}/{Shards}, scales {Scales}); writing {Dir}.",
            stepName, todo.Count, ids.Count, settings.Shard.Index, settings.Shard.Count, string.Join(",", extractor.Scales), outputDir);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < todo.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string id = todo[i];
            var image = ImageDecoder.LoadRgb(view.Dataset.ImagePath(id));
            var maps = extractor.Extract(image, view.Keys(id));
            CamMapsFile.Write(CamMapsFile.PathFor(outputDir, id), maps);
            if ((i + 1) % 50 == 0 || i + 1 == todo.Count)
                logger.LogInformation("{Step}: {Done}/{Todo} images, {Ips:F1} images/s", stepName, i + 1, todo.Count, (i + 1) / watch.Elapsed.TotalSeconds);
        }
        return todo.Count;
    }
}
