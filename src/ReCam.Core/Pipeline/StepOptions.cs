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

    /// <summary>make-recam: how far W2's learnt part is scaled (see <see cref="WeightCombinations.Combine"/>); make-advcam climbs W2 as trained.</summary>
    public double W2Gain { get; init; } = ReCamTrainingOptions.DefaultW2Gain;

    /// <summary>make-recam: which classifier decides each foreground pixel's class.</summary>
    public PixelClassSource PixelClass { get; init; } = ReCamTrainingOptions.DefaultPixelClass;

    /// <summary>The scales in effect.</summary>
    public IReadOnlyList<double> EffectiveScales => Scales ?? CamExtractor.DefaultScales;

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        CamExtractor.CheckScales(EffectiveScales);
        CamExtractor.CheckMaxInputSide(MaxInputSide);
        if (!Enum.IsDefined(Combination)) throw new InvalidOptionException(nameof(Combination), $"has the unknown value {(int)Combination}");
        WeightCombinations.CheckW2Gain(W2Gain);
        PixelClassSources.Check(PixelClass);
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

/// <summary>Which seed maps a refinement step reads.</summary>
public enum MapsSource
{
    /// <summary>The ReCAMs when they exist, else the CAMs.</summary>
    Auto,

    /// <summary>CAMs (<c>cams/</c>).</summary>
    Cam,

    /// <summary>ReCAMs (<c>cams-recam/</c>).</summary>
    ReCam,

    /// <summary>AdvCAMs (<c>cams-advcam/</c>).</summary>
    AdvCam,
}

/// <summary>Options of cam-to-ir-label.</summary>
public sealed record IrLabelOptions
{
    /// <summary>
    /// Confident thresholds as multiples of the maps' automatic background threshold (<c>threshold.json</c>): the
    /// official 0.35 and 0.10 sit at these multiples of the 0.21 their VOC maps were evaluated at, so maps that peak
    /// elsewhere keep the same relation.
    /// </summary>
    public const double ForegroundMultiple = 0.35 / 0.21, BackgroundMultiple = 0.10 / 0.21;

    /// <summary>The seed maps to refine.</summary>
    public MapsSource Maps { get; init; } = MapsSource.Auto;

    /// <summary>Confident-foreground threshold; null = <see cref="ForegroundMultiple"/> × the maps' automatic threshold.</summary>
    public double? ForegroundThreshold { get; init; }

    /// <summary>Confident-background threshold; null = <see cref="BackgroundMultiple"/> × the maps' automatic threshold.</summary>
    public double? BackgroundThreshold { get; init; }

    /// <summary>The dense CRF's parameters.</summary>
    public Refinement.DenseCrfOptions Crf { get; init; } = new();

    /// <summary>The official settings: thresholds 0.35 and 0.10 whatever the maps.</summary>
    public static IrLabelOptions Official { get; } = new()
    {
        ForegroundThreshold = Refinement.IrLabel.OfficialForegroundThreshold, BackgroundThreshold = Refinement.IrLabel.OfficialBackgroundThreshold,
    };

    /// <summary>The thresholds in effect for maps whose automatic threshold is <paramref name="automatic"/>.</summary>
    public (double Foreground, double Background) ThresholdsFor(double automatic) =>
        (ForegroundThreshold ?? Math.Min(1, ForegroundMultiple * automatic), BackgroundThreshold ?? Math.Min(1, BackgroundMultiple * automatic));

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Maps)) throw new InvalidOptionException(nameof(Maps), $"has the unknown value {(int)Maps}");
        foreach (var (name, value) in new[] { (nameof(ForegroundThreshold), ForegroundThreshold), (nameof(BackgroundThreshold), BackgroundThreshold) })
            if (value is { } v && !(v is >= 0 and <= 1)) throw new InvalidOptionException(name, $"must be between 0 and 1 (got {v})");
        if (ForegroundThreshold is { } fg && BackgroundThreshold is { } bg && bg > fg)
            throw new InvalidOptionException(nameof(BackgroundThreshold), $"must not exceed the foreground threshold {fg} (got {bg})");
        Crf.Validate();
    }
}

