namespace ReCam.Training;

/// <summary>
/// Options of train-cam. Defaults are the official ReCAM VOC settings (recam-method.md §4), except the
/// crop, which defaults to 512 like the official code and should be set to the image size for small data.
/// </summary>
public sealed record CamTrainingOptions
{
    /// <summary>Epochs (official: 5).</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Images per step (official: 16).</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Square training crop (official: 512).</summary>
    public int Crop { get; init; } = 512;

    /// <summary>Random long-side resize range; null = 0.625·crop .. 1.25·crop (320..640 for crop 512).</summary>
    public (int Min, int Max)? ResizeLong { get; init; }

    /// <summary>Learning rate of the backbone (official: 0.1).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Learning rate of the classifier W1 (official: 1.0, ten times the backbone's).</summary>
    public double ClassifierLearningRate { get; init; } = 1.0;

    /// <summary>L2 weight decay of every group (official: 1e-4).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>
    /// SGD momentum. The official PolyOptimizer passes the weight decay into SGD's momentum slot, so the
    /// momentum actually used is 1e-4 (practically plain SGD); that quirk is the faithful default.
    /// </summary>
    public double Momentum { get; init; } = 1e-4;

    /// <summary>Power of the poly schedule (official: 0.9).</summary>
    public double PolyPower { get; init; } = 0.9;

    /// <summary>Random seed (shuffling, augmentation, classifier initialisation).</summary>
    public int Seed { get; init; }

    /// <summary>The resize range in effect.</summary>
    public (int Min, int Max) EffectiveResizeLong => ResizeLong ?? ClassificationAugmentation.DefaultResizeLong(Crop);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"Epochs must be at least 1 (got {Epochs}).");
        if (BatchSize < 1) throw new ArgumentException($"Batch size must be at least 1 (got {BatchSize}).");
        if (Crop < 16) throw new ArgumentException($"Crop must be at least 16 pixels (got {Crop}).");
        var (min, max) = EffectiveResizeLong;
        if (min < 1 || max < min) throw new ArgumentException($"Resize range {min}..{max} is invalid.");
        if (LearningRate < 0 || ClassifierLearningRate < 0 || WeightDecay < 0 || Momentum < 0)
            throw new ArgumentException("Learning rates, weight decay and momentum must be non-negative.");
    }
}
