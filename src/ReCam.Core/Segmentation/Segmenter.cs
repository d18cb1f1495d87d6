using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Refinement;
using static TorchSharp.torch;

namespace ReCam.Segmentation;

/// <summary>A segmentation: the mask (0 background, c+1 class c) and the probabilities it is the arg-max of.</summary>
/// <param name="Mask">Label per pixel, of the image's size.</param>
/// <param name="Probabilities">(labels, H, W) row-major per plane; after the CRF when one ran.</param>
/// <param name="LabelCount">Background + C classes.</param>
public sealed record SegmentationResult(LabelMap Mask, float[] Probabilities, int LabelCount)
{
    /// <summary>Pixels per label (index 0 background).</summary>
    public long[] Areas()
    {
        var areas = new long[LabelCount];
        foreach (byte v in Mask.Values) areas[v]++;
        return areas;
    }
}

/// <summary>Runs a trained DeepLab on images: multi-scale and flipped probabilities, optional dense CRF, arg-max.</summary>
public static class Segmenter
{
    /// <summary>Segments one image.</summary>
    /// <exception cref="Training.InvalidOptionException">An option is invalid.</exception>
    public static SegmentationResult Segment(DeepLabNetwork network, RgbImage image, SegmentationOptions options, Device device)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(image);
        options.Validate();
        int labels = network.LabelCount, n = image.Width * image.Height;
        var planes = network.Probabilities(image, options.Scales, options.Flip, options.MaxInputSide, device);
        if (options.Crf is { } crf) planes = Refine(image, planes, labels, crf);
        var mask = new byte[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            float top = planes[i];
            for (int l = 1; l < labels; l++)
                if (planes[l * n + i] > top) (best, top) = (l, planes[l * n + i]);
            mask[i] = (byte)best;
        }
        return new SegmentationResult(new LabelMap(image.Width, image.Height, mask), planes, labels);
    }

    /// <summary>
    /// The reference post-processing: a dense CRF whose unary is −log p of the network's probabilities; returns the CRF's
    /// marginals in the same (labels, H, W) layout.
    /// </summary>
    public static float[] Refine(RgbImage image, float[] planes, int labelCount, DenseCrfOptions crf)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(planes);
        int n = image.Width * image.Height;
        if (planes.Length != (long)n * labelCount)
            throw new ArgumentException($"Expected {labelCount} planes of {image.Width}x{image.Height}, got {planes.Length} values.", nameof(planes));
        var unary = new float[n * labelCount];
        for (int l = 0; l < labelCount; l++)
            for (int i = 0; i < n; i++) unary[i * labelCount + l] = -MathF.Log(Math.Max(planes[l * n + i], 1e-8f));
        var q = DenseCrf.Infer(image, unary, labelCount, crf);
        var refined = new float[planes.Length];
        for (int l = 0; l < labelCount; l++)
            for (int i = 0; i < n; i++) refined[l * n + i] = q[i * labelCount + l];
        return refined;
    }
}
