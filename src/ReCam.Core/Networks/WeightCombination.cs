using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>Which classifier weight ReCAM extraction uses (the official code: W1⊙W2 on VOC, W1 on COCO).</summary>
public enum WeightCombination
{
    /// <summary>W1 of the re-activated network (the official COCO setting).</summary>
    W1,

    /// <summary>W2 alone.</summary>
    W2,

    /// <summary>W1 + W2.</summary>
    Sum,

    /// <summary>W1 ⊙ W2, element-wise (the official VOC setting).</summary>
    Product,
}

/// <summary>Builds the extraction weight from W1 and W2.</summary>
public static class WeightCombinations
{
    /// <summary>The combined weight [C, D, 1, 1]; W1 and W2 must have the same shape.</summary>
    public static Tensor Combine(Tensor w1, Tensor w2, WeightCombination combination)
    {
        if (!w1.shape.SequenceEqual(w2.shape))
            throw new ArgumentException($"W1 [{string.Join(", ", w1.shape)}] and W2 [{string.Join(", ", w2.shape)}] differ in shape.");
        return combination switch
        {
            WeightCombination.W1 => w1.clone(),
            WeightCombination.W2 => w2.clone(),
            WeightCombination.Sum => w1 + w2,
            WeightCombination.Product => w1 * w2,
            _ => throw new ArgumentOutOfRangeException(nameof(combination), combination, "Unknown weight combination."),
        };
    }

    /// <summary>Parses w1, w2, sum or product (case-insensitive).</summary>
    public static WeightCombination Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "w1" => WeightCombination.W1,
        "w2" => WeightCombination.W2,
        "sum" => WeightCombination.Sum,
        "product" => WeightCombination.Product,
        _ => throw new ArgumentException($"Unknown weight combination '{text}'; use w1, w2, sum or product."),
    };
}
