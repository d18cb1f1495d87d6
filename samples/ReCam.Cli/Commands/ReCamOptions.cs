using System.CommandLine;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Pipeline;
using ReCam.Training;

namespace ReCam.Cli.Commands;

/// <summary>The options of train-recam and make-recam beyond the shared ones; defaults are <see cref="ReCamTrainingOptions"/>'s.</summary>
internal sealed class ReCamOptions(CliOptions common)
{
    public Option<string> Preset { get; } = new("--preset")
    {
        Description = "default: settings chosen from measurements at small scale (see README); official: the official VOC settings " +
                      "(4 epochs, lambda 1, lr 5e-5/5e-5/5e-4, W1*W2 as trained with its own pixel classes, no warm-up); official-coco: the official COCO settings (the same with lambda 0.1, batch 6, maps from W1)",
        DefaultValueFactory = _ => "default",
    };
    public Option<double?> Lambda { get; } = new("--lambda") { Description = "Weight of the softmax cross-entropy term (official: 1.0 VOC, 0.1 COCO). It scales W2's step too: lower --w2-lr by the same factor when raising it" };
    public Option<double?> W1LearningRate { get; } = new("--w1-lr")
    {
        Description = "Learning rate of W1, the classifier (train-cam: default 10x --lr, official 1.0; train-recam: official 5e-5; in run: train-recam's)",
    };
    public Option<double?> W2LearningRate { get; } = new("--w2-lr") { Description = "Learning rate of W2, the re-activation head (official 5e-4)" };
    public Option<int?> HeadWarmup { get; } = new("--head-warmup") { Description = "Epochs that train W2 alone before the joint epochs (official 0)" };
    public Option<bool?> BackgroundClass { get; } = new("--background-class") { Description = "Add a background row to the re-activation softmax (true/false; official false)" };
    public Option<HeadInitialization?> HeadInit { get; } = new("--w2-init") { Description = "Initial W2: random (official), ones (W1*W2 starts as W1) or zeros" };
    public Option<string?> Combination { get; } = new("--weights-combination")
    {
        Description = "Extraction weight: w1, w2, sum or product (W1*W2, official VOC; w1 is the official COCO choice)",
    };
    public Option<double?> W2Gain { get; } = new("--w2-gain")
    {
        Description = $"make-recam: gain on what the SCE taught W2, W2 -> m + g*(W2 - m) with m its mean over classes (official 1). Default {ReCamTrainingOptions.DefaultW2Gain}",
    };
    public Option<PixelClassSource?> PixelClass { get; } = new("--pixel-class")
    {
        Description = "make-recam: which classifier ranks the classes at each pixel: w1 (default; the extent stays the combined weight's) or combined (official)",
    };
    public Option<int?> ReCamEpochs { get; } = new("--recam-epochs") { Description = $"run: epochs of train-recam (--epochs sets train-cam's). Default {ReCamTrainingOptions.DefaultEpochs}" };

    public void AddTraining(Command command)
    {
        foreach (var o in new Option[] { Preset, Lambda, W1LearningRate, W2LearningRate, HeadWarmup, HeadInit, BackgroundClass, Combination }) command.Options.Add(o);
    }

    public void AddExtraction(Command command)
    {
        foreach (var o in new Option[] { Preset, Combination }) command.Options.Add(o);
    }

    /// <summary>Adds the options of how make-recam builds its maps from W1 and W2 (make-recam and run).</summary>
    public void AddReCamMaps(Command command)
    {
        command.Options.Add(W2Gain);
        command.Options.Add(PixelClass);
    }

    /// <summary><paramref name="extraction"/> with make-recam's weight combination, W2 gain and pixel-class source (preset, then options).</summary>
    public ExtractionOptions ReCamMaps(ParseResult r, ExtractionOptions extraction)
    {
        var preset = PresetOf(r);
        return extraction with
        {
            Combination = CombinationOf(r),
            W2Gain = r.GetValue(W2Gain) ?? preset.W2Gain,
            PixelClass = r.GetValue(PixelClass) ?? preset.PixelClass,
        };
    }

    /// <summary>The train-recam options; in `run`, <paramref name="inRun"/> takes the epochs from --recam-epochs.</summary>
    public ReCamTrainingOptions Training(ParseResult r, bool inRun = false)
    {
        var preset = PresetOf(r);
        return common.Training(r, preset) with
        {
            Epochs = (inRun ? r.GetValue(ReCamEpochs) : r.GetValue(common.Epochs)) ?? preset.Epochs,
            Lambda = r.GetValue(Lambda) ?? preset.Lambda,
            LearningRate = r.GetValue(common.LearningRate) ?? preset.LearningRate,
            ClassifierLearningRate = r.GetValue(W1LearningRate) ?? preset.ClassifierLearningRate,
            HeadLearningRate = r.GetValue(W2LearningRate) ?? preset.HeadLearningRate,
            HeadWarmupEpochs = r.GetValue(HeadWarmup) ?? preset.HeadWarmupEpochs,
            BackgroundClass = r.GetValue(BackgroundClass) ?? preset.BackgroundClass,
            HeadInit = r.GetValue(HeadInit) ?? preset.HeadInit,
            Combination = CombinationOf(r),
        };
    }

    public WeightCombination CombinationOf(ParseResult r) =>
        r.GetValue(Combination) is { } text ? WeightCombinations.Parse(text) : PresetOf(r).Combination;

    private ReCamTrainingOptions PresetOf(ParseResult r) => r.GetValue(Preset)?.Trim().ToLowerInvariant() switch
    {
        "official" => ReCamTrainingOptions.Official,
        "official-coco" => ReCamTrainingOptions.OfficialCoco,
        "default" or null => new ReCamTrainingOptions(),
        var other => throw new ArgumentException($"--preset '{other}' is unknown; use default, official or official-coco."),
    };
}
