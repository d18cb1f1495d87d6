namespace ReCam.Training;

/// <summary>
/// What train-cam and train-recam share: the batches (size, crop, random resize), the optimiser's regularisation and
/// schedule, and the seed. Defaults are the official ReCAM VOC settings except where a derived type says otherwise.
/// Every default and every rule lives here and in the derived types; the command line and the ML.NET estimators map
/// their options onto these types.
/// </summary>
public abstract record TrainingOptions
{
    /// <summary>Default images per step (official: 16).</summary>
    public const int DefaultBatchSize = 16;

    /// <summary>Default square training crop (official: 512; set it to about the image size for small images).</summary>
    public const int DefaultCrop = 512;

    /// <summary>Default L2 weight decay of every parameter group (official: 1e-4).</summary>
    public const double DefaultWeightDecay = 1e-4;

    /// <summary>
    /// Default SGD momentum. The official PolyOptimizer passes the weight decay into SGD's momentum slot, so the momentum
    /// it really uses is 1e-4 (practically plain SGD); that quirk is the faithful default.
    /// </summary>
    public const double DefaultMomentum = 1e-4;

    /// <summary>Default power of the poly schedule (official: 0.9).</summary>
    public const double DefaultPolyPower = 0.9;

    /// <summary>The official ratios of the random resize range to the crop: 320..640 for crop 512.</summary>
    public const double ResizeLongMinRatio = 0.625, ResizeLongMaxRatio = 1.25;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = DefaultBatchSize;

    /// <summary>Square training crop in pixels.</summary>
    public int Crop { get; init; } = DefaultCrop;

    /// <summary>Smallest long side of the random resize before cropping; null = <see cref="ResizeLongMinRatio"/> × <see cref="Crop"/>.</summary>
    public int? ResizeLongMin { get; init; }

    /// <summary>Largest long side of the random resize before cropping; null = <see cref="ResizeLongMaxRatio"/> × <see cref="Crop"/>.</summary>
    public int? ResizeLongMax { get; init; }

    /// <summary>L2 weight decay of every parameter group.</summary>
    public double WeightDecay { get; init; } = DefaultWeightDecay;

    /// <summary>SGD momentum (see <see cref="DefaultMomentum"/>).</summary>
    public double Momentum { get; init; } = DefaultMomentum;

    /// <summary>Power of the poly schedule.</summary>
    public double PolyPower { get; init; } = DefaultPolyPower;

    /// <summary>Random seed (initialisation, shuffling, augmentation).</summary>
    public int Seed { get; init; }

    /// <summary>The random resize range in effect (each missing bound from the crop by the official ratio, half to even).</summary>
    public (int Min, int Max) EffectiveResizeLong =>
        (ResizeLongMin ?? (int)Math.Round(Crop * ResizeLongMinRatio, MidpointRounding.ToEven),
         ResizeLongMax ?? (int)Math.Round(Crop * ResizeLongMaxRatio, MidpointRounding.ToEven));

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first invalid option.</summary>
    public virtual void Validate()
    {
        if (BatchSize < 1) throw new InvalidOptionException(nameof(BatchSize), $"must be at least 1 (got {BatchSize})");
        if (Crop is < 16 or > 8192) throw new InvalidOptionException(nameof(Crop), $"must be between 16 and 8192 pixels (got {Crop})");
        var (min, max) = EffectiveResizeLong;
        if (min < 1 || max < min) throw new InvalidOptionException(nameof(ResizeLongMin), $"and {nameof(ResizeLongMax)} give the invalid resize range {min}..{max}");
        CheckNonNegative(nameof(WeightDecay), WeightDecay);
        CheckNonNegative(nameof(Momentum), Momentum);
        if (!(PolyPower >= 0)) throw new InvalidOptionException(nameof(PolyPower), $"must be non-negative (got {PolyPower})");
    }

    /// <summary>Throws unless <paramref name="value"/> is a finite number &gt;= 0.</summary>
    protected static void CheckNonNegative(string name, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new InvalidOptionException(name, $"must be a non-negative number (got {value})");
    }

    /// <summary>The options as text, for a checkpoint's record (and for matching a run to resume).</summary>
    internal virtual Dictionary<string, string> Describe()
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var (min, max) = EffectiveResizeLong;
        return new Dictionary<string, string>
        {
            ["batch"] = BatchSize.ToString(c), ["crop"] = Crop.ToString(c), ["resizeLong"] = $"{min},{max}",
            ["weightDecay"] = WeightDecay.ToString(c), ["momentum"] = Momentum.ToString(c), ["seed"] = Seed.ToString(c),
        };
    }
}
