using ReCam.Imaging;

namespace ReCam.Training;

/// <summary>
/// One training image with a label per pixel: an IR label for the boundary network (0 background, c+1 class c, 255 unsure)
/// or a mask for DeepLab (0 background, c+1 class c, 255 ignored). Either both files are named, or both are held in memory.
/// </summary>
/// <param name="Id">Image id, for messages.</param>
/// <param name="ImagePath">The image file (not read when <see cref="Image"/> is set).</param>
/// <param name="LabelPath">The label PNG (not read when <see cref="Labels"/> is set).</param>
public sealed record LabelledImage(string Id, string ImagePath, string LabelPath)
{
    /// <summary>Creates a sample held in memory (the ML.NET components derive IR labels and pseudo masks in memory at fit).</summary>
    /// <param name="id">Name used in error messages.</param>
    /// <param name="image">The decoded image.</param>
    /// <param name="labels">Its labels, of the image's size.</param>
    public LabelledImage(string id, RgbImage image, LabelMap labels) : this(id, "", "")
    {
        Image = image ?? throw new ArgumentNullException(nameof(image));
        Labels = labels ?? throw new ArgumentNullException(nameof(labels));
    }

    /// <summary>The decoded image of an in-memory sample; null to decode <see cref="ImagePath"/>.</summary>
    public RgbImage? Image { get; }

    /// <summary>The labels of an in-memory sample; null to read <see cref="LabelPath"/>.</summary>
    public LabelMap? Labels { get; }

    /// <summary>Where the labels come from, for messages.</summary>
    internal string LabelName => Labels is null ? LabelPath : $"labels of {Id}";

    /// <summary>Where the image comes from, for messages.</summary>
    internal string ImageName => Image is null ? ImagePath : $"image {Id}";

    // Read on every draw: decoding a label PNG is cheap beside a training step, and a cache would grow with the data set.
    internal LabelMap ReadLabels() => Labels ?? PngLabelReader.Read(LabelPath);
}
