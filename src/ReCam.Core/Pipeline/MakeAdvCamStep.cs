using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// make-advcam: AdvCAMs (adversarial climbing, <see cref="AdvCamOptions"/>) for every image of a split, on the re-activated
/// network with the classifier weight of make-recam (W1 ⊙ W2 by default) when <c>models/recam.ckpt</c> exists, else on the
/// CAM network; writes <c>cams-advcam/&lt;id&gt;.npz</c> in the maps format, so <c>--maps advcam</c> refines them. Images done
/// are skipped, so an interrupted run resumes; <c>--shard</c> splits the work.
/// </summary>
public static class MakeAdvCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "make-advcam";

    /// <summary>Runs the step; returns the number of maps written.</summary>
    /// <param name="settings">The pipeline settings (<see cref="PipelineSettings.Checkpoint"/> overrides the network).</param>
    /// <param name="options">Scales, largest input side, and the weight combination for a ReCAM checkpoint.</param>
    /// <param name="climbing">The climbing settings.</param>
    /// <param name="logger">Progress, with images/s.</param>
    /// <param name="cancellationToken">Stops between images.</param>
    public static int Run(PipelineSettings settings, ExtractionOptions options, AdvCamOptions climbing, ILogger logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        climbing.Validate();
        var (work, view, device) = StepContext.Open(settings, logger);
        string path = settings.Checkpoint ?? (File.Exists(work.ReCamCheckpoint) ? work.ReCamCheckpoint : work.CamCheckpoint);
        if (!File.Exists(path)) throw new FileNotFoundException($"No CAM or ReCAM model '{path}': run {TrainCamStep.Name} (and {TrainReCamStep.Name}) first.", path);
        var info = Checkpoint.IsPyTorchFile(path) ? null : Checkpoint.Verify(path);
        bool reCam = info?.Kind == "recam";
        CamNetwork network;
        ReCamHead? head = null;
        IReadOnlyList<string> classes;
        if (reCam)
        {
            var loaded = Checkpoint.LoadReCamNetwork(path);
            (network, head, classes) = (loaded.Network, loaded.Head, loaded.Info.Classes);
        }
        else
        {
            (network, classes) = Checkpoint.LoadAnyCamNetwork(path, settings.Backbone, view.ClassNames);
        }
        using (network)
        using (head)
        {
            view.CheckClasses(path, classes, network);
            network.to(device);
            network.eval();
            head?.to(device);
            using var weight = head is null ? null : WeightCombinations.Combine(network.ClassifierWeight, head.Weight, options.Combination).detach();
            logger.LogInformation("{Step}: {Network} from {Path}{Weights}; {Iterations} iterations per scale and class (scale 0.5: {Half}), step {Step2}, mask coefficient {Lambda}, mask threshold {Tau}.",
                Name, reCam ? "re-activated network" : "CAM network", path, reCam ? $", weights {options.Combination}" : "", climbing.Iterations,
                climbing.IterationsAt(0.5), climbing.StepSize, climbing.MaskCoefficient, climbing.MaskThreshold);
            var extractor = new CamExtractor(network, weight, options.EffectiveScales, options.MaxInputSide, climbing);
            return MakeCamStep.Extract(Name, view, settings, extractor, work.AdvCams, logger, cancellationToken);
        }
    }
}
