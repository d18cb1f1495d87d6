using System.CommandLine;
using System.Globalization;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Pipeline;
using ReCam.Training;

namespace ReCam.Cli.Commands;

/// <summary>
/// The options the pipeline commands share. Their names are a public contract: scripts call them. Defaults and rules
/// are the core option types' (<see cref="CamTrainingOptions"/>, <see cref="ExtractionOptions"/>, ...): an option left
/// out keeps the core's default.
/// </summary>
internal sealed class CliOptions
{
    public Option<string?> Voc { get; } = new("--voc") { Description = "Dataset root in PASCAL VOC layout (the folder that holds JPEGImages); this or --coco is required" };
    public Option<string?> Coco { get; } = new("--coco")
    {
        Description = "Dataset root in MS COCO layout (the folder that holds annotations/instances_<split>.json and <split>/ images); --split is then e.g. train2014",
    };
    public Option<string?> Classes { get; } = new("--classes") { Description = "Class names file, one per line (mask value c+1 = line c). Default: classes.txt in --voc if present, else VOC's 20; with --coco, the categories" };
    public Option<string?> Labels { get; } = new("--labels") { Description = "Image-level labels: cls_labels.npy or a CSV (image,labels). Default: VOC XML Annotations/ (--coco: the instance annotations)" };
    public Option<string> Work { get; } = new("--work") { Description = "Work folder for models, maps and metrics", DefaultValueFactory = _ => "work" };
    public Option<string> Split { get; } = new("--split") { Description = "Image list in ImageSets/Segmentation (--coco: the split, e.g. train2014)", DefaultValueFactory = _ => "train" };
    public Option<string> Backbone { get; } = new("--backbone")
    {
        Description = "Backbone: " + string.Join(", ", BackboneCatalog.All.Select(b => b.Name)), DefaultValueFactory = _ => BackboneCatalog.DefaultName,
    };
    public Option<string?> Weights { get; } = new("--weights") { Description = "Initial backbone weights (.onnx, a PyTorch .pth state dict, or the backbone of a train-cam/train-recam .ckpt). Default: the backbone's bundled weights" };
    public Option<int?> Epochs { get; } = new("--epochs")
    {
        Description = $"Training epochs. Default: {CamTrainingOptions.DefaultEpochs} (train-cam), {ReCamTrainingOptions.DefaultEpochs} (train-recam)",
    };
    public Option<int?> Batch { get; } = new("--batch") { Description = $"Images per training step. Default: {TrainingOptions.DefaultBatchSize}" };
    public Option<int?> Crop { get; } = new("--crop") { Description = $"Square training crop in pixels. Default: {TrainingOptions.DefaultCrop}" };
    public Option<string?> ResizeLong { get; } = new("--resize-long")
    {
        Description = $"Random long-side resize range MIN,MAX. Default: {TrainingOptions.ResizeLongMinRatio}*crop,{TrainingOptions.ResizeLongMaxRatio}*crop",
    };
    public Option<double?> LearningRate { get; } = new("--lr")
    {
        Description = "Backbone learning rate. train-cam: the backbone's default, with the classifier's multiple (" +
                      string.Join(", ", BackboneCatalog.All.Select(b =>
                          $"{b.Name} {b.CamLearningRate.ToString(CultureInfo.InvariantCulture)} x{b.CamClassifierRateMultiplier.ToString(CultureInfo.InvariantCulture)}" +
                          (b.CamWarmupSteps > 0 ? $" with a {b.CamWarmupSteps}-step warm-up" : ""))) +
                      $"); train-recam: {ReCamTrainingOptions.DefaultLearningRate.ToString(CultureInfo.InvariantCulture)}",
    };
    public Option<int?> LearningRateWarmup { get; } = new("--lr-warmup")
    {
        Description = "train-cam: steps over which the learning rates ramp up linearly (0 = the official schedule). Default: the backbone's (" +
                      string.Join(", ", BackboneCatalog.All.Select(b => $"{b.Name} {b.CamWarmupSteps}")) + "); a short warm-up keeps high rates from diverging",
    };
    public Option<double?> Momentum { get; } = new("--momentum")
    {
        Description = $"SGD momentum. Default {TrainingOptions.DefaultMomentum.ToString(CultureInfo.InvariantCulture)} reproduces the official PolyOptimizer quirk",
    };
    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed", DefaultValueFactory = _ => 0 };
    public Option<int> Threads { get; } = new("--threads") { Description = "Torch CPU threads (0 = all cores)", DefaultValueFactory = _ => 0 };
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or cuda:N (CUDA needs a -p:TorchBackend=cuda build; untested)", DefaultValueFactory = _ => "cpu" };
    public Option<string> Shard { get; } = new("--shard") { Description = "Process only shard i of N (i/N), for parallel extraction", DefaultValueFactory = _ => "0/1" };
    public Option<bool> Force { get; } = new("--force") { Description = "Redo outputs that already exist instead of skipping them" };
    public Option<string?> Checkpoint { get; } = new("--checkpoint") { Description = "Model to read. Default: <work>/models/cam.ckpt (make-recam: recam.ckpt); an official .pth works with --backbone" };
    public Option<string?> Scales { get; } = new("--scales")
    {
        Description = "Extraction scales, comma-separated", DefaultValueFactory = _ => string.Join(",", CamExtractor.DefaultScales.Select(s => s.ToString("0.0", CultureInfo.InvariantCulture))),
    };
    public Option<int> MaxInputSide { get; } = new("--max-input-side")
    {
        Description = "Longest side of any image the backbone sees; larger images run at proportionally smaller scales, bounding memory",
        DefaultValueFactory = _ => CamExtractor.DefaultMaxInputSide,
    };
    public Option<float> Threshold { get; } = new("--threshold")
    {
        Description = "Default background threshold of the seed evaluation (the sweep always runs)", DefaultValueFactory = _ => EvaluationOptions.DefaultThreshold,
    };

