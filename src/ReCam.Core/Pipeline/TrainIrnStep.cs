using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// train-irn: trains the boundary network (<see cref="BoundaryNetwork"/>) on a fresh ImageNet backbone from the IR labels
/// of the split and writes <c>models/irn.ckpt</c> (plus one checkpoint per epoch, from which an interrupted run resumes).
/// </summary>
public static class TrainIrnStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "train-irn";

    /// <summary>The checkpoint kind, <c>models/irn.ckpt</c>.</summary>
    public const string Kind = "irn";

    /// <summary>Runs the step (the options' seed is the settings' seed); returns the checkpoint path.</summary>
    public static string Run(PipelineSettings settings, BoundaryTrainingOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        string final = work.Checkpoint(Kind);
        if (TrainingLog.AlreadyDone(final, settings.Force, Name, logger)) return final;
        options = options with { Seed = settings.Seed };
        options.Validate();
        var (_, view, device) = StepContext.Open(settings, logger);
        if (!Directory.Exists(work.IrLabels))
            throw new DirectoryNotFoundException($"No IR labels in '{work.IrLabels}': run {CamToIrLabelStep.Name} for split '{settings.Split}' first.");
        CamMapsFile.CheckClasses(work.IrLabels, view.ClassNames);
        var samples = view.TrainingSamples()
            .Select(s => new LabelledImage(s.Id, s.ImagePath, CamToIrLabelStep.PathFor(work.IrLabels, s.Id))).ToList();
        var missing = samples.Where(s => !File.Exists(s.LabelPath)).Select(s => s.Id).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} IR label(s) missing in '{work.IrLabels}' (e.g. {string.Join(", ", missing.Take(5))}); run {CamToIrLabelStep.Name} for split '{settings.Split}' first.");

        var spec = BackboneCatalog.Get(settings.Backbone);
        var (network, weightsSource) = BoundaryNetwork.Create(spec, settings.Weights, settings.Seed);
        using var _ = network;
        int epochs = options.EpochsFor(samples.Count);
        var described = options.DescribeAll(samples.Count);
        described["split"] = settings.Split;
        described["weights"] = settings.Weights ?? "";
        var info = new CheckpointInfo
        {
            Kind = Kind, Backbone = spec.Name, Classes = view.ClassNames, Epochs = epochs, InitialWeights = weightsSource, Options = described,
        };
        var log = new TrainingLog(Name, logger, work);
        var (startEpoch, optimizerState) = log.Resume(info, network, settings.Force);
        network.to(device);
        logger.LogInformation("{Step}: {Count} images, backbone {Backbone} ({Weights}, frozen), {Epochs} epochs x {Steps} steps, batch {Batch}, crop {Crop}, lr {Lr:G3}, radius {Radius}, device {Device}.",
            Name, samples.Count, spec.Name, weightsSource, epochs, samples.Count / options.BatchSize, options.BatchSize, options.Crop,
            options.LearningRate, options.Radius, device);

        BoundaryTrainer.Train(network, samples, options, device, log.Hooks(Kind, startEpoch, optimizerState, (epoch, optimizer) =>
        {
            Checkpoint.Save(work.EpochCheckpoint(Kind, epoch), network, info with { Epoch = epoch }, optimizerState: optimizer);
            return work.EpochCheckpoint(Kind, epoch);
        }, cancellationToken));
        Checkpoint.Save(final, network, info with { Epoch = epochs });
        log.Finish(final, samples.Count, options.BatchSize, startEpoch, info.Options);
        return final;
    }

    /// <summary>Loads a boundary network saved by this step; the backbone is the one the checkpoint names.</summary>
    /// <exception cref="InvalidDataException">The file is not a boundary-network checkpoint, or its weights do not fit.</exception>
    public static (BoundaryNetwork Network, CheckpointInfo Info) Load(string path)
    {
        return Checkpoint.LoadOfKind(path, Kind, "boundary network", Name, info => BoundaryNetwork.Empty(BackboneCatalog.Get(info.Backbone)));
    }
}
