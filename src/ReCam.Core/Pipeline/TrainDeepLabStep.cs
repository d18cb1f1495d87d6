using System.Globalization;
using Microsoft.Extensions.Logging;
using ReCam.Cam;
using TorchSharp;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Training;

namespace ReCam.Pipeline;

/// <summary>
/// train-deeplab: trains a DeepLab segmentation network on the split's images and a folder of masks (the pseudo masks of
/// make-sem-seg by default, or any folder of label PNGs such as the data set's own <c>SegmentationClass</c> for the fully
/// supervised upper bound) and writes <c>models/deeplab.ckpt</c> (plus epoch checkpoints, from which a run resumes).
/// </summary>
public static class TrainDeepLabStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "train-deeplab";

    /// <summary>The checkpoint kind, <c>models/deeplab.ckpt</c>.</summary>
    public const string Kind = "deeplab";

    /// <summary>Runs the step (the options' seed is the settings' seed); returns the checkpoint path.</summary>
    /// <param name="settings">Data set, split, work folder, backbone.</param>
    /// <param name="options">Training options.</param>
    /// <param name="masksFolder">Folder of <c>&lt;id&gt;.png</c> masks; null = <c>&lt;work&gt;/pseudo_masks</c>.</param>
    /// <param name="logger">Progress and results.</param>
    /// <param name="cancellationToken">Stops the run between steps.</param>
    public static string Run(PipelineSettings settings, DeepLabTrainingOptions options, string? masksFolder, ILogger logger,
        CancellationToken cancellationToken = default)
    {
        var work = new WorkFolder(settings.WorkDir);
        string final = work.Checkpoint(Kind);
        if (TrainingLog.AlreadyDone(final, settings.Force, Name, logger)) return final;
        options = options with { Seed = settings.Seed };
        options.Validate();
        var (_, view, device) = StepContext.Open(settings, logger);
        string masks = Path.GetFullPath(masksFolder ?? work.PseudoMasks);
        if (!Directory.Exists(masks))
            throw new DirectoryNotFoundException(masksFolder is null
                ? $"No pseudo masks in '{masks}': run {MakeSemSegStep.Name} for split '{settings.Split}' first, or pass --masks DIR."
                : $"Mask folder '{masks}' does not exist.");
        CamMapsFile.CheckClasses(masks, view.ClassNames);
        var samples = view.Ids.Select(id => new LabelledImage(id, view.Dataset.ImagePath(id), MakeSemSegStep.PathFor(masks, id))).ToList();
        CheckMasks(samples, view.ClassNames.Count + 1, masks, settings.Split, cancellationToken);

        var spec = BackboneCatalog.Get(settings.Backbone);
        string? classifier = options.StartFromClassifier ? ClassifierCheckpoint(work, spec, logger) : null;
        var (network, weightsSource) = DeepLabNetwork.Create(spec, classifier ?? settings.Weights, options.Shape, view.ClassNames.Count + 1, settings.Seed);
        using var _ = network;
        int epochs = options.EpochsFor(samples.Count);
        var described = options.DescribeAll(samples.Count);
        described["split"] = settings.Split;
        described["masks"] = masks;
        described["weights"] = settings.Weights ?? "";
        var info = new CheckpointInfo
        {
            Kind = Kind, Backbone = spec.Name, Classes = view.ClassNames, Epochs = epochs, InitialWeights = weightsSource, Options = described,
        };
        var log = new TrainingLog(Name, logger, work);
        var (startEpoch, optimizerState) = log.Resume(info, network, settings.Force);
        network.to(device);
        logger.LogInformation("{Step}: {Count} images with masks from {Masks}, DeepLab-{Variant} (output stride {Stride}) on {Backbone} ({Weights}), {Epochs} epochs x {Steps} steps, batch {Batch}, crop {Crop}, lr {Lr:G3} (head x{Head:G3}), device {Device}.",
            Name, samples.Count, masks, options.Shape.VariantName, options.Shape.OutputStride, spec.Name, weightsSource, epochs, samples.Count / options.BatchSize,
            options.BatchSize, options.Crop, options.LearningRate, options.HeadRateMultiplier, device);

        DeepLabTrainer.Train(network, samples, options, device, log.Hooks(Kind, startEpoch, optimizerState, (epoch, optimizer) =>
        {
            Checkpoint.Save(work.EpochCheckpoint(Kind, epoch), network, info with { Epoch = epoch }, optimizerState: optimizer);
            return work.EpochCheckpoint(Kind, epoch);
        }, cancellationToken));
        Checkpoint.Save(final, network, info with { Epoch = epochs });
        log.Finish(final, samples.Count, options.BatchSize, startEpoch, info.Options);
        return final;
    }

    /// <summary>
    /// The classifier whose backbone the segmenter starts from: train-recam's checkpoint, else train-cam's, when it has the
    /// segmenter's backbone; null (the pretrained weights) when there is none.
    /// </summary>
    private static string? ClassifierCheckpoint(WorkFolder work, BackboneSpec spec, ILogger logger)
    {
        foreach (string path in new[] { work.ReCamCheckpoint, work.CamCheckpoint })
        {
            if (!File.Exists(path)) continue;
            var info = Checkpoint.ReadInfo(path);
            if (string.Equals(info.Backbone, spec.Name, StringComparison.OrdinalIgnoreCase)) return path;
            logger.LogInformation("{Step}: not starting from {Path}: its backbone is {Other}, not {Backbone}.", Name, path, info.Backbone, spec.Name);
        }
        logger.LogInformation("{Step}: no classifier checkpoint in {Models}; the backbone starts from its pretrained weights.", Name, work.Models);
        return null;
    }

    /// <summary>
    /// Reads every mask before training starts, so that a missing file, a mask of another size than its image or a value above
    /// the class count stops the run at once with the file named, not an hour into it.
    /// </summary>
    private static void CheckMasks(IReadOnlyList<LabelledImage> samples, int labelCount, string folder, string split, CancellationToken cancellationToken)
    {
        var missing = samples.Where(s => !File.Exists(s.LabelPath)).Select(s => s.Id).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} of {samples.Count} mask(s) of split '{split}' missing in '{folder}' (e.g. {string.Join(", ", missing.Take(5).Select(id => id + ".png"))}).");
        try
        {
            Parallel.ForEach(samples, new ParallelOptions { CancellationToken = cancellationToken }, s =>
            {
                var (width, height) = ImageDecoder.ReadSize(s.ImagePath);
                SegmentationSamples.CheckMask(s, s.ReadLabels(), width, height, labelCount);
            });
        }
        catch (AggregateException e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    /// <summary>Loads a segmentation network saved by this step; architecture and backbone are the ones the checkpoint names.</summary>
    /// <exception cref="InvalidDataException">The file is not a DeepLab checkpoint, or its weights do not fit.</exception>
    public static (DeepLabNetwork Network, CheckpointInfo Info) Load(string path)
    {
        return Checkpoint.LoadOfKind(path, Kind, "segmentation network", Name, info => DeepLabNetwork.Empty(BackboneCatalog.Get(info.Backbone),
            DeepLabShape.Parse(info.Options.GetValueOrDefault(DeepLabTrainingOptions.VariantKey, "v2"),
                info.Options.GetValueOrDefault(DeepLabTrainingOptions.OutputStrideKey, "8")), info.Classes.Count + 1));
    }

    /// <summary>A one-line description of a loaded model, for logs.</summary>
    internal static string Describe(DeepLabNetwork network, CheckpointInfo info) =>
        string.Create(CultureInfo.InvariantCulture, $"DeepLab-{network.Shape.VariantName} (output stride {network.Shape.OutputStride}) on {info.Backbone}, {info.Classes.Count} classes");
}
