using Microsoft.ML.Data;
using ReCam.Imaging;

namespace ReCam.MLNet;

/// <summary>Converts ML.NET's <see cref="MLImage"/> (as produced by <c>LoadImages</c>) into ReCam's <see cref="RgbImage"/>.</summary>
internal static class MLImageConversion
{
    /// <summary>Copies the pixels of <paramref name="image"/> as interleaved RGB (alpha is dropped).</summary>
    /// <exception cref="InvalidOperationException">Unsupported pixel layout.</exception>
    public static RgbImage ToRgb(MLImage image, string columnName)
    {
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width, height = image.Height, pixels = checked(width * height);
        var source = image.Pixels;
        var rgb = new byte[checked(pixels * 3)];
        if (image.BitsPerPixel == 32 && source.Length == pixels * 4)
        {
            bool bgr = image.PixelFormat == MLPixelFormat.Bgra32;
            if (!bgr && image.PixelFormat != MLPixelFormat.Rgba32)
                throw new InvalidOperationException($"Image column '{columnName}': unsupported pixel format {image.PixelFormat}.");
            for (int i = 0; i < pixels; i++)
            {
                int s = 4 * i, d = 3 * i;
                rgb[d] = source[s + (bgr ? 2 : 0)];
                rgb[d + 1] = source[s + 1];
                rgb[d + 2] = source[s + (bgr ? 0 : 2)];
            }
        }
        else if (image.BitsPerPixel == 8 && source.Length == pixels)
        {
            for (int i = 0; i < pixels; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = source[i];
        }
        else
        {
            throw new InvalidOperationException(
                $"Image column '{columnName}': unsupported image layout ({image.BitsPerPixel} bits per pixel, {source.Length} bytes for {width}x{height}).");
        }
        return new RgbImage(width, height, rgb);
    }
}
