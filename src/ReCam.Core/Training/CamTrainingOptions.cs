using System.Globalization;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// Options of train-cam. Defaults are the official ReCAM VOC settings, except the learning rates and their warm-up, which
/// depend on the backbone (<see cref="BackboneSpec.CamLearningRate"/>, <see cref="BackboneSpec.CamClassifierRateMultiplier"/>,
/// <see cref="BackboneSpec.CamWarmupSteps"/>) and are resolved from it by <see cref="LearningRateFor"/>,
/// <see cref="ClassifierLearningRateFor"/> and <see cref="WarmupStepsFor"/>.
/// </summary>
public sealed record CamTrainingOptions : TrainingOptions
{
    /// <summary>Default epochs (official: 5).</summary>
    public const int DefaultEpochs = 5;

    /// <summary>The official code's classifier W1 learns this many times faster than the backbone.</summary>
    public const double OfficialClassifierRateMultiplier = 10;

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = DefaultEpochs;

    /// <summary>Backbone learning rate; null = the backbone's own default (<see cref="BackboneSpec.CamLearningRate"/>).</summary>
    public double? LearningRate { get; init; }

    /// <summary>Classifier (W1) learning rate; null = the backbone's <see cref="BackboneSpec.CamClassifierRateMultiplier"/> × the backbone rate.</summary>
    public double? ClassifierLearningRate { get; init; }

    /// <summary>
    /// Steps over which every rate ramps up linearly (step t of the first N runs at (t + 1) / N of its poly rate); 0 is the
    /// official schedule; null = the backbone's default (<see cref="BackboneSpec.CamWarmupSteps"/>). A short warm-up keeps
    /// high rates from diverging in the first steps, where the classifier's first updates overshoot on large pooled features.
    /// </summary>
    public int? WarmupSteps { get; init; }

    /// <summary>The backbone learning rate in effect for <paramref name="backbone"/>.</summary>
    public double LearningRateFor(BackboneSpec backbone) => LearningRate ?? backbone.CamLearningRate;

    /// <summary>The classifier learning rate in effect for <paramref name="backbone"/>.</summary>
    public double ClassifierLearningRateFor(BackboneSpec backbone) => ClassifierLearningRate ?? backbone.CamClassifierRateMultiplier * LearningRateFor(backbone);

    /// <summary>The warm-up steps in effect for <paramref name="backbone"/>.</summary>
    public int WarmupStepsFor(BackboneSpec backbone) => WarmupSteps ?? backbone.CamWarmupSteps;

    /// <inheritdoc />
    public override void Validate()
    {
        if (Epochs < 1) throw new InvalidOptionException(nameof(Epochs), $"must be at least 1 (got {Epochs})");
        base.Validate();
        if (LearningRate is { } lr) CheckNonNegative(nameof(LearningRate), lr);
        if (ClassifierLearningRate is { } clr) CheckNonNegative(nameof(ClassifierLearningRate), clr);
        if (WarmupSteps is < 0) throw new InvalidOptionException(nameof(WarmupSteps), $"must be non-negative (got {WarmupSteps})");
    }

    /// <summary>The options with the learning rates resolved for <paramref name="backbone"/>, as text.</summary>
    internal Dictionary<string, string> Describe(BackboneSpec backbone)
    {
        var c = CultureInfo.InvariantCulture;
        var d = Describe();
        d["epochs"] = Epochs.ToString(c);
        d["lr"] = LearningRateFor(backbone).ToString(c);
        d["classifierLr"] = ClassifierLearningRateFor(backbone).ToString(c);
        d["polyPower"] = PolyPower.ToString(c);
        // Only when above 0, so a checkpoint written before the option existed still matches a run that resumes it.
        if (WarmupStepsFor(backbone) is > 0 and var warmup) d["warmupSteps"] = warmup.ToString(c);
        return d;
    }
}
