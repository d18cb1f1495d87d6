namespace ReCam.Imaging;

/// <summary>
/// An 8-bit RGB image stored row-major with interleaved channels (HWC: R, G, B per pixel), the layout
/// <c>imageio.imread</c> returns in ReCAM.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Creates an image over <paramref name="pixels"/> (not copied).</summary>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    /// <param name="pixels">HWC interleaved RGB bytes; length must be <c>width * height * 3</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> has the wrong length.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        long expected = (long)width * height * 3;
        if (pixels.LongLength != expected)
        {
            throw new ArgumentException(
                $"RGB pixel buffer for a {width}x{height} image must hold {expected} bytes (W*H*3), got {pixels.LongLength}.",
                nameof(pixels));
        }
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Creates a black image of the given size.</summary>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    public RgbImage(int width, int height)
        : this(width, height, new byte[checked(Math.Max(width, 0) * Math.Max(height, 0) * 3)])
    {
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>HWC interleaved RGB bytes, <c>Width * Height * 3</c> long; index <c>(y * Width + x) * 3 + c</c>.</summary>
    public byte[] Pixels { get; }

    /// <summary>Returns a new image mirrored left-right (<c>img[:, ::-1]</c>).</summary>
    public RgbImage FlipHorizontal()
    {
        var dst = new byte[Pixels.Length];
        int stride = Width * 3;
        for (int y = 0; y < Height; y++)
        {
            int row = y * stride;
            for (int x = 0; x < Width; x++)
            {
                int s = row + x * 3;
                int d = row + (Width - 1 - x) * 3;
                dst[d] = Pixels[s];
                dst[d + 1] = Pixels[s + 1];
                dst[d + 2] = Pixels[s + 2];
            }
        }
        return new RgbImage(Width, Height, dst);
    }
}