    public void AddCommon(Command command)
    {
        foreach (var o in new Option[] { Voc, Coco, Classes, Labels, Work, Split, Backbone, Weights, Seed, Threads, Device, Force }) command.Options.Add(o);
    }

    /// <summary>
    /// --epochs, --batch and --crop on the extraction and evaluation commands: accepted so that one option set
    /// runs every step (scripts pass the training options to all of them); those steps do not train, so they
    /// do not use the values.
    /// </summary>
    public static void AddTrainingOnlyOptions(Command command)
    {
        const string unused = "Training option, accepted so one option set runs every step; this step does not train and ignores it";
        foreach (var name in new[] { "--epochs", "--batch", "--crop" }) command.Options.Add(new Option<int?>(name) { Description = unused });
    }

    public void AddTraining(Command command)
    {
        foreach (var o in new Option[] { Epochs, Batch, Crop, ResizeLong, LearningRate, Momentum }) command.Options.Add(o);
    }

    public PipelineSettings Settings(ParseResult r) => new()
    {
        VocRoot = r.GetValue(Voc),
        CocoRoot = r.GetValue(Coco),
        WorkDir = r.GetValue(Work)!,
        ClassesFile = r.GetValue(Classes),
        LabelsFile = r.GetValue(Labels),
        Split = r.GetValue(Split)!,
        Backbone = r.GetValue(Backbone)!,
        Weights = r.GetValue(Weights),
        Seed = r.GetValue(Seed),
        Threads = r.GetValue(Threads),
        Device = r.GetValue(Device)!,
        Shard = ParseShard(r.GetValue(Shard)),
        Force = r.GetValue(Force),
        Checkpoint = r.GetResult(Checkpoint)?.GetValueOrDefault<string?>(), // not every command has --checkpoint
    };

    /// <summary>The shared training options given on the command line, over <paramref name="defaults"/>.</summary>
    public T Training<T>(ParseResult r, T defaults) where T : TrainingOptions
    {
        var (min, max) = ParsePair(r.GetValue(ResizeLong));
        return defaults with
        {
            BatchSize = r.GetValue(Batch) ?? defaults.BatchSize,
            Crop = r.GetValue(Crop) ?? defaults.Crop,
            ResizeLongMin = min ?? defaults.ResizeLongMin,
            ResizeLongMax = max ?? defaults.ResizeLongMax,
            Momentum = r.GetValue(Momentum) ?? defaults.Momentum,
            Seed = r.GetValue(Seed),
        };
    }

    public CamTrainingOptions CamTraining(ParseResult r) => Training(r, new CamTrainingOptions()) with
    {
        Epochs = r.GetValue(Epochs) ?? CamTrainingOptions.DefaultEpochs,
        LearningRate = r.GetValue(LearningRate),
        WarmupSteps = r.GetResult(LearningRateWarmup)?.GetValueOrDefault<int?>(), // `run` has no --lr-warmup
    };

    public ExtractionOptions Extraction(ParseResult r, WeightCombination combination = ReCamTrainingOptions.DefaultCombination) => new()
    {
        Scales = ParseScales(r), MaxInputSide = r.GetValue(MaxInputSide), Combination = combination,
    };

    public EvaluationOptions Evaluation(ParseResult r) => new() { Threshold = r.GetValue(Threshold) };

    private IReadOnlyList<double>? ParseScales(ParseResult r) => r.GetValue(Scales) is not { } text ? null : ParseNumbers(text, "--scales");

    /// <summary>Comma-separated numbers, e.g. "0.5,1.0,1.5".</summary>
    public static IReadOnlyList<double> ParseNumbers(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                ? v : throw new ArgumentException($"{option}: '{s}' is not a number."))
            .ToList();

    public static (int, int) ParseShard(string? text)
    {
        var parts = (text ?? "0/1").Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int i) && int.TryParse(parts[1], out int n) && n >= 1 && i >= 0 && i < n) return (i, n);
        throw new ArgumentException($"--shard '{text}' must be i/N with 0 <= i < N, e.g. 0/4.");
    }

    private static (int? Min, int? Max) ParsePair(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return (null, null);
        var parts = text.Split(',');
        if (parts.Length == 2 && int.TryParse(parts[0], out int a) && int.TryParse(parts[1], out int b)) return (a, b);
        throw new ArgumentException($"--resize-long '{text}' must be MIN,MAX, e.g. 320,640.");
    }
}
