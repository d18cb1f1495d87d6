using ReCam.Imaging;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// The reference segmentation augmentation (kazuto1011/deeplab-pytorch): a scale drawn from a set, a joint mirror with
/// probability ½, a random crop (image padded with the mean, mask with 255). Target = the crop's labels, (Crop, Crop).
/// </summary>
internal sealed class SegmentationSamples : ISampleSource
{
    private readonly IReadOnlyList<LabelledImage> _samples;
    private readonly IReadOnlyList<double> _scales;
    private readonly int _labelCount;
    private readonly InputNormalization _normalization;
    private readonly ImageCache _images = new();

    public SegmentationSamples(IReadOnlyList<LabelledImage> samples, int crop, IReadOnlyList<double> scales, int labelCount, InputNormalization normalization)
    {
        (_samples, Crop, _scales, _labelCount, _normalization) = (samples, crop, scales, labelCount, normalization);
        TargetShape = [crop, crop];
    }

    public int Count => _samples.Count;

    public int Crop { get; }

    public long[] TargetShape { get; }

    public void Write(int index, Random random, Span<float> image, Span<float> target)
    {
        var sample = _samples[index];
        var rgb = sample.Image ?? _images.Get(sample.ImagePath);
        var mask = sample.ReadLabels();
        CheckMask(sample, mask, rgb.Width, rgb.Height, _labelCount);
        double scale = _scales[random.Next(_scales.Count)];
        bool flip = random.NextDouble() < 0.5;
        var labels = JointCrop.Write(rgb, mask, scale, flip, Crop, random, _normalization, image);
        for (int i = 0; i < labels.Length; i++) target[i] = labels[i];
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming the mask unless it has the image's size and only labels below <paramref name="labelCount"/> or 255.</summary>
    internal static void CheckMask(LabelledImage sample, LabelMap mask, int width, int height, int labelCount)
    {
        if (mask.Width != width || mask.Height != height)
            throw new InvalidDataException($"Mask '{sample.LabelName}' is {mask.Width}x{mask.Height} but image '{sample.ImageName}' is {width}x{height}.");
        foreach (byte v in mask.Values)
            if (v >= labelCount && v != 255)
                throw new InvalidDataException(
                    $"Mask '{sample.LabelName}' has the value {v}, but there are {labelCount - 1} classes (values 0 to {labelCount - 1}, 255 = ignore).");
    }
}
