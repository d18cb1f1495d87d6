using System.CommandLine;
using System.Globalization;
using ReCam.Networks;
using ReCam.Pipeline;
using ReCam.Refinement;
using ReCam.Segmentation;
using ReCam.Training;

namespace ReCam.Cli.Commands;

/// <summary>The segmentation stage as commands: train-deeplab, eval-deeplab, predict.</summary>
internal sealed class SegmentationCommands(StepRunner runner, CliOptions o)
{
    public Option<string?> Masks { get; } = new("--masks")
    {
        Description = "train-deeplab: folder of <id>.png masks (0 background, c+1 class c, 255 ignored). Default: <work>/pseudo_masks; the data set's SegmentationClass gives the fully supervised upper bound",
    };
    public Option<string> Variant { get; } = new("--deeplab") { Description = "DeepLab head: v2 (the paper's ASPP), v3 (ASPP with image pooling) or v3+ (v3 with a decoder on layer1's stride-4 features)", DefaultValueFactory = _ => new DeepLabShape().VariantName };
    public Option<int> OutputStride { get; } = new("--output-stride") { Description = "Backbone output stride: 8 (the paper's) or 16 (cheaper)", DefaultValueFactory = _ => new DeepLabShape().OutputStride };
    public Option<double?> HeadRateMultiplier { get; } = new("--head-lr-multiplier")
    {
        Description = $"The head's learning rate as a multiple of --lr. Default {DeepLabTrainingOptions.DefaultHeadRateMultiplier.ToString(CultureInfo.InvariantCulture)}",
    };
    public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = "L2 weight decay. Default 5e-4 (the reference's)" };
    public Option<double?> IgnoreHardBackground { get; } = new("--ignore-hard-background")
    {
        Description = "Fraction of background-labelled pixels with the highest loss left out of each step (where the network sees an object the mask missed), "
            + $"ramped up over the first fifth of training; 0 trusts every label (hand-drawn masks). Default {DeepLabTrainingOptions.DefaultIgnoreHardBackground.ToString(CultureInfo.InvariantCulture)}",
    };
    public Option<string?> Init { get; } = new("--deeplab-init")
    {
        Description = "Where the backbone starts: classifier (the backbone of train-recam's, else train-cam's checkpoint in the work folder, when it has "
            + "--backbone; else as pretrained) or pretrained (--weights, else the bundled weights). Default classifier",
    };
    public Option<string?> RandomScales { get; } = new("--random-scales")
    {
        Description = "Training scales, one drawn per image. Default " + Join(DeepLabTrainingOptions.DefaultRandomScales),
    };
    public Option<string> TestScales { get; } = new("--scales") { Description = "Inference scales, averaged", DefaultValueFactory = _ => Join(SegmentationOptions.DefaultScales) };
    public Option<bool> NoFlip { get; } = new("--no-flip") { Description = "Do not also run the mirrored image" };
    public Option<bool> Crf { get; } = new("--crf") { Description = "Dense CRF post-processing with the reference parameters (several times slower); eval-deeplab writes deeplab_masks_crf/ and eval-deeplab-crf.json" };
    public Option<int> MaxSide { get; } = new("--max-input-side")
    {
        Description = "Longest side the network sees; larger images are shrunk first", DefaultValueFactory = _ => SegmentationOptions.DefaultMaxInputSide,
    };

    public IEnumerable<Command> All() => [TrainDeepLab(), EvalDeepLab(), Predict()];

    private Command TrainDeepLab() => runner.StepCommand(o, TrainDeepLabStep.Name,
        "Train a DeepLab segmentation network on the split's images and masks (the pseudo masks by default); writes <work>/models/deeplab.ckpt",
        c =>
        {
            foreach (var opt in new Option[] { o.Epochs, o.Batch, o.Crop, o.LearningRate, o.Momentum, Masks, Variant, OutputStride, HeadRateMultiplier, WeightDecay, RandomScales, IgnoreHardBackground, Init })
                c.Options.Add(opt);
        },
        (r, log, ct) => TrainDeepLabStep.Run(o.Settings(r), Training(r), r.GetValue(Masks), log, ct));

    private Command EvalDeepLab() => runner.StepCommand(o, EvalDeepLabStep.Name,
        "Segment the split's images with <work>/models/deeplab.ckpt (multi-scale, flip, optional --crf) and score them; writes <work>/deeplab_masks/ and metrics/eval-deeplab.json (use --split val)",
        c =>
        {
            CliOptions.AddTrainingOnlyOptions(c);
            foreach (var opt in new Option[] { o.Checkpoint, o.Shard, TestScales, NoFlip, Crf, MaxSide }) c.Options.Add(opt);
        },
        (r, log, ct) =>
        {
            if (EvalDeepLabStep.Run(o.Settings(r), Inference(r), log, ct) is { } result) Console.WriteLine(result.ToTable());
        });

    private Command Predict()
    {
        var model = new Option<string>("--model") { Description = "A DeepLab checkpoint (models/deeplab.ckpt of train-deeplab)", Required = true };
        var input = new Option<string[]>("--input") { Description = "Image files or folders (their .jpg, .jpeg, .png)", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Output folder: <name>.png masks (VOC palette) and <name>-overlay.png", Required = true };
        var cmd = new Command(PredictStep.Name, "Segment images that have no labels with a trained DeepLab; writes a mask and an overlay PNG per image")
        {
            model, input, output, o.Shard, o.Threads, o.Device, o.Force, TestScales, NoFlip, Crf, MaxSide,
        };
        cmd.SetAction((r, ct) => runner.Run(PredictStep.Name, ct, (log, token) =>
        {
            var settings = new PredictSettings
            {
                Model = r.GetValue(model)!, Inputs = r.GetValue(input)!, OutputDir = r.GetValue(output)!, Shard = CliOptions.ParseShard(r.GetValue(o.Shard)),
                Device = r.GetValue(o.Device)!, Threads = r.GetValue(o.Threads), Force = r.GetValue(o.Force),
            };
            var summary = PredictStep.Run(settings, Inference(r), log, token);
            if (summary.Failures.Count > 0)
                throw new InvalidDataException($"{summary.Failures.Count} image(s) could not be segmented (listed above); the other {summary.Written + summary.Skipped} have masks.");
        }));
        return cmd;
    }

    /// <summary>train-deeplab's options from the command line over the core defaults.</summary>
    public DeepLabTrainingOptions Training(ParseResult r)
    {
        var d = o.Training(r, new DeepLabTrainingOptions());
        return d with
        {
            Epochs = r.GetValue(o.Epochs), LearningRate = r.GetValue(o.LearningRate) ?? d.LearningRate,
            HeadRateMultiplier = Optional(r, HeadRateMultiplier) ?? d.HeadRateMultiplier, WeightDecay = Optional(r, WeightDecay) ?? d.WeightDecay,
            RandomScales = Optional(r, RandomScales) is { } text ? CliOptions.ParseNumbers(text, "--random-scales") : d.RandomScales,
            IgnoreHardBackground = Optional(r, IgnoreHardBackground) ?? d.IgnoreHardBackground,
            StartFromClassifier = Optional(r, Init) switch
            {
                null => d.StartFromClassifier,
                "classifier" => true,
                "pretrained" => false,
                var other => throw new ArgumentException($"--deeplab-init must be classifier or pretrained (got '{other}')."),
            },
            Shape = DeepLabShape.Parse(r.GetValue(Variant)!, r.GetValue(OutputStride).ToString(CultureInfo.InvariantCulture)),
        };
    }

    /// <summary>eval-deeplab's and predict's inference options.</summary>
    public SegmentationOptions Inference(ParseResult r) => new()
    {
        Scales = CliOptions.ParseNumbers(r.GetValue(TestScales)!, "--scales"), Flip = !r.GetValue(NoFlip), MaxInputSide = r.GetValue(MaxSide),
        Crf = r.GetValue(Crf) ? DenseCrfOptions.DeepLabPostProcessing : null,
    };

    // `run` carries only some of train-deeplab's options.
    private static T? Optional<T>(ParseResult r, Option<T> option) => r.GetResult(option) is { } found ? found.GetValueOrDefault<T>() : default;

    private static string Join(IEnumerable<double> values) => string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}