/// <summary>Options of make-sem-seg (random walk from the boundary map to pseudo masks).</summary>
public sealed record SemSegOptions
{
    /// <summary>The seed maps to propagate.</summary>
    public MapsSource Maps { get; init; } = MapsSource.Auto;

    /// <summary>
    /// Background plane after the walk, relative to the image's largest walked value; null = the maps' automatic threshold
    /// (<c>threshold.json</c>): on three generated scene sets 4.6 to 6.8 points above the official plane and 0 to 3 below the
    /// best one swept with the masks (README, "Refinement");
    /// the official value is <see cref="Refinement.PseudoMask.OfficialBackgroundThreshold"/> (0.28).
    /// </summary>
    public float? SemSegThreshold { get; init; }

    /// <summary>Affinity exponent β.</summary>
    public double Beta { get; init; } = Refinement.RandomWalk.DefaultBeta;

    /// <summary>Neighbourhood radius of the walk, in stride-4 cells.</summary>
    public int Radius { get; init; } = Refinement.RandomWalk.DefaultRadius;

    /// <summary>Random-walk steps (official 256).</summary>
    public int Steps { get; init; } = Refinement.RandomWalk.DefaultSteps;

    /// <summary>Power applied to the maps before the walk; null = 1.5 for AdvCAMs (the official hook), else 1.</summary>
    public double? MapsExponent { get; init; }

    /// <summary>
    /// Pixels whose winning score (after the walk, relative to the image's largest value, the background plane included)
    /// leads the runner-up by less than this are written as 255 (ignored by train-deeplab, left out by eval-sem-seg);
    /// 0, the official behaviour, labels every pixel.
    /// </summary>
    public float UncertainMargin { get; init; } = DefaultUncertainMargin;

    /// <summary>The default of <see cref="UncertainMargin"/>.</summary>
    public const float DefaultUncertainMargin = 0;

    /// <summary>
    /// Whether each mask is snapped to the image's edges by the IR labels' dense CRF after the walk
    /// (<see cref="Refinement.PseudoMask.RefineWithCrf"/>); our extension, the official masks have none (false reproduces them).
    /// </summary>
    /// <remarks>
    /// On by default: on six sets of seed maps (three scene compositions, 100 to 600 images of 128 or 160 px, CAM, ReCAM and
    /// AdvCAM maps) it raised the pseudo masks' mIoU by 2.0 to 4.1 points, for about 0.07 s per 160-px image; a DeepLab trained on
    /// them scored the same within the training seeds' spread (README, "Refinement").
    /// </remarks>
    public bool Crf { get; init; } = DefaultCrf;

    /// <summary>The default of <see cref="Crf"/>.</summary>
    public const bool DefaultCrf = true;

    /// <summary>The exponent in effect for <paramref name="source"/>.</summary>
    public double ExponentFor(MapsSource source) => MapsExponent ?? (source == MapsSource.AdvCam ? 1.5 : 1.0);

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Maps)) throw new InvalidOptionException(nameof(Maps), $"has the unknown value {(int)Maps}");
        if (SemSegThreshold is { } t && !(t is >= 0 and <= 1)) throw new InvalidOptionException(nameof(SemSegThreshold), $"must be between 0 and 1 (got {t})");
        if (!(Beta > 0) || double.IsInfinity(Beta)) throw new InvalidOptionException(nameof(Beta), $"must be a positive number (got {Beta})");
        if (Radius is < 2 or > 32) throw new InvalidOptionException(nameof(Radius), $"must be between 2 and 32 (got {Radius})");
        if (Steps is < 0 or > 100_000) throw new InvalidOptionException(nameof(Steps), $"must be between 0 and 100000 (got {Steps})");
        if (MapsExponent is { } e && !(e > 0 && e <= 10)) throw new InvalidOptionException(nameof(MapsExponent), $"must be in (0, 10] (got {e})");
        if (!(UncertainMargin is >= 0 and < 1)) throw new InvalidOptionException(nameof(UncertainMargin), $"must be at least 0 and below 1 (got {UncertainMargin})");
    }
}
