using ReCam.Cam;

namespace ReCam.Evaluation;

/// <summary>
/// Turns CAM maps into a seed label map as the official <c>eval_cam</c> does: a constant background plane
/// with value <c>threshold</c> is put before the K full-resolution class planes, the arg-max plane is taken per
/// pixel (ties go to the first plane, so background wins ties with classes and the lower class wins among
/// classes), and plane i &gt; 0 becomes label <c>Keys[i-1] + 1</c>.
/// NaN map values never win (numpy's argmax would pick them; normalised maps contain none).
/// </summary>
public static class SeedPrediction
{
    /// <summary>The official VOC seed threshold of ReCAM (<c>cam_eval_thres</c>).</summary>
    public const float DefaultThreshold = 0.21f;

    /// <summary>Predicts the H*W labels (row-major) of <paramref name="maps"/> at <paramref name="threshold"/>.</summary>
    public static byte[] Predict(CamMaps maps, float threshold)
    {
        ArgumentNullException.ThrowIfNull(maps);
        var labels = new byte[maps.Height * maps.Width];
        Predict(maps, threshold, labels);
        return labels;
    }

    /// <summary>Predicts into <paramref name="destination"/> (length H*W), without allocating.</summary>
    /// <exception cref="ArgumentException">Wrong destination length, or a key above 254 (label would not fit a byte).</exception>
    public static void Predict(CamMaps maps, float threshold, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(maps);
        int pixels = maps.Height * maps.Width;
        if (destination.Length != pixels)
            throw new ArgumentException($"Destination has {destination.Length} values, expected {maps.Height}x{maps.Width}.", nameof(destination));
        int k = maps.Count;
        if (k > 254) throw new ArgumentException($"{k} class maps cannot be labelled with bytes.", nameof(maps));
        Span<byte> labelOf = stackalloc byte[k];
        for (int c = 0; c < k; c++) labelOf[c] = LabelOf(maps.Keys[c]);
        float[] planes = maps.HighRes;
        for (int i = 0; i < pixels; i++)
        {
            float best = threshold;
            byte label = 0;
            for (int c = 0, offset = i; c < k; c++, offset += pixels)
            {
                float v = planes[offset];
                if (v > best)
                {
                    best = v;
                    label = labelOf[c];
                }
            }
            destination[i] = label;
        }
    }

    /// <summary>The seed label of 0-based class <paramref name="key"/>: key + 1 (0 is background).</summary>
    internal static byte LabelOf(long key) =>
        key is >= 0 and < 254 ? (byte)(key + 1) : throw new ArgumentException($"Class key {key} does not fit a byte label (must be 0..253).");
}
