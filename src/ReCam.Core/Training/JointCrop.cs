using ReCam.Imaging;
using ReCam.Networks;

namespace ReCam.Training;

/// <summary>
/// The joint augmentation of an image and its label map that train-irn and train-deeplab share: rescale (image bicubic,
/// label nearest), optional mirror, and a random square crop where the image is padded with 0 after normalisation (the
/// mean colour) and the label with 255 (ignored).
/// </summary>
internal static class JointCrop
{
    /// <summary>Writes the normalised CHW crop into <paramref name="image"/> and returns the crop's labels (crop × crop, row-major).</summary>
    /// <param name="rgb">The image.</param>
    /// <param name="label">Its label map, of the same size.</param>
    /// <param name="scale">Resize factor.</param>
    /// <param name="flip">Mirror horizontally.</param>
    /// <param name="crop">Side of the square crop.</param>
    /// <param name="random">Draws the crop's position (rows first, then columns).</param>
    /// <param name="normalization">The backbone's input convention.</param>
    /// <param name="image">Destination, at least 3 × crop × crop values.</param>
    public static byte[] Write(RgbImage rgb, LabelMap label, double scale, bool flip, int crop, Random random, InputNormalization normalization,
        Span<float> image)
    {
        var scaledImage = PilResize.Rescale(rgb, scale);
        var scaledLabel = PilResize.RescaleNearest(label, scale);
        int w = scaledImage.Width, h = scaledImage.Height;
        var (containerTop, imageTop) = ClassificationAugmentation.RandomCropAxis(h, crop, random);
        var (containerLeft, imageLeft) = ClassificationAugmentation.RandomCropAxis(w, crop, random);

        var chw = new float[3 * w * h];
        normalization.ToChw(scaledImage.Pixels, w * h, chw);
        int plane = crop * crop;
        image[..(3 * plane)].Clear();
        var cropLabel = new byte[plane];
        Array.Fill(cropLabel, (byte)255);
        int rows = Math.Min(crop, h), cols = Math.Min(crop, w);
        for (int y = 0; y < rows; y++)
        {
            int sy = imageTop + y, dy = containerTop + y;
            for (int x = 0; x < cols; x++)
            {
                int sx = imageLeft + x;
                if (flip) sx = w - 1 - sx;
                int dx = containerLeft + x;
                for (int c = 0; c < 3; c++) image[c * plane + dy * crop + dx] = chw[c * w * h + sy * w + sx];
                cropLabel[dy * crop + dx] = scaledLabel.Values[sy * w + sx];
            }
        }
        return cropLabel;
    }
}
