using System.Globalization;

namespace ReCam.Training;

/// <summary>
/// Options of train-irn (the boundary network). Official values: crop 512, batch 32, 3 epochs, learning rate 0.1 for the
/// edge layers, random scale 0.5 to 1.5, pairs within radius 10, weight decay 1e-4, the PolyOptimizer's momentum quirk.
/// </summary>
public sealed record BoundaryTrainingOptions : TrainingOptions
{
    /// <summary>The official epochs, the fewest the default gives.</summary>
    public const int OfficialEpochs = 3;

    /// <summary>
    /// Steps the default epoch count reaches at least. The official 3 epochs are about 1,000 steps on VOC's 10,582 images;
    /// on a few hundred images 3 epochs are a few dozen steps, too few for the edge layers (README, "Refinement").
    /// </summary>
    public const int DefaultMinimumSteps = 200;

    /// <summary>Default (official) learning rate of the edge layers.</summary>
    public const double DefaultLearningRate = 0.1;

    /// <summary>Official pair radius in training.</summary>
    public const int DefaultRadius = 10;

    /// <summary>Epochs; null = at least <see cref="OfficialEpochs"/> and enough for <see cref="DefaultMinimumSteps"/> steps.</summary>
    public int? Epochs { get; init; }

    /// <summary>The epochs in effect for <paramref name="images"/> training images.</summary>
    public int EpochsFor(int images) =>
        Epochs ?? Math.Max(OfficialEpochs, (int)Math.Ceiling(DefaultMinimumSteps / (double)Math.Max(1, images / Math.Max(1, BatchSize))));

    /// <summary>Learning rate of the edge layers.</summary>
    public double LearningRate { get; init; } = DefaultLearningRate;

    /// <summary>Smallest random scale.</summary>
    public double ScaleMin { get; init; } = 0.5;

    /// <summary>Largest random scale.</summary>
    public double ScaleMax { get; init; } = 1.5;

    /// <summary>Pixel pairs closer than this (in stride-4 cells) are related in the loss.</summary>
    public int Radius { get; init; } = DefaultRadius;

    /// <inheritdoc />
    public override void Validate()
    {
        if (Epochs is < 1) throw new InvalidOptionException(nameof(Epochs), $"must be at least 1 (got {Epochs})");
        base.Validate();
        if (Crop % 4 != 0) throw new InvalidOptionException(nameof(Crop), $"must be a multiple of 4 for the boundary network (got {Crop})");
        CheckNonNegative(nameof(LearningRate), LearningRate);
        if (!(ScaleMin > 0 && ScaleMax >= ScaleMin && ScaleMax <= 8))
            throw new InvalidOptionException(nameof(ScaleMin), $"and {nameof(ScaleMax)} must satisfy 0 < min <= max <= 8 (got {ScaleMin}, {ScaleMax})");
        if (Radius < 2 || 2 * (Radius - 1) >= Crop / 4)
            throw new InvalidOptionException(nameof(Radius), $"must be at least 2 and leave room in the {Crop / 4}-cell grid of crop {Crop} (got {Radius})");
    }

    /// <summary>The options as text, for the checkpoint's record and for resuming.</summary>
    internal Dictionary<string, string> DescribeAll(int images)
    {
        var c = CultureInfo.InvariantCulture;
        var d = Describe();
        d["epochs"] = EpochsFor(images).ToString(c);
        d["lr"] = LearningRate.ToString(c);
        d["scale"] = $"{ScaleMin.ToString(c)},{ScaleMax.ToString(c)}";
        d["radius"] = Radius.ToString(c);
        d["polyPower"] = PolyPower.ToString(c);
        return d;
    }
}
