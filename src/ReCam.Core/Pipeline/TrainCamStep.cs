using Microsoft.Extensions.Logging;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// train-cam: trains the multi-label CAM classifier on a split and writes <c>models/cam.ckpt</c>
/// (plus one checkpoint per epoch). Resumes from the latest epoch checkpoint of the same run; skips
/// the step if the final checkpoint exists (unless forced).
/// </summary>
public static class TrainCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "train-cam";

    /// <summary>Runs the step (the options' seed is the settings' seed); returns the checkpoint path.</summary>
    public static string Run(PipelineSettings settings, CamTrainingOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        if (TrainingLog.AlreadyDone(work.CamCheckpoint, settings.Force, Name, logger)) return work.CamCheckpoint;
        options = options with { Seed = settings.Seed };
        options.Validate();
        var (_, view, device) = StepContext.Open(settings, logger);
        var samples = view.TrainingSamples();
        var spec = BackboneCatalog.Get(settings.Backbone);

        var (network, weightsSource) = CamNetwork.Create(spec, view.ClassNames.Count, settings.Weights, settings.Seed);
        using var _ = network;
        var described = options.Describe(spec);
        described["split"] = settings.Split;
        described["weights"] = settings.Weights ?? "";
        var info = new CheckpointInfo
        {
            Kind = "cam", Backbone = spec.Name, Classes = view.ClassNames, Epochs = options.Epochs, InitialWeights = weightsSource, Options = described,
        };
        var log = new TrainingLog(Name, logger, work);
        var (startEpoch, optimizerState) = log.Resume(info, network, settings.Force);
        network.to(device);
        logger.LogInformation("{Step}: {Count} images, {Classes} classes, backbone {Backbone} ({Weights}), {Epochs} epochs x {Steps} steps, batch {Batch}, crop {Crop}, lr {Lr:G3}/{ClassifierLr:G3}, device {Device}.",
            Name, samples.Count, view.ClassNames.Count, spec.Name, weightsSource, options.Epochs, samples.Count / options.BatchSize, options.BatchSize,
            options.Crop, options.LearningRateFor(spec), options.ClassifierLearningRateFor(spec), device);

        CamTrainer.Train(network, samples, options, device, log.Hooks("cam", startEpoch, optimizerState, (epoch, optimizer) =>
        {
            Checkpoint.Save(work.CamEpochCheckpoint(epoch), network, info with { Epoch = epoch }, optimizerState: optimizer);
            return work.CamEpochCheckpoint(epoch);
        }, cancellationToken));
        Checkpoint.Save(work.CamCheckpoint, network, info with { Epoch = options.Epochs });
        log.Finish(work.CamCheckpoint, samples.Count, options.BatchSize, startEpoch, info.Options);
        return work.CamCheckpoint;
    }
}
