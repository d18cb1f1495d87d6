using ReCam.Imaging;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// The official classification training augmentation (train_cam / train_recam), in its order:
/// random long-side resize (PIL bicubic) to a length drawn uniformly from [min, max] inclusive,
/// normalisation, horizontal flip with probability 0.5, random crop to <c>crop</c>×<c>crop</c> with
/// fill 0 (the mean colour after normalisation): larger sides get a random window, smaller sides are
/// placed at a random offset in the zero container.
/// </summary>
/// <param name="Crop">Square crop size.</param>
/// <param name="ResizeLongMin">Smallest long side of the random resize (320 for crop 512).</param>
/// <param name="ResizeLongMax">Largest long side of the random resize (640 for crop 512).</param>
/// <param name="Normalization">The backbone's input convention.</param>
internal sealed record ClassificationAugmentation(int Crop, int ResizeLongMin, int ResizeLongMax, InputNormalization Normalization)
{
    /// <summary>The augmentation <paramref name="options"/> describe for a network with input convention <paramref name="normalization"/>.</summary>
    public static ClassificationAugmentation For(TrainingOptions options, InputNormalization normalization)
    {
        var (min, max) = options.EffectiveResizeLong;
        return new ClassificationAugmentation(options.Crop, min, max, normalization);
    }

    /// <summary>Writes one augmented sample (3, Crop, Crop) into <paramref name="destination"/> (CHW).</summary>
    public void Apply(RgbImage image, Random random, Span<float> destination)
    {
        int plane = Crop * Crop;
        if (destination.Length < 3 * plane) throw new ArgumentException("Destination too small.", nameof(destination));

        int target = random.Next(ResizeLongMin, ResizeLongMax + 1);
        double scale = image.Width < image.Height ? (double)target / image.Height : (double)target / image.Width;
        var (w, h) = PilResize.ScaledSize(image.Width, image.Height, scale);
        var resized = w == image.Width && h == image.Height ? image : PilResize.Bicubic(image, w, h);

        var chw = new float[3 * w * h];
        Normalization.ToChw(resized.Pixels, w * h, chw);
        bool flip = random.NextDouble() < 0.5;

        var (contTop, imgTop, ch) = CropAxis(h, random);
        var (contLeft, imgLeft, cw) = CropAxis(w, random);
        destination[..(3 * plane)].Clear();
        for (int c = 0; c < 3; c++)
        {
            for (int y = 0; y < ch; y++)
            {
                int srcRow = c * w * h + (imgTop + y) * w;
                int dstRow = c * plane + (contTop + y) * Crop + contLeft;
                for (int x = 0; x < cw; x++)
                {
                    int sx = imgLeft + x;
                    if (flip) sx = w - 1 - sx;
                    destination[dstRow + x] = chw[srcRow + sx];
                }
            }
        }
    }

    // One axis of the official get_random_crop_box: a random window if the side is larger than the
    // crop, else a random placement of the whole side inside the zero-filled container.
    private (int ContainerOffset, int ImageOffset, int Length) CropAxis(int size, Random random)
    {
        int space = size - Crop;
        int length = Math.Min(Crop, size);
        return space > 0 ? (0, random.Next(space + 1), length) : (random.Next(-space + 1), 0, length);
    }
}
