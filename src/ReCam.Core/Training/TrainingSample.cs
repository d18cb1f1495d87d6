using ReCam.Imaging;

namespace ReCam.Training;

/// <summary>One training image with its image-level labels.</summary>
/// <param name="Id">Image id (file name without extension).</param>
/// <param name="ImagePath">Path of the image file (not read when <see cref="Image"/> is set).</param>
/// <param name="Labels">Multi-hot vector of length C (1 = class present).</param>
public sealed record TrainingSample(string Id, string ImagePath, float[] Labels)
{
    /// <summary>Creates a sample from an already decoded image (for callers that hold images in memory,
    /// such as the ML.NET estimators); <see cref="ImagePath"/> is then empty.</summary>
    /// <param name="id">Name used in error messages.</param>
    /// <param name="image">The decoded image.</param>
    /// <param name="labels">Multi-hot vector of length C.</param>
    public TrainingSample(string id, RgbImage image, float[] labels) : this(id, "", labels)
    {
        Image = image ?? throw new ArgumentNullException(nameof(image));
    }

    /// <summary>The decoded image when the sample was created in memory; null to decode <see cref="ImagePath"/>.</summary>
    public RgbImage? Image { get; }
}
