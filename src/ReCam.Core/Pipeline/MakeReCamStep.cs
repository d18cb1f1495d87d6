using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// make-recam: ReCAM extraction, identical to make-cam (scales, flips, resolutions, normalisation, file
/// format) but with the re-activated network and the classifier weight chosen by the weight combination
/// (W1⊙W2 by default, as the official VOC code); writes <c>cams-recam/&lt;id&gt;.npz</c>.
/// </summary>
public static class MakeReCamStep
{
    /// <summary>Runs the step with <c>models/recam.ckpt</c> (or <paramref name="checkpoint"/>).</summary>
    public static int Run(PipelineSettings settings, WeightCombination combination, ILogger logger, string? checkpoint = null,
        IReadOnlyList<double>? scales = null, CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        string path = checkpoint ?? work.ReCamCheckpoint;
        var view = DatasetView.Open(settings, logger);
        var device = Compute.SelectDevice(settings.Device, settings.Threads);
        var (network, head, info) = Checkpoint.LoadReCamNetwork(path);
        using (network)
        using (head)
        {
            CamModels.CheckClasses(path, info, view.ClassNames, network);
            network.to(device);
            head.to(device);
            network.eval();
            using var weight = WeightCombinations.Combine(network.ClassifierWeight, head.Weight, combination).detach();
            var spec = BackboneCatalog.Get(info.Backbone);
            var extractor = new CamExtractor(network.Backbone, weight, spec.Normalization, device, scales);
            logger.LogInformation("make-recam: weights {Combination} from {Path}.", combination, path);
            return MakeCamStep.ExtractAll(view, settings, extractor, work.ReCams, "make-recam", logger, cancellationToken);
        }
    }
}
