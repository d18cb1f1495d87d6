using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// Options of train-recam. <see cref="Official"/> holds the official VOC settings (recam-method.md §4.3).
/// The defaults of this record were chosen from the ablation in the README ("ReCAM defaults"): at the scale
/// users have (hundreds of images, ~150 steps) W2 stays at chance with the official learning rate 5e-4 and
/// its random initialisation, and W1⊙W2 then scrambles the maps; so W2 starts at ones (W1⊙W2 = W1, i.e.
/// CAM), learns at 1.0 with a background row in its softmax, and trains alone for 16 warm-up epochs before
/// the 4 official joint epochs.
/// </summary>
public sealed record ReCamTrainingOptions
{
    /// <summary>The official ReCAM VOC settings: 4 epochs, λ 1, learning rates 5e-5 / 5e-5 / 5e-4, W1⊙W2, no warm-up.</summary>
    public static ReCamTrainingOptions Official { get; } = new()
    {
        Epochs = 4, Lambda = 1.0, LearningRate = 5e-5, ClassifierLearningRate = 5e-5, HeadLearningRate = 5e-4,
        HeadWarmupEpochs = 0, Combination = WeightCombination.Product, HeadInit = HeadInitialization.Random, BackgroundClass = false,
    };

    /// <summary>Joint re-activation epochs (official: 4).</summary>
    public int Epochs { get; init; } = 4;

    /// <summary>Images per step (official VOC: 16).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Square training crop.</summary>
    public int Crop { get; init; } = 512;

    /// <summary>Random long-side resize range; null = 0.625·crop .. 1.25·crop.</summary>
    public (int Min, int Max)? ResizeLong { get; init; }

    /// <summary>λ, the weight of the softmax cross-entropy term (official: 1.0 VOC, 0.1 COCO).</summary>
    public double Lambda { get; init; } = 1.0;

    /// <summary>Backbone learning rate (official: 5e-5).</summary>
    public double LearningRate { get; init; } = 5e-5;

    /// <summary>W1 learning rate (official: 5e-5).</summary>
    public double ClassifierLearningRate { get; init; } = 5e-5;

    /// <summary>W2 learning rate (official: 5e-4; default 1.0).</summary>
    public double HeadLearningRate { get; init; } = 1.0;

    /// <summary>Epochs that train W2 alone (backbone and W1 fixed) before the joint epochs (official: 0; default 16).</summary>
    public int HeadWarmupEpochs { get; init; } = 16;

    /// <summary>How W2 starts (official: PyTorch's default random initialisation; default: ones).</summary>
    public HeadInitialization HeadInit { get; init; } = HeadInitialization.Ones;

    /// <summary>
    /// Adds a background row to the re-activation softmax (not in the official code): each image's features pooled
    /// outside its present classes' masks must be classified as background, which teaches W2 to down-weight the
    /// channels that fire on background. Official: false; default: true.
    /// </summary>
    public bool BackgroundClass { get; init; } = true;

    /// <summary>Weight decay of every group (official: 1e-4).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>SGD momentum; 1e-4 reproduces the official PolyOptimizer quirk.</summary>
    public double Momentum { get; init; } = 1e-4;

    /// <summary>Power of the poly schedule.</summary>
    public double PolyPower { get; init; } = 0.9;

    /// <summary>Extraction weight of make-recam.</summary>
    public WeightCombination Combination { get; init; } = WeightCombination.Product;

    /// <summary>Random seed.</summary>
    public int Seed { get; init; }

    /// <summary>The resize range in effect.</summary>
    public (int Min, int Max) EffectiveResizeLong => ResizeLong ?? ClassificationAugmentation.DefaultResizeLong(Crop);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Epochs < 0 || HeadWarmupEpochs < 0 || Epochs + HeadWarmupEpochs < 1)
            throw new ArgumentException($"Epochs ({Epochs}) and head warm-up epochs ({HeadWarmupEpochs}) must be >= 0 and not both 0.");
        if (BatchSize < 1) throw new ArgumentException($"Batch size must be at least 1 (got {BatchSize}).");
        if (Crop < 16) throw new ArgumentException($"Crop must be at least 16 pixels (got {Crop}).");
        if (Lambda < 0) throw new ArgumentException($"λ must be non-negative (got {Lambda}).");
        if (LearningRate < 0 || ClassifierLearningRate < 0 || HeadLearningRate < 0 || WeightDecay < 0 || Momentum < 0)
            throw new ArgumentException("Learning rates, weight decay and momentum must be non-negative.");
    }
}
