using ReCam.Imaging;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>One boundary-network training image with its IR label (0 background, c+1 class c, 255 unsure).</summary>
/// <param name="Id">Image id, for messages.</param>
/// <param name="ImagePath">The image file (not read when <see cref="Image"/> is set).</param>
/// <param name="IrLabelPath">The IR label PNG (not read when <see cref="IrLabel"/> is set).</param>
public sealed record BoundarySample(string Id, string ImagePath, string IrLabelPath)
{
    /// <summary>Creates a sample held in memory (the ML.NET mask refiner derives IR labels in memory at fit).</summary>
    /// <param name="id">Name used in error messages.</param>
    /// <param name="image">The decoded image.</param>
    /// <param name="irLabel">Its IR label, of the image's size.</param>
    public BoundarySample(string id, RgbImage image, LabelMap irLabel) : this(id, "", "")
    {
        Image = image ?? throw new ArgumentNullException(nameof(image));
        IrLabel = irLabel ?? throw new ArgumentNullException(nameof(irLabel));
    }

    /// <summary>The decoded image of an in-memory sample; null to decode <see cref="ImagePath"/>.</summary>
    public RgbImage? Image { get; }

    /// <summary>The IR label of an in-memory sample; null to read <see cref="IrLabelPath"/>.</summary>
    public LabelMap? IrLabel { get; }
}

/// <summary>
/// The official IRN training sample: random scale in [min, max) (image bicubic, label nearest), normalisation, a joint
/// horizontal flip, a joint random crop (image fill 0, label fill 255), and the label reduced to the stride-4 grid by
/// nearest sampling (cell centres). Target = the reduced label, (Crop/4, Crop/4).
/// </summary>
internal sealed class BoundarySamples : ISampleSource
{
    private readonly IReadOnlyList<BoundarySample> _samples;
    private readonly double _scaleMin, _scaleMax;
    private readonly InputNormalization _normalization;
    private readonly ImageCache _images = new();

    public BoundarySamples(IReadOnlyList<BoundarySample> samples, int crop, double scaleMin, double scaleMax, InputNormalization normalization)
    {
        if (crop % 4 != 0) throw new InvalidOptionException(nameof(TrainingOptions.Crop), $"must be a multiple of 4 for the boundary network (got {crop})");
        (_samples, Crop, _scaleMin, _scaleMax, _normalization) = (samples, crop, scaleMin, scaleMax, normalization);
        TargetShape = [crop / 4, crop / 4];
    }

    public int Count => _samples.Count;

    public int Crop { get; }

    public long[] TargetShape { get; }

    public void Write(int index, Random random, Span<float> image, Span<float> target)
    {
        var sample = _samples[index];
        var rgb = sample.Image ?? _images.Get(sample.ImagePath);
        var label = sample.IrLabel ?? Label(sample);
        if (label.Width != rgb.Width || label.Height != rgb.Height)
            throw new InvalidDataException($"IR label '{(sample.IrLabel is null ? sample.IrLabelPath : sample.Id)}' is {label.Width}x{label.Height} but image '{(sample.Image is null ? sample.ImagePath : sample.Id)}' is {rgb.Width}x{rgb.Height}.");

        double scale = _scaleMin + random.NextDouble() * (_scaleMax - _scaleMin);
        bool flip = random.NextDouble() < 0.5;
        var cropLabel = JointCrop.Write(rgb, label, scale, flip, Crop, random, _normalization, image);
        var reduced = PilResize.Nearest(new LabelMap(Crop, Crop, cropLabel), Crop / 4, Crop / 4);
        for (int i = 0; i < reduced.Values.Length; i++) target[i] = reduced.Values[i];
    }

    // Read on every draw: decoding a label PNG is cheap beside a training step, and a cache would grow with the data set.
    private static LabelMap Label(BoundarySample sample) => PngLabelReader.Read(sample.IrLabelPath);
}
