using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// The one normalisation of class activation maps used everywhere in ReCAM: each map divided by its own spatial maximum
/// plus 1e-5, so its peak is just below 1 and an all-zero map stays zero. The re-activation head's soft masks and the
/// extracted CAM/ReCAM maps are both this.
/// </summary>
internal static class MaxNormalization
{
    /// <summary>Added to the maximum so that all-zero maps do not divide by zero (the official value).</summary>
    public const double Epsilon = 1e-5;

    /// <summary>
    /// Divides every map of <paramref name="maps"/> (the last two dimensions are height and width: (K, h, w) or
    /// (B, C, h, w)) by its maximum over those two dimensions + <see cref="Epsilon"/>. Differentiable.
    /// </summary>
    public static Tensor Apply(Tensor maps)
    {
        long d = maps.dim();
        if (d < 2) throw new ArgumentException($"Maps need at least two (spatial) dimensions, got {d}.", nameof(maps));
        return maps / (maps.amax([d - 2, d - 1], keepdim: true) + Epsilon);
    }
}
