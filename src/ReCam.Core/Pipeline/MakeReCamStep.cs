using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// make-recam: ReCAM extraction, identical to make-cam (scales, flips, resolutions, normalisation, file
/// format) but with the re-activated network and the classifier weight chosen by the weight combination
/// (W1⊙W2 by default, as the official VOC code, with W2's learnt part scaled by the W2 gain) and, by default, each
/// foreground pixel's class ranked by W1 (<see cref="PixelClassSource"/>); writes <c>cams-recam/&lt;id&gt;.npz</c>.
/// </summary>
public static class MakeReCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "make-recam";

    /// <summary>Runs the step with <c>models/recam.ckpt</c> (or <see cref="PipelineSettings.Checkpoint"/>); returns the images done.</summary>
    public static int Run(PipelineSettings settings, ExtractionOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (work, view, device) = StepContext.Open(settings, logger);
        string path = settings.Checkpoint ?? work.ReCamCheckpoint;
        var (network, head, info) = Checkpoint.LoadReCamNetwork(path);
        using (network)
        using (head)
        {
            view.CheckClasses(path, info.Classes, network);
            network.to(device);
            head.to(device);
            network.eval();
            using var weight = WeightCombinations.Combine(network.ClassifierWeight, head.Weight, options.Combination, options.W2Gain).detach();
            var pixelClass = PixelClassSources.RanksWithW1(options.PixelClass, options.Combination) ? PixelClassSource.W1 : PixelClassSource.Combined;
            using var pixelClassWeight = pixelClass == PixelClassSource.W1 ? network.ClassifierWeight.detach() : null;
            logger.LogInformation("{Step}: weights {Combination} (W2 gain {Gain}), pixel classes from {PixelClass}, from {Path}.",
                Name, options.Combination, options.W2Gain, pixelClass, path);
            var extractor = new CamExtractor(network, weight, options.EffectiveScales, options.MaxInputSide, pixelClassWeight: pixelClassWeight);
            return MakeCamStep.Extract(Name, view, settings, extractor, work.ReCams, logger, cancellationToken);
        }
    }
}
