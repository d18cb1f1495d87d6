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

    /// <summary>Writes one augmented sample (3, Crop, Crop) into <paramref name="destination"/> (CHW), drawing from <paramref name="random"/>.</summary>
    public void Apply(RgbImage image, Random random, Span<float> destination) => Apply(image, Draw(image, random), destination);

    /// <summary>
    /// The random choices for <paramref name="image"/>, in the official order: the long side, the flip, the crop box (rows, then
    /// columns, each a window of the larger side or a placement in the zero container).
    /// </summary>
    public AugmentationDraw Draw(RgbImage image, Random random)
    {
        int target = random.Next(ResizeLongMin, ResizeLongMax + 1);
        var (w, h) = ResizedSize(image, target);
        bool flip = random.NextDouble() < 0.5;
        var (contTop, imgTop) = CropAxis(h, random);
        var (contLeft, imgLeft) = CropAxis(w, random);
        return new AugmentationDraw(target, flip, contTop, imgTop, contLeft, imgLeft);
    }

    /// <summary>Writes the sample that <paramref name="draw"/> describes into <paramref name="destination"/> (CHW).</summary>
    public void Apply(RgbImage image, AugmentationDraw draw, Span<float> destination)
    {
        int plane = Crop * Crop;
        if (destination.Length < 3 * plane) throw new ArgumentException("Destination too small.", nameof(destination));
        var (w, h) = ResizedSize(image, draw.LongSide);
        var resized = w == image.Width && h == image.Height ? image : PilResize.Bicubic(image, w, h);

        var chw = new float[3 * w * h];
        Normalization.ToChw(resized.Pixels, w * h, chw);
        int ch = Math.Min(Crop, h), cw = Math.Min(Crop, w);
        destination[..(3 * plane)].Clear();
        for (int c = 0; c < 3; c++)
        {
            for (int y = 0; y < ch; y++)
            {
                int srcRow = c * w * h + (draw.ImageTop + y) * w;
                int dstRow = c * plane + (draw.ContainerTop + y) * Crop + draw.ContainerLeft;
                for (int x = 0; x < cw; x++)
                {
                    int sx = draw.ImageLeft + x;
                    if (draw.Flip) sx = w - 1 - sx;
                    destination[dstRow + x] = chw[srcRow + sx];
                }
            }
        }
    }

    // random_resize_long: the long side becomes `target` (PIL sizes, rounded half to even).
    private static (int Width, int Height) ResizedSize(RgbImage image, int target)
    {
        double scale = image.Width < image.Height ? (double)target / image.Height : (double)target / image.Width;
        return PilResize.ScaledSize(image.Width, image.Height, scale);
    }

    private (int ContainerOffset, int ImageOffset) CropAxis(int size, Random random) => RandomCropAxis(size, Crop, random);

    /// <summary>
    /// One axis of the official <c>get_random_crop_box</c>: a random window if the side is larger than the crop, else a random
    /// placement of the whole side inside the filled container.
    /// </summary>
    internal static (int ContainerOffset, int ImageOffset) RandomCropAxis(int size, int crop, Random random)
    {
        int space = size - crop;
        return space > 0 ? (0, random.Next(space + 1)) : (random.Next(-space + 1), 0);
    }
}

/// <summary>The random choices of one augmented sample.</summary>
/// <param name="LongSide">The long side the image is resized to.</param>
/// <param name="Flip">Whether the image is mirrored horizontally.</param>
/// <param name="ContainerTop">Row of the crop container where the image's rows start (0 when the image is taller than the crop).</param>
/// <param name="ImageTop">First image row of the crop (0 when the image is shorter than the crop).</param>
/// <param name="ContainerLeft">Column of the container where the image's columns start.</param>
/// <param name="ImageLeft">First column of the (flipped) image in the crop.</param>
internal sealed record AugmentationDraw(int LongSide, bool Flip, int ContainerTop, int ImageTop, int ContainerLeft, int ImageLeft);
