using System.Globalization;
using ReCam.Cam;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// Options of train-recam. <see cref="Official"/> holds the official VOC settings. The defaults were chosen from the
/// ablation in the README ("ReCAM defaults"): at the scale users have (hundreds of images, ~150 steps) W2 stays at
/// chance with the official learning rate 5e-4 and its random initialisation, and W1⊙W2 then scrambles the maps; so W2
/// starts at ones (W1⊙W2 = W1, i.e. CAM), learns at 1.0 with a background row in its softmax, and trains alone for 16
/// warm-up epochs before the 4 official joint epochs.
/// </summary>
public sealed record ReCamTrainingOptions : TrainingOptions
{
    /// <summary>Default joint epochs (official: 4).</summary>
    public const int DefaultEpochs = 4;

    /// <summary>Default λ (official: 1.0 on VOC, 0.1 on COCO).</summary>
    public const double DefaultLambda = 1.0;

    /// <summary>Default backbone and W1 learning rate (official: 5e-5 each).</summary>
    public const double DefaultLearningRate = 5e-5;

    /// <summary>Default W2 learning rate (official: 5e-4).</summary>
    public const double DefaultHeadLearningRate = 1.0;

    /// <summary>Default head warm-up epochs (official: 0).</summary>
    public const int DefaultHeadWarmupEpochs = 16;

    /// <summary>Default W2 start (official: random).</summary>
    public const HeadInitialization DefaultHeadInit = HeadInitialization.Ones;

    /// <summary>Default for the background row (official: false).</summary>
    public const bool DefaultBackgroundClass = true;

    /// <summary>Default extraction weight (official VOC: W1⊙W2).</summary>
    public const WeightCombination DefaultCombination = WeightCombination.Product;

    /// <summary>Default gain on W2's learnt part at extraction (official: 1, W2 as trained).</summary>
    public const double DefaultW2Gain = 8.0;

    /// <summary>Default classifier deciding each foreground pixel's class at extraction (official: the extraction weight).</summary>
    public const PixelClassSource DefaultPixelClass = PixelClassSource.W1;

    /// <summary>The official ReCAM VOC settings: 4 epochs, λ 1, learning rates 5e-5 / 5e-5 / 5e-4, random W2, W1⊙W2, no warm-up.</summary>
    public static ReCamTrainingOptions Official { get; } = new()
    {
        Epochs = 4, Lambda = 1.0, LearningRate = 5e-5, ClassifierLearningRate = 5e-5, HeadLearningRate = 5e-4,
        HeadWarmupEpochs = 0, Combination = WeightCombination.Product, HeadInit = HeadInitialization.Random, BackgroundClass = false,
        W2Gain = 1.0, PixelClass = PixelClassSource.Combined,
    };

    /// <summary>The official ReCAM COCO settings: <see cref="Official"/> with λ 0.1, batch 6, and maps from W1 alone.</summary>
    public static ReCamTrainingOptions OfficialCoco { get; } = Official with { Lambda = 0.1, BatchSize = 6, Combination = WeightCombination.W1 };

    /// <summary>Joint re-activation epochs; may be 0 when <see cref="HeadWarmupEpochs"/> is not.</summary>
    public int Epochs { get; init; } = DefaultEpochs;

    /// <summary>
    /// λ, the weight of the softmax cross-entropy term in the joint epochs. It scales W2's gradient too (W2 learns only from that
    /// term), so W2's step grows with it: with the default W2 rate of 1.0, λ = 10 made the head diverge in the first joint epoch
    /// and cost 13 points; lower <see cref="HeadLearningRate"/> by the same factor when raising λ.
    /// </summary>
    public double Lambda { get; init; } = DefaultLambda;

    /// <summary>Backbone learning rate.</summary>
    public double LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>W1 learning rate.</summary>
    public double ClassifierLearningRate { get; init; } = DefaultLearningRate;

    /// <summary>W2 (re-activation head) learning rate.</summary>
    public double HeadLearningRate { get; init; } = DefaultHeadLearningRate;

    /// <summary>Epochs that train W2 alone (backbone and W1 fixed) before the joint epochs.</summary>
    public int HeadWarmupEpochs { get; init; } = DefaultHeadWarmupEpochs;

    /// <summary>How W2 starts.</summary>
    public HeadInitialization HeadInit { get; init; } = DefaultHeadInit;

    /// <summary>
    /// Adds a background row to the re-activation softmax (not in the official code): each image's features pooled
    /// outside its present classes' masks must be classified as background, which teaches W2 to down-weight the
    /// channels that fire on background. Used in training only.
    /// </summary>
    public bool BackgroundClass { get; init; } = DefaultBackgroundClass;

    /// <summary>Classifier weight of the extracted maps (make-recam).</summary>
    public WeightCombination Combination { get; init; } = DefaultCombination;

    /// <summary>Extraction: gain on what the softmax cross-entropy taught W2 (1 = W2 as trained; see <see cref="WeightCombinations.Combine"/>).</summary>
    public double W2Gain { get; init; } = DefaultW2Gain;

    /// <summary>Extraction: which classifier decides each foreground pixel's class (see <see cref="PixelClassSource"/>).</summary>
    public PixelClassSource PixelClass { get; init; } = DefaultPixelClass;

    /// <summary>Warm-up plus joint epochs.</summary>
    public int TotalEpochs => HeadWarmupEpochs + Epochs;

    /// <inheritdoc />
    public override void Validate()
    {
        if (Epochs < 0) throw new InvalidOptionException(nameof(Epochs), $"must be non-negative (got {Epochs})");
        if (HeadWarmupEpochs < 0) throw new InvalidOptionException(nameof(HeadWarmupEpochs), $"must be non-negative (got {HeadWarmupEpochs})");
        if (TotalEpochs < 1) throw new InvalidOptionException(nameof(Epochs), $"and {nameof(HeadWarmupEpochs)} must not both be 0");
        base.Validate();
        CheckNonNegative(nameof(Lambda), Lambda);
        CheckNonNegative(nameof(LearningRate), LearningRate);
        CheckNonNegative(nameof(ClassifierLearningRate), ClassifierLearningRate);
        CheckNonNegative(nameof(HeadLearningRate), HeadLearningRate);
        if (!Enum.IsDefined(HeadInit)) throw new InvalidOptionException(nameof(HeadInit), $"has the unknown value {(int)HeadInit}");
        if (!Enum.IsDefined(Combination)) throw new InvalidOptionException(nameof(Combination), $"has the unknown value {(int)Combination}");
        WeightCombinations.CheckW2Gain(W2Gain);
        PixelClassSources.Check(PixelClass);
    }

    /// <summary>The key under which <see cref="Describe"/> records <see cref="BackgroundClass"/> (checkpoints read it back).</summary>
    internal const string BackgroundClassKey = "backgroundClass";

    /// <inheritdoc />
    internal override Dictionary<string, string> Describe()
    {
        var c = CultureInfo.InvariantCulture;
        var d = base.Describe();
        d["epochs"] = Epochs.ToString(c);
        d["headWarmupEpochs"] = HeadWarmupEpochs.ToString(c);
        d["lambda"] = Lambda.ToString(c);
        d["lr"] = LearningRate.ToString(c);
        d["w1Lr"] = ClassifierLearningRate.ToString(c);
        d["w2Lr"] = HeadLearningRate.ToString(c);
        d["w2Init"] = HeadInit.ToString();
        d[BackgroundClassKey] = BackgroundClass ? "true" : "false";
        return d;
    }
}
