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
/// train-recam: re-activates a CAM network (the work folder's <c>models/cam.ckpt</c>, any other of our CAM
/// checkpoints, or an official PyTorch <c>res50_cam.pth</c>) with BCE + λ·SCE and writes
/// <c>models/recam.ckpt</c> (backbone, W1 and W2) plus one checkpoint per epoch. Resumes and skips like train-cam.
/// </summary>
public static class TrainReCamStep
{
    /// <summary>Runs the step; returns the checkpoint path.</summary>
    public static string Run(PipelineSettings settings, ReCamTrainingOptions options, ILogger logger, string? camCheckpoint = null,
        CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        if (StepOutputs.AlreadyDone(work.ReCamCheckpoint, settings.Force, "train-recam", logger)) return work.ReCamCheckpoint;
        options = options with { Seed = settings.Seed };
        options.Validate();
        var view = DatasetView.Open(settings, logger);
        var samples = view.TrainingSamples();
        var device = Compute.SelectDevice(settings.Device, settings.Threads);
        string source = camCheckpoint ?? work.CamCheckpoint;
        var (network, backbone) = CamModels.Load(source, settings, view.ClassNames);
        using var _ = network;
        var spec = BackboneCatalog.Get(backbone);
        Compute.Seed(settings.Seed);
        using var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount, options.BackgroundClass);
        head.Initialize(options.HeadInit);
        int totalEpochs = options.HeadWarmupEpochs + options.Epochs;
        var info = new CheckpointInfo
        {
            Kind = "recam", Backbone = spec.Name, Classes = view.ClassNames, Epochs = totalEpochs, InitialWeights = source,
            Options = Describe(options, settings),
        };
        int startEpoch = 0;
        if (!settings.Force && work.FindResumable(info) is { } found)
        {
            var (n, h, _) = Checkpoint.LoadReCamNetwork(found.Path);
            using (n)
            using (h)
            {
                network.load_state_dict(n.state_dict());
                head.load_state_dict(h.state_dict());
            }
            startEpoch = found.Epoch;
            logger.LogInformation("train-recam: resuming after epoch {Epoch} from {Path}.", found.Epoch, found.Path);
        }
        network.to(device);
        head.to(device);
        logger.LogInformation("train-recam: {Count} images from {Source}; λ {Lambda}, lr {Lr:G3}/{W1:G3}/{W2:G3}, {Warmup} head warm-up + {Epochs} epochs, batch {Batch}, crop {Crop}.",
            samples.Count, source, options.Lambda, options.LearningRate, options.ClassifierLearningRate, options.HeadLearningRate,
            options.HeadWarmupEpochs, options.Epochs, options.BatchSize, options.Crop);

        var epochs = new List<Dictionary<string, double>>();
        var sums = new Dictionary<string, double>();
        int count = 0;
        var watch = Stopwatch.StartNew();
        var progress = new SyncProgress<TrainingProgress>(p =>
        {
            count++;
            sums["loss"] = sums.GetValueOrDefault("loss") + p.Loss;
            foreach (string k in new[] { "bce", "sce", "accuracy" }) sums[k] = sums.GetValueOrDefault(k) + p.Metrics[k];
            if (p.Step % 10 == 0 || p.Step == p.TotalSteps)
                logger.LogInformation("train-recam: epoch {Epoch}/{Epochs}{Phase} step {Step}/{Total} loss {Loss:F4} (bce {Bce:F4}, sce {Sce:F4}) sce-accuracy {Acc:F3} {Ips:F1} images/s",
                    p.Epoch, p.Epochs, p.Metrics["warmup"] > 0 ? " (head warm-up)" : "", p.Step, p.TotalSteps, p.Loss, p.Metrics["bce"], p.Metrics["sce"],
                    p.Metrics["accuracy"], p.ImagesPerSecond);
        });
        ReCamTrainer.Train(network, head, samples, spec.Normalization, options, device, startEpoch, epoch =>
        {
            epochs.Add(sums.ToDictionary(kv => kv.Key, kv => kv.Value / Math.Max(1, count)));
            sums.Clear();
            count = 0;
            Checkpoint.Save(work.EpochCheckpoint("recam", epoch), network, info with { Epoch = epoch }, head);
            logger.LogInformation("train-recam: epoch {Epoch} done, mean loss {Loss:F4}, sce-accuracy {Acc:F3}; saved {Path}",
                epoch, epochs[^1]["loss"], epochs[^1]["accuracy"], work.EpochCheckpoint("recam", epoch));
        }, progress, cancellationToken);

        if (epochs.Count > 0 && ReCamTrainer.HeadNearChance(epochs[^1]["accuracy"], head, options) is { } warning)
            logger.LogWarning("train-recam: {Warning}", warning);
        Checkpoint.Save(work.ReCamCheckpoint, network, info with { Epoch = totalEpochs }, head);
        var metrics = new { step = "train-recam", images = samples.Count, resumedFromEpoch = startEpoch, perEpoch = epochs, seconds = watch.Elapsed.TotalSeconds, options = info.Options };
        AtomicFile.WriteAllText(work.MetricsFile("train-recam"), JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));
        logger.LogInformation("train-recam: wrote {Path} in {Seconds:F0} s.", work.ReCamCheckpoint, watch.Elapsed.TotalSeconds);
        return work.ReCamCheckpoint;
    }

    private static Dictionary<string, string> Describe(ReCamTrainingOptions o, PipelineSettings s)
    {
        var c = CultureInfo.InvariantCulture;
        var (min, max) = o.EffectiveResizeLong;
        return new Dictionary<string, string>
        {
            ["split"] = s.Split, ["epochs"] = o.Epochs.ToString(c), ["headWarmupEpochs"] = o.HeadWarmupEpochs.ToString(c),
            ["batch"] = o.BatchSize.ToString(c), ["crop"] = o.Crop.ToString(c), ["resizeLong"] = $"{min},{max}",
            ["lambda"] = o.Lambda.ToString(c), ["lr"] = o.LearningRate.ToString(c), ["w1Lr"] = o.ClassifierLearningRate.ToString(c),
            ["w2Lr"] = o.HeadLearningRate.ToString(c), ["w2Init"] = o.HeadInit.ToString(), [Checkpoint.BackgroundClassOption] = o.BackgroundClass ? "true" : "false", ["weightDecay"] = o.WeightDecay.ToString(c), ["momentum"] = o.Momentum.ToString(c),
            ["seed"] = s.Seed.ToString(c),
        };
    }
}
