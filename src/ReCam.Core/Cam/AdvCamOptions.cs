using ReCam.Training;

namespace ReCam.Cam;

/// <summary>
/// AdvCAM's adversarial climbing (Lee et al., CVPR 2021), with the official settings as defaults: per scale and per present
/// class, the image is pushed for <see cref="Iterations"/> steps of size <see cref="StepSize"/> along the normalised gradient of
/// the class's score minus every other class's score, minus <see cref="MaskCoefficient"/> × the change of the map inside the
/// region where the first map exceeds <see cref="MaskThreshold"/> of its maximum; the class's map is the sum of its maps over
/// the steps. The 0.5 scale runs half the iterations, as the official code.
/// </summary>
public sealed record AdvCamOptions
{
    /// <summary>The official number of climbing steps per scale and class.</summary>
    public const int DefaultIterations = 27;

    /// <summary>Climbing steps per scale and class (scale 0.5: half, rounded down, at least 1).</summary>
    public int Iterations { get; init; } = DefaultIterations;

    /// <summary>Step size ξ, applied to the gradient divided by its largest magnitude.</summary>
    public double StepSize { get; init; } = 0.08;

    /// <summary>λ, the weight of the mask-restriction term that keeps the already-strong region from growing.</summary>
    public double MaskCoefficient { get; init; } = 7;

    /// <summary>τ: the restricted region is where the current map exceeds this fraction of its maximum.</summary>
    public double MaskThreshold { get; init; } = 0.5;

    /// <summary>The climbing steps at a nominal scale.</summary>
    public int IterationsAt(double scale) => scale == 0.5 ? Math.Max(1, Iterations / 2) : Iterations;

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Iterations is < 1 or > 1000) throw new InvalidOptionException(nameof(Iterations), $"must be between 1 and 1000 (got {Iterations})");
        if (!(StepSize >= 0 && StepSize <= 10)) throw new InvalidOptionException(nameof(StepSize), $"must be between 0 and 10 (got {StepSize})");
        if (!(MaskCoefficient >= 0 && MaskCoefficient <= 1000))
            throw new InvalidOptionException(nameof(MaskCoefficient), $"must be between 0 and 1000 (got {MaskCoefficient})");
        if (!(MaskThreshold is >= 0 and <= 1)) throw new InvalidOptionException(nameof(MaskThreshold), $"must be between 0 and 1 (got {MaskThreshold})");
    }
}
