using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Networks;
using ReCam.Training;

namespace ReCam.Pipeline;

/// <summary>Options of make-cam and make-recam.</summary>
public sealed record ExtractionOptions
{
    /// <summary>Extraction scales, each with its horizontal flip; null = <see cref="CamExtractor.DefaultScales"/>.</summary>
    public IReadOnlyList<double>? Scales { get; init; }

    /// <summary>Longest side of any image the backbone sees; larger images are processed at reduced scales (see <see cref="CamExtractor"/>).</summary>
    public int MaxInputSide { get; init; } = CamExtractor.DefaultMaxInputSide;

    /// <summary>make-recam: the classifier weight of the maps.</summary>
    public WeightCombination Combination { get; init; } = ReCamTrainingOptions.DefaultCombination;

    /// <summary>The scales in effect.</summary>
    public IReadOnlyList<double> EffectiveScales => Scales ?? CamExtractor.DefaultScales;

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        CamExtractor.CheckScales(EffectiveScales);
        CamExtractor.CheckMaxInputSide(MaxInputSide);
        if (!Enum.IsDefined(Combination)) throw new InvalidOptionException(nameof(Combination), $"has the unknown value {(int)Combination}");
    }
}

/// <summary>Options of eval-cam and eval-recam.</summary>
public sealed record EvaluationOptions
{
    /// <summary>The official VOC seed threshold of ReCAM (<see cref="SeedPrediction.DefaultThreshold"/>).</summary>
    public const float DefaultThreshold = SeedPrediction.DefaultThreshold;

    /// <summary>The background threshold reported beside the sweep's best.</summary>
    public float Threshold { get; init; } = DefaultThreshold;

    /// <summary>Throws <see cref="InvalidOptionException"/> unless the threshold is in [0, 1].</summary>
    public void Validate()
    {
        if (!(Threshold is >= 0 and <= 1)) throw new InvalidOptionException(nameof(Threshold), $"must be between 0 and 1 (got {Threshold})");
    }
}
