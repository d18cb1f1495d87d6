using ReCam.Training;

namespace ReCam.Refinement;

/// <summary>
/// Parameters of the fully connected CRF that sharpens confident seeds along image edges. The defaults are the
/// official <c>crf_inference_label</c>'s (pydensecrf): a unary from hard labels that trusts them with probability
/// 0.7, a smoothness kernel (Gaussian over position, sxy 3, weight 3), an appearance kernel (bilateral over position
/// and colour, sxy 50, srgb 5, weight 10), and 10 mean-field iterations.
/// </summary>
public sealed record DenseCrfOptions
{
    /// <summary>Probability the unary gives a pixel's own label (the rest is shared by the others); in (0, 1).</summary>
    public double LabelConfidence { get; init; } = 0.7;

    /// <summary>Standard deviation in pixels of the smoothness kernel.</summary>
    public double GaussianSxy { get; init; } = 3;

    /// <summary>Potts weight of the smoothness kernel.</summary>
    public double GaussianWeight { get; init; } = 3;

    /// <summary>Standard deviation in pixels of the appearance kernel's position term.</summary>
    public double BilateralSxy { get; init; } = 50;

    /// <summary>Standard deviation in 8-bit intensity levels of the appearance kernel's colour term.</summary>
    public double BilateralSrgb { get; init; } = 5;

    /// <summary>Potts weight of the appearance kernel.</summary>
    public double BilateralWeight { get; init; } = 10;

    /// <summary>Mean-field iterations.</summary>
    public int Iterations { get; init; } = 10;

    /// <summary>
    /// The segmentation network's post-processing (kazuto1011/deeplab-pytorch's VOC config, used by the paper's final
    /// numbers): smoothness kernel sxy 1, weight 3; appearance kernel sxy 67, srgb 3, weight 4; 10 iterations; the unary
    /// comes from the network's probabilities, so <see cref="LabelConfidence"/> is unused.
    /// </summary>
    public static DenseCrfOptions DeepLabPostProcessing { get; } = new()
    {
        GaussianSxy = 1, GaussianWeight = 3, BilateralSxy = 67, BilateralSrgb = 3, BilateralWeight = 4, Iterations = 10,
    };

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first value out of range.</summary>
    public void Validate()
    {
        if (!(LabelConfidence > 0 && LabelConfidence < 1))
            throw new InvalidOptionException(nameof(LabelConfidence), $"must be in (0, 1) (got {LabelConfidence})");
        foreach (var (name, value) in new[] { (nameof(GaussianSxy), GaussianSxy), (nameof(BilateralSxy), BilateralSxy), (nameof(BilateralSrgb), BilateralSrgb) })
            if (!(value > 0) || double.IsInfinity(value))
                throw new InvalidOptionException(name, $"must be a positive number (got {value})");
        foreach (var (name, value) in new[] { (nameof(GaussianWeight), GaussianWeight), (nameof(BilateralWeight), BilateralWeight) })
            if (!(value >= 0) || double.IsInfinity(value))
                throw new InvalidOptionException(name, $"must be zero or positive (got {value})");
        if (Iterations < 0)
            throw new InvalidOptionException(nameof(Iterations), $"must be zero or positive (got {Iterations})");
    }
}
