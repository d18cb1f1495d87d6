using Microsoft.Extensions.Logging;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// train-recam: re-activates a CAM network (the work folder's <c>models/cam.ckpt</c>, or <see cref="PipelineSettings.Checkpoint"/>:
/// any other of our CAM checkpoints or an official PyTorch <c>res50_cam.pth</c>) with BCE + λ·SCE and writes
/// <c>models/recam.ckpt</c> (backbone, W1 and W2) plus one checkpoint per epoch. Resumes and skips like train-cam.
/// </summary>
public static class TrainReCamStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "train-recam";

    /// <summary>Runs the step (the options' seed is the settings' seed); returns the checkpoint path.</summary>
    public static string Run(PipelineSettings settings, ReCamTrainingOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        if (TrainingLog.AlreadyDone(work.ReCamCheckpoint, settings.Force, Name, logger)) return work.ReCamCheckpoint;
        options = options with { Seed = settings.Seed };
        options.Validate();
        var (_, view, device) = StepContext.Open(settings, logger);
        var samples = view.TrainingSamples();
        string source = settings.Checkpoint ?? work.CamCheckpoint;
        var (network, classes) = Checkpoint.LoadAnyCamNetwork(source, settings.Backbone, view.ClassNames);
        using var _ = network;
        view.CheckClasses(source, classes, network);
        using var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount, options.BackgroundClass);
        head.Initialize(options.HeadInit, settings.Seed);
        var described = options.Describe();
        described["split"] = settings.Split;
        var info = new CheckpointInfo
        {
            Kind = "recam", Backbone = network.Spec.Name, Classes = view.ClassNames, Epochs = options.TotalEpochs, InitialWeights = source, Options = described,
        };
        int startEpoch = 0;
        byte[]? optimizerState = null;
        if (!settings.Force && work.FindResumable(info) is { } found)
        {
            optimizerState = Checkpoint.ReadOptimizerState(found.Path);
            var (n, h, _) = Checkpoint.LoadReCamNetwork(found.Path);
            using (n)
            using (h)
            {
                network.load_state_dict(n.state_dict());
                head.load_state_dict(h.state_dict());
            }
            startEpoch = found.Epoch;
            logger.LogInformation("{Step}: resuming after epoch {Epoch} from {Path}.", Name, found.Epoch, found.Path);
        }
        network.to(device);
        head.to(device);
        logger.LogInformation("{Step}: {Count} images from {Source}; λ {Lambda}, lr {Lr:G3}/{W1:G3}/{W2:G3}, {Warmup} head warm-up + {Epochs} epochs, batch {Batch}, crop {Crop}.",
            Name, samples.Count, source, options.Lambda, options.LearningRate, options.ClassifierLearningRate, options.HeadLearningRate,
            options.HeadWarmupEpochs, options.Epochs, options.BatchSize, options.Crop);

        if (ReCamTrainer.LambdaScalesHeadStep(options) is { } lambdaWarning)
            logger.LogWarning("{Step}: {Warning}", Name, lambdaWarning);
        var log = new TrainingLog(Name, logger, work);
        ReCamTrainer.Train(network, head, samples, options, device, log.Hooks("recam", startEpoch, optimizerState, (epoch, optimizer) =>
        {
            Checkpoint.Save(work.EpochCheckpoint("recam", epoch), network, info with { Epoch = epoch }, head, optimizer);
            return work.EpochCheckpoint("recam", epoch);
        }, cancellationToken));

        if (log.Epochs.Count > 0 && ReCamTrainer.HeadNearChance(log.Epochs[^1].Accuracy ?? double.NaN, head, options) is { } warning)
            logger.LogWarning("{Step}: {Warning}", Name, warning);
        Checkpoint.Save(work.ReCamCheckpoint, network, info with { Epoch = options.TotalEpochs }, head);
        log.Finish(work.ReCamCheckpoint, samples.Count, options.BatchSize, startEpoch, info.Options);
        return work.ReCamCheckpoint;
    }
}
