namespace ReCam.Imaging;

/// <summary>Masks drawn over their images: each labelled pixel blended with its VOC colour, background left as it is.</summary>
public static class MaskOverlay
{
    /// <summary>The image with every pixel of label c &gt; 0 mixed with the VOC colour of c (weight <paramref name="opacity"/>).</summary>
    /// <exception cref="ArgumentException">The mask's size differs from the image's.</exception>
    public static RgbImage Draw(RgbImage image, LabelMap mask, double opacity = 0.5)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.Width != image.Width || mask.Height != image.Height)
            throw new ArgumentException($"The mask is {mask.Width}x{mask.Height} but the image is {image.Width}x{image.Height}.", nameof(mask));
        if (!(opacity is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(opacity), opacity, "Opacity must be in [0, 1].");
        var pixels = (byte[])image.Pixels.Clone();
        for (int i = 0; i < mask.Values.Length; i++)
        {
            byte label = mask.Values[i];
            if (label == 0) continue;
            var (r, g, b) = VocPalette.Colors[label];
            pixels[3 * i] = Mix(pixels[3 * i], r, opacity);
            pixels[3 * i + 1] = Mix(pixels[3 * i + 1], g, opacity);
            pixels[3 * i + 2] = Mix(pixels[3 * i + 2], b, opacity);
        }
        return new RgbImage(image.Width, image.Height, pixels);
    }

    private static byte Mix(byte under, byte over, double opacity) => (byte)Math.Round(under * (1 - opacity) + over * opacity);
}
