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
    /// <summary>Largest accepted W2 gain.</summary>
    public const double MaxW2Gain = 100;

    /// <summary>
    /// The combined weight [C, D, 1, 1]; W1 and W2 must have the same shape. <paramref name="w2Gain"/> scales what the
    /// softmax cross-entropy taught W2 before combining: W2 is replaced by m + g·(W2 − m), m being W2's mean over the classes
    /// (per channel). Softmax is unchanged when the same vector is added to every class's row, so its gradient leaves m where
    /// W2 started (weight decay only shrinks it) and all that training learnt is W2 − m; g = 1 is W2 itself (the official code).
    /// </summary>
    public static Tensor Combine(Tensor w1, Tensor w2, WeightCombination combination, double w2Gain = 1.0)
    {
        if (!w1.shape.SequenceEqual(w2.shape))
            throw new ArgumentException($"W1 [{string.Join(", ", w1.shape)}] and W2 [{string.Join(", ", w2.shape)}] differ in shape.");
        CheckW2Gain(w2Gain);
        if (combination == WeightCombination.W1) return w1.clone();
        using var scope = NewDisposeScope();
        var head = w2;
        if (w2Gain != 1.0)
        {
            var mean = w2.mean([0], keepdim: true);
            head = mean + w2Gain * (w2 - mean);
        }
        var combined = combination switch
        {
            WeightCombination.W2 => head.clone(),
            WeightCombination.Sum => w1 + head,
            WeightCombination.Product => w1 * head,
            _ => throw new ArgumentOutOfRangeException(nameof(combination), combination, "Unknown weight combination."),
        };
        return combined.MoveToOuterDisposeScope();
    }

    /// <summary>Throws <see cref="Training.InvalidOptionException"/> unless <paramref name="w2Gain"/> is between 0 and <see cref="MaxW2Gain"/>.</summary>
    public static void CheckW2Gain(double w2Gain)
    {
        if (!(w2Gain is >= 0 and <= MaxW2Gain))
            throw new Training.InvalidOptionException("W2Gain", $"must be between 0 and {MaxW2Gain} (got {w2Gain})");
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
