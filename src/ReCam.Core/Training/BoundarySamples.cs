using ReCam.Imaging;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// The official IRN training sample: random scale in [min, max) (image bicubic, label nearest), normalisation, a joint
/// horizontal flip, a joint random crop (image fill 0, label fill 255), and the label reduced to the stride-4 grid by
/// nearest sampling (cell centres). Target = the reduced label, (Crop/4, Crop/4).
/// </summary>
internal sealed class BoundarySamples : ISampleSource
{
    private readonly IReadOnlyList<LabelledImage> _samples;
    private readonly double _scaleMin, _scaleMax;
    private readonly InputNormalization _normalization;
    private readonly ImageCache _images = new();

    public BoundarySamples(IReadOnlyList<LabelledImage> samples, int crop, double scaleMin, double scaleMax, InputNormalization normalization)
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
        var label = sample.ReadLabels();
        if (label.Width != rgb.Width || label.Height != rgb.Height)
            throw new InvalidDataException($"IR label '{sample.LabelName}' is {label.Width}x{label.Height} but image '{sample.ImageName}' is {rgb.Width}x{rgb.Height}.");

        double scale = _scaleMin + random.NextDouble() * (_scaleMax - _scaleMin);
        bool flip = random.NextDouble() < 0.5;
        var cropLabel = JointCrop.Write(rgb, label, scale, flip, Crop, random, _normalization, image);
        var reduced = PilResize.Nearest(new LabelMap(Crop, Crop, cropLabel), Crop / 4, Crop / 4);
        for (int i = 0; i < reduced.Values.Length; i++) target[i] = reduced.Values[i];
    }
}
