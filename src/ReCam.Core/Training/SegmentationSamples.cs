using ReCam.Imaging;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>One segmentation training image with its mask (0 background, c+1 class c, 255 ignored).</summary>
/// <param name="Id">Image id, for messages.</param>
/// <param name="ImagePath">The image file (not read when <see cref="Image"/> is set).</param>
/// <param name="MaskPath">The mask PNG (not read when <see cref="Mask"/> is set).</param>
public sealed record SegmentationSample(string Id, string ImagePath, string MaskPath)
{
    /// <summary>Creates a sample held in memory.</summary>
    /// <param name="id">Name used in error messages.</param>
    /// <param name="image">The decoded image.</param>
    /// <param name="mask">Its mask, of the image's size.</param>
    public SegmentationSample(string id, RgbImage image, LabelMap mask) : this(id, "", "")
    {
        Image = image ?? throw new ArgumentNullException(nameof(image));
        Mask = mask ?? throw new ArgumentNullException(nameof(mask));
    }

    /// <summary>The decoded image of an in-memory sample; null to decode <see cref="ImagePath"/>.</summary>
    public RgbImage? Image { get; }

    /// <summary>The mask of an in-memory sample; null to read <see cref="MaskPath"/>.</summary>
    public LabelMap? Mask { get; }

    /// <summary>Where the mask comes from, for messages.</summary>
    internal string MaskName => Mask is null ? MaskPath : $"mask of {Id}";

    /// <summary>Where the image comes from, for messages.</summary>
    internal string ImageName => Image is null ? ImagePath : $"image {Id}";
}

/// <summary>
/// The reference segmentation augmentation (kazuto1011/deeplab-pytorch): a scale drawn from a set, a joint mirror with
/// probability ½, a random crop (image padded with the mean, mask with 255). Target = the crop's labels, (Crop, Crop).
/// </summary>
internal sealed class SegmentationSamples : ISampleSource
{
    private readonly IReadOnlyList<SegmentationSample> _samples;
    private readonly IReadOnlyList<double> _scales;
    private readonly int _labelCount;
    private readonly InputNormalization _normalization;
    private readonly ImageCache _images = new();

    public SegmentationSamples(IReadOnlyList<SegmentationSample> samples, int crop, IReadOnlyList<double> scales, int labelCount, InputNormalization normalization)
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
        var mask = sample.Mask ?? PngLabelReader.Read(sample.MaskPath);
        CheckMask(sample, mask, rgb.Width, rgb.Height, _labelCount);
        double scale = _scales[random.Next(_scales.Count)];
        bool flip = random.NextDouble() < 0.5;
        var labels = JointCrop.Write(rgb, mask, scale, flip, Crop, random, _normalization, image);
        for (int i = 0; i < labels.Length; i++) target[i] = labels[i];
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming the mask unless it has the image's size and only labels below <paramref name="labelCount"/> or 255.</summary>
    internal static void CheckMask(SegmentationSample sample, LabelMap mask, int width, int height, int labelCount)
    {
        if (mask.Width != width || mask.Height != height)
            throw new InvalidDataException($"Mask '{sample.MaskName}' is {mask.Width}x{mask.Height} but image '{sample.ImageName}' is {width}x{height}.");
        foreach (byte v in mask.Values)
            if (v >= labelCount && v != 255)
                throw new InvalidDataException(
                    $"Mask '{sample.MaskName}' has the value {v}, but there are {labelCount - 1} classes (values 0 to {labelCount - 1}, 255 = ignore).");
    }
}
