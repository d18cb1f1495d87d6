using ReCam.Refinement;
using ReCam.Training;

namespace ReCam.Segmentation;

/// <summary>How a trained DeepLab segments an image: scales, flip, the longest side it sees, optional dense CRF.</summary>
public sealed record SegmentationOptions
{
    /// <summary>The multi-scale default: the image at 0.75, 1 and 1.25 of its size, each with its mirror.</summary>
    public static IReadOnlyList<double> DefaultScales { get; } = [0.75, 1.0, 1.25];

    /// <summary>Default longest side the network sees (larger images are shrunk first, bounding memory and time).</summary>
    public const int DefaultMaxInputSide = 1024;

    /// <summary>Scales the probabilities are averaged over.</summary>
    public IReadOnlyList<double> Scales { get; init; } = DefaultScales;

    /// <summary>Also run each scale on the mirrored image.</summary>
    public bool Flip { get; init; } = true;

    /// <summary>Longest side the network sees.</summary>
    public int MaxInputSide { get; init; } = DefaultMaxInputSide;

    /// <summary>Dense CRF post-processing of the probabilities; null = none (the default: it costs several times the network).</summary>
    public DenseCrfOptions? Crf { get; init; }

    /// <summary>Single scale, no flip, no CRF: the cheapest prediction.</summary>
    public static SegmentationOptions SingleScale { get; } = new() { Scales = [1.0], Flip = false };

    /// <summary>Throws <see cref="InvalidOptionException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Scales.Count == 0 || Scales.Any(s => !(s > 0 && s <= 8)))
            throw new InvalidOptionException(nameof(Scales), $"must be one or more numbers in (0, 8] (got [{string.Join(", ", Scales)}])");
        if (MaxInputSide < 32) throw new InvalidOptionException(nameof(MaxInputSide), $"must be at least 32 pixels (got {MaxInputSide})");
        Crf?.Validate();
    }
}
