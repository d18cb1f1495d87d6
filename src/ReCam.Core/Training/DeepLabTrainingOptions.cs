using System.Globalization;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// Options of train-deeplab. The reference (kazuto1011/deeplab-pytorch, VOC config) trains 20,000 steps of 10 crops of 321
/// px: SGD with momentum 0.9, weight decay 5e-4, poly schedule 0.9, the head at 10× the backbone's rate, random scales
/// 0.5 to 1.5, mirror, crop. What a CPU affords is far shorter, so the rate and the length are chosen here (README,
/// "DeepLab").
/// </summary>
public sealed record DeepLabTrainingOptions : TrainingOptions
{
    /// <summary>
    /// Default backbone learning rate: 0.003 trained DeepLab-v3 to a lower loss than 0.01 in the same 4 epochs on 600 generated
    /// scenes (README, "DeepLab"); the reference's 2.5e-4 is for 20,000 steps.
    /// </summary>
    public const double DefaultLearningRate = 0.003;

    /// <summary>The head's rate as a multiple of the backbone's (reference: 10).</summary>
    public const double DefaultHeadRateMultiplier = 10;

    /// <summary>Steps the default epoch count reaches at least.</summary>
    public const int DefaultMinimumSteps = 300;

    /// <summary>Fewest epochs the default gives.</summary>
    public const int DefaultMinimumEpochs = 10;

    /// <summary>The reference's random scales.</summary>
    public static IReadOnlyList<double> DefaultRandomScales { get; } = [0.5, 0.75, 1.0, 1.25, 1.5];

    /// <summary>Creates the options with the reference's batch, crop, momentum and weight decay.</summary>
    public DeepLabTrainingOptions()
    {
        BatchSize = 10;
        Crop = 321;
        Momentum = 0.9;
        WeightDecay = 5e-4;
    }

    /// <summary>Head and output stride.</summary>
    public DeepLabShape Shape { get; init; } = new();

    /// <summary>Epochs; null = at least <see cref="DefaultMinimumEpochs"/> and enough for <see cref="DefaultMinimumSteps"/> steps.</summary>
    public int? Epochs { get; init; }

    /// <summary>The epochs in effect for <paramref name="images"/> training images.</summary>
    public int EpochsFor(int images) =>
        Epochs ?? Math.Max(DefaultMinimumEpochs, (int)Math.Ceiling(DefaultMinimumSteps / (double)Math.Max(1, images / Math.Max(1, BatchSize))));

    /// <summary>Backbone learning rate.</summary>
    public double LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>The head's rate as a multiple of <see cref="LearningRate"/>.</summary>
    public double HeadRateMultiplier { get; init; } = DefaultHeadRateMultiplier;

    /// <summary>Random scales, one drawn per image and step.</summary>
    public IReadOnlyList<double> RandomScales { get; init; } = DefaultRandomScales;

    /// <summary>
    /// Default of <see cref="IgnoreHardBackground"/>. Pseudo masks miss object pixels far more often than they claim background,
    /// and a segmenter trained on them learnt to call 15-38% of each class's pixels background; leaving out a tenth of the
    /// background labels cut that to 5-16% and raised val mIoU by 1.7 points on average over five runs of two scene sets
    /// (from −1.2 to +5.3; half as much at 0.05), README "DeepLab".
    /// </summary>
    public const double DefaultIgnoreHardBackground = 0.1;

    /// <summary>
    /// The fraction of background-labelled pixels left out of each step's loss: those with the highest loss, where the network
    /// most confidently sees an object the mask missed. The fraction rises linearly from 0 over the first
    /// <see cref="IgnoreHardBackgroundRamp"/> of the steps, while the network learns the easy pixels first. 0 trusts every
    /// label (the reference; right for hand-drawn masks). Not in the reference.
    /// </summary>
    public double IgnoreHardBackground { get; init; } = DefaultIgnoreHardBackground;

    /// <summary>
    /// Whether the backbone starts from the image-level classifier trained on the same images (train-recam's checkpoint, else
    /// train-cam's, in the work folder; in an ML.NET pipeline the closest CAM or ReCAM transformer upstream) when one of the same
    /// backbone exists, instead of the pretrained weights. It needs no supervision beyond the image-level labels the classifier
    /// learnt from. From pseudo masks it raised val mIoU by +2.6 to +5.5 points on three seeds of 600 generated scenes (+2.9, +3.5
    /// with CRF, on average over five runs of two scene sets), which took the ratio to the true-mask DeepLab from 0.86 to 0.92
    /// (README, "DeepLab"). Not in the reference, which starts from pretrained weights.
    /// </summary>
    public bool StartFromClassifier { get; init; } = true;

    /// <summary>The share of training over which <see cref="IgnoreHardBackground"/> ramps up from 0.</summary>
    public const double IgnoreHardBackgroundRamp = 0.2;

    /// <summary>The fraction of background pixels left out at <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public double IgnoredBackgroundAt(long step, long totalSteps) =>
        IgnoreHardBackground * Math.Min(1.0, step / Math.Max(1.0, IgnoreHardBackgroundRamp * totalSteps));

    /// <inheritdoc />
    public override void Validate()
    {
        if (Epochs is < 1) throw new InvalidOptionException(nameof(Epochs), $"must be at least 1 (got {Epochs})");
        base.Validate();
        CheckNonNegative(nameof(LearningRate), LearningRate);
        CheckNonNegative(nameof(HeadRateMultiplier), HeadRateMultiplier);
        if (!(IgnoreHardBackground >= 0 && IgnoreHardBackground < 1))
            throw new InvalidOptionException(nameof(IgnoreHardBackground), $"must be in [0, 1) (got {IgnoreHardBackground.ToString(CultureInfo.InvariantCulture)})");
        if (RandomScales.Count == 0 || RandomScales.Any(s => !(s > 0 && s <= 8)))
            throw new InvalidOptionException(nameof(RandomScales), $"must be one or more numbers in (0, 8] (got [{string.Join(", ", RandomScales)}])");
        if (Shape.Variant != DeepLabVariant.V2 && BatchSize < 2)
            throw new InvalidOptionException(nameof(BatchSize), $"must be at least 2 for DeepLab-{Shape.VariantName}, whose batch norms need a batch (got 1)");
    }

    /// <summary>The options as text, for the checkpoint's record and for resuming.</summary>
    internal Dictionary<string, string> DescribeAll(int images)
    {
        var c = CultureInfo.InvariantCulture;
        var d = Describe();
        d["epochs"] = EpochsFor(images).ToString(c);
        d["lr"] = LearningRate.ToString(c);
        d["headRateMultiplier"] = HeadRateMultiplier.ToString(c);
        d["randomScales"] = string.Join(",", RandomScales.Select(s => s.ToString(c)));
        d["polyPower"] = PolyPower.ToString(c);
        d["ignoreHardBackground"] = IgnoreHardBackground.ToString(c);
        d["startFromClassifier"] = StartFromClassifier ? "true" : "false";
        d[VariantKey] = Shape.VariantName;
        d[OutputStrideKey] = Shape.OutputStride.ToString(c);
        return d;
    }

    /// <summary>The checkpoint option that records the head.</summary>
    public const string VariantKey = "variant";

    /// <summary>The checkpoint option that records the output stride.</summary>
    public const string OutputStrideKey = "outputStride";
}
