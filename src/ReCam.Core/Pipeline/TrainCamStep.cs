using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ReCam.IO;
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
    /// <summary>Runs the step; returns the checkpoint path.</summary>
    public static string Run(PipelineSettings settings, CamTrainingOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        if (StepOutputs.AlreadyDone(work.CamCheckpoint, settings.Force, "train-cam", logger)) return work.CamCheckpoint;
        options = options with { Seed = settings.Seed };
        options.Validate();
        var view = DatasetView.Open(settings, logger);
        var samples = view.TrainingSamples();
        var device = Compute.SelectDevice(settings.Device, settings.Threads);
        var spec = BackboneCatalog.Get(settings.Backbone);

        Compute.Seed(settings.Seed);
        var (resnet, weightsSource) = BackboneCatalog.Create(spec, settings.Weights);
        using var network = new CamNetwork(resnet, view.ClassNames.Count);
        var info = new CheckpointInfo
        {
            Kind = "cam", Backbone = spec.Name, Classes = view.ClassNames, Epochs = options.Epochs, InitialWeights = weightsSource,
            Options = Describe(options, settings),
        };
        int startEpoch = settings.Force ? 0 : Resume(work, network, info, logger);
        network.to(device);
        logger.LogInformation("train-cam: {Count} images, {Classes} classes, backbone {Backbone} ({Weights}), {Epochs} epochs x {Steps} steps, batch {Batch}, crop {Crop}, device {Device}.",
            samples.Count, view.ClassNames.Count, spec.Name, weightsSource, options.Epochs, samples.Count / options.BatchSize, options.BatchSize, options.Crop, device);

        var epochLosses = new List<double>();
        double lossSum = 0;
        int lossCount = 0;
        var watch = Stopwatch.StartNew();
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            lossSum += p.Loss;
            lossCount++;
            if (p.Step % 10 == 0 || p.Step == p.TotalSteps)
                logger.LogInformation("train-cam: epoch {Epoch}/{Epochs} step {Step}/{Total} loss {Loss:F4} lr {Lr:G3} {Ips:F1} images/s",
                    p.Epoch, p.Epochs, p.Step, p.TotalSteps, p.Loss, p.Metrics.GetValueOrDefault("lr"), p.ImagesPerSecond);
        });
        CamTrainer.Train(network, samples, spec.Normalization, options, device, startEpoch, epoch =>
        {
            epochLosses.Add(lossSum / Math.Max(1, lossCount));
            lossSum = 0;
            lossCount = 0;
            Checkpoint.Save(work.CamEpochCheckpoint(epoch), network, info with { Epoch = epoch });
            logger.LogInformation("train-cam: epoch {Epoch} done, mean loss {Loss:F4}; saved {Path}", epoch, epochLosses[^1], work.CamEpochCheckpoint(epoch));
        }, progress, cancellationToken);

        Checkpoint.Save(work.CamCheckpoint, network, info with { Epoch = options.Epochs });
        double seconds = watch.Elapsed.TotalSeconds;
        var metrics = new
        {
            step = "train-cam", images = samples.Count, epochs = options.Epochs, resumedFromEpoch = startEpoch,
            meanLossPerEpoch = epochLosses, seconds,
            imagesPerSecond = samples.Count / options.BatchSize * options.BatchSize * (options.Epochs - startEpoch) / Math.Max(1e-9, seconds),
            options = info.Options,
        };
        AtomicFile.WriteAllText(work.MetricsFile("train-cam"), JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
        logger.LogInformation("train-cam: wrote {Path} in {Seconds:F0} s.", work.CamCheckpoint, seconds);
        return work.CamCheckpoint;
    }

    private static int Resume(WorkFolder work, CamNetwork network, CheckpointInfo info, ILogger logger)
    {
        if (work.FindResumable(info) is not { } found) return 0;
        Checkpoint.LoadWeights(found.Path, network);
        logger.LogInformation("train-cam: resuming after epoch {Epoch} from {Path}.", found.Epoch, found.Path);
        return found.Epoch;
    }

    private static Dictionary<string, string> Describe(CamTrainingOptions o, PipelineSettings s)
    {
        var c = CultureInfo.InvariantCulture;
        var (min, max) = o.EffectiveResizeLong;
        return new Dictionary<string, string>
        {
            ["split"] = s.Split, ["epochs"] = o.Epochs.ToString(c), ["batch"] = o.BatchSize.ToString(c), ["crop"] = o.Crop.ToString(c),
            ["resizeLong"] = $"{min},{max}", ["lr"] = o.LearningRate.ToString(c), ["classifierLr"] = o.ClassifierLearningRate.ToString(c),
            ["weightDecay"] = o.WeightDecay.ToString(c), ["momentum"] = o.Momentum.ToString(c), ["polyPower"] = o.PolyPower.ToString(c),
            ["seed"] = s.Seed.ToString(c), ["weights"] = s.Weights ?? "",
        };
    }
}

/// <summary>An <see cref="IProgress{T}"/> that calls its handler synchronously on the reporting thread.</summary>
/// <typeparam name="T">Report type.</typeparam>
public sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => handler(value);
}
