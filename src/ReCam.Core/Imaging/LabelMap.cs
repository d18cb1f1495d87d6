namespace ReCam.Imaging;

/// <summary>
/// A single-channel 8-bit map (one byte per pixel, row-major), used for class labels such as VOC
/// SegmentationClass indices (0..20, 255 = ignore) and IR labels.
/// </summary>
public sealed class LabelMap
{
    /// <summary>Creates a map over <paramref name="values"/> (not copied).</summary>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    /// <param name="values">Row-major bytes; length must be <c>width * height</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="values"/> has the wrong length.</exception>
    public LabelMap(int width, int height, byte[] values)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentNullException.ThrowIfNull(values);
        long expected = (long)width * height;
        if (values.LongLength != expected)
        {
            throw new ArgumentException(
                $"Label buffer for a {width}x{height} map must hold {expected} bytes (W*H), got {values.LongLength}.",
                nameof(values));
        }
        Width = width;
        Height = height;
        Values = values;
    }

    /// <summary>Creates a map of the given size filled with <paramref name="fill"/>.</summary>
    /// <param name="width">Width in pixels (at least 1).</param>
    /// <param name="height">Height in pixels (at least 1).</param>
    /// <param name="fill">Value of every pixel.</param>
    public LabelMap(int width, int height, byte fill = 0)
        : this(width, height, Filled(width, height, fill))
    {
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Row-major values, <c>Width * Height</c> long; index <c>y * Width + x</c>.</summary>
    public byte[] Values { get; }

    /// <summary>Value at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    public byte this[int x, int y] => Values[y * Width + x];

    /// <summary>Returns a new map mirrored left-right (<c>label[:, ::-1]</c>).</summary>
    public LabelMap FlipHorizontal()
    {
        var dst = new byte[Values.Length];
        for (int y = 0; y < Height; y++)
        {
            Values.AsSpan(y * Width, Width).CopyTo(dst.AsSpan(y * Width, Width));
            dst.AsSpan(y * Width, Width).Reverse();
        }
        return new LabelMap(Width, Height, dst);
    }

    private static byte[] Filled(int width, int height, byte fill)
    {
        var values = new byte[checked(Math.Max(width, 0) * Math.Max(height, 0))];
        if (fill != 0)
        {
            Array.Fill(values, fill);
        }
        return values;
    }
}
