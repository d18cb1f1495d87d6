namespace ReCam.Imaging;

/// <summary>
/// Re-implementation of Pillow's <c>Image.resize</c> for 8-bit images (checked bit-exact against
/// Pillow 9.4): antialiased <c>BICUBIC</c> (separable fixed-point convolution, horizontal pass first,
/// uint8 intermediate) and <c>NEAREST</c> (centre-of-cell sampling), plus ReCAM's
/// <c>imutils.pil_rescale</c> target-size rule.
/// </summary>
internal static class PilResize
{
    // Pillow: PRECISION_BITS = 32 - 8 - 2 fractional bits for the 8-bit convolution coefficients.
    private const int PrecisionBits = 22;
    private const double BicubicSupport = 2.0;

    /// <summary>
    /// Target size of ReCAM's <c>pil_rescale</c>: <c>(round(w*s), round(h*s))</c> with numpy's
    /// half-to-even rounding, each at least 1.
    /// </summary>
    /// <param name="width">Source width.</param>
    /// <param name="height">Source height.</param>
    /// <param name="scale">Scale factor (&gt; 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or the scale is not positive (or not finite).</exception>
    public static (int Width, int Height) ScaledSize(int width, int height, double scale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (!(scale > 0) || double.IsInfinity(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale must be a positive finite number.");
        }
        int w = (int)Math.Max(1, Math.Round(width * scale, MidpointRounding.ToEven));
        int h = (int)Math.Max(1, Math.Round(height * scale, MidpointRounding.ToEven));
        return (w, h);
    }

    /// <summary>ReCAM's <c>pil_rescale(img, scale, order=3)</c>: <see cref="ScaledSize"/> then <see cref="Bicubic"/>.</summary>
    /// <param name="src">Source image.</param>
    /// <param name="scale">Scale factor (&gt; 0).</param>
    public static RgbImage Rescale(RgbImage src, double scale)
    {
        ArgumentNullException.ThrowIfNull(src);
        var (w, h) = ScaledSize(src.Width, src.Height, scale);
        return Bicubic(src, w, h);
    }

    /// <summary>ReCAM's <c>pil_rescale(label, scale, order=0)</c>: <see cref="ScaledSize"/> then <see cref="Nearest(LabelMap, int, int)"/>.</summary>
    /// <param name="src">Source map.</param>
    /// <param name="scale">Scale factor (&gt; 0).</param>
    public static LabelMap RescaleNearest(LabelMap src, double scale)
    {
        ArgumentNullException.ThrowIfNull(src);
        var (w, h) = ScaledSize(src.Width, src.Height, scale);
        return Nearest(src, w, h);
    }

    /// <summary>
    /// Pillow <c>img.resize((newWidth, newHeight), Image.BICUBIC)</c> of an RGB image: cubic kernel
    /// a = -0.5 whose support widens by the scale factor when shrinking (antialiasing). A dimension that
    /// does not change is not filtered; if neither changes a copy is returned.
    /// </summary>
    /// <param name="src">Source image.</param>
    /// <param name="newWidth">Target width (at least 1).</param>
    /// <param name="newHeight">Target height (at least 1).</param>
    public static RgbImage Bicubic(RgbImage src, int newWidth, int newHeight)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentOutOfRangeException.ThrowIfLessThan(newWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newHeight, 1);
        if (newWidth == src.Width && newHeight == src.Height)
        {
            return new RgbImage(src.Width, src.Height, (byte[])src.Pixels.Clone());
        }

        var vert = Coefficients.Bicubic(src.Height, newHeight);
        byte[] rows = src.Pixels;
        int rowOffset = 0;
        if (newWidth != src.Width)
        {
            // Only the source rows that the vertical pass reads are filtered horizontally.
            int first = vert.Start[0];
            int last = vert.Start[newHeight - 1] + vert.Count[newHeight - 1];
            rows = new byte[newWidth * (last - first) * 3];
            Horizontal(src.Pixels, src.Width, first, last - first, rows, Coefficients.Bicubic(src.Width, newWidth));
            rowOffset = first;
        }
        if (newHeight == src.Height)
        {
            return new RgbImage(newWidth, newHeight, rows);
        }
        var dst = new byte[newWidth * newHeight * 3];
        Vertical(rows, newWidth * 3, rowOffset, dst, vert);
        return new RgbImage(newWidth, newHeight, dst);
    }

    /// <summary>
    /// Pillow <c>img.resize((newWidth, newHeight), Image.NEAREST)</c> of a single-channel map: output
    /// pixel i samples source index <c>floor((i + 0.5) * src / dst)</c>, accumulated in double precision
    /// exactly as Pillow does (for a 1/4 scale that is index 4i + 2).
    /// </summary>
    /// <param name="src">Source map.</param>
    /// <param name="newWidth">Target width (at least 1).</param>
    /// <param name="newHeight">Target height (at least 1).</param>
    public static LabelMap Nearest(LabelMap src, int newWidth, int newHeight)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentOutOfRangeException.ThrowIfLessThan(newWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newHeight, 1);
        int[] xs = NearestIndices(src.Width, newWidth);
        int[] ys = NearestIndices(src.Height, newHeight);
        var dst = new byte[newWidth * newHeight];
        for (int y = 0; y < newHeight; y++)
        {
            ReadOnlySpan<byte> inRow = src.Values.AsSpan(ys[y] * src.Width, src.Width);
            Span<byte> outRow = dst.AsSpan(y * newWidth, newWidth);
            for (int x = 0; x < outRow.Length; x++)
            {
                outRow[x] = inRow[xs[x]];
            }
        }
        return new LabelMap(newWidth, newHeight, dst);
    }

    /// <summary>Pillow <c>img.resize((newWidth, newHeight), Image.NEAREST)</c> of an RGB image (same sampling as the label overload).</summary>
    /// <param name="src">Source image.</param>
    /// <param name="newWidth">Target width (at least 1).</param>
    /// <param name="newHeight">Target height (at least 1).</param>
    public static RgbImage Nearest(RgbImage src, int newWidth, int newHeight)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentOutOfRangeException.ThrowIfLessThan(newWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newHeight, 1);
        int[] xs = NearestIndices(src.Width, newWidth);
        int[] ys = NearestIndices(src.Height, newHeight);
        var dst = new byte[newWidth * newHeight * 3];
        for (int y = 0; y < newHeight; y++)
        {
            ReadOnlySpan<byte> inRow = src.Pixels.AsSpan(ys[y] * src.Width * 3, src.Width * 3);
            Span<byte> outRow = dst.AsSpan(y * newWidth * 3, newWidth * 3);
            for (int x = 0, o = 0; x < newWidth; x++, o += 3)
            {
                int s = xs[x] * 3;
                outRow[o] = inRow[s];
                outRow[o + 1] = inRow[s + 1];
                outRow[o + 2] = inRow[s + 2];
            }
        }
        return new RgbImage(newWidth, newHeight, dst);
    }

    // Pillow ImagingScaleAffine: xo = a0 * 0.5, then xo += a0 per output pixel, index = (int)xo.
    private static int[] NearestIndices(int inSize, int outSize)
    {
        double step = (double)inSize / outSize;
        double pos = step * 0.5;
        var idx = new int[outSize];
        for (int i = 0; i < outSize; i++)
        {
            idx[i] = Math.Min((int)pos, inSize - 1);
            pos += step;
        }
        return idx;
    }

    // The hot loops index arrays directly (no per-pixel spans or calls) so that even unoptimised
    // Debug builds stay reasonably fast.
    private static void Horizontal(byte[] src, int srcWidth, int firstRow, int rowCount, byte[] dst, Coefficients c)
    {
        int outWidth = c.Start.Length;
        int srcStride = srcWidth * 3;
        int[] weights = c.Weights;
        const int half = 1 << (PrecisionBits - 1);
        int o = 0;
        for (int y = 0; y < rowCount; y++)
        {
            int rowBase = (firstRow + y) * srcStride;
            for (int xx = 0; xx < outWidth; xx++)
            {
                int kBase = xx * c.KSize;
                int kEnd = kBase + c.Count[xx];
                int p = rowBase + c.Start[xx] * 3;
                int s0 = half, s1 = half, s2 = half;
                for (int k = kBase; k < kEnd; k++, p += 3)
                {
                    int w = weights[k];
                    s0 += src[p] * w;
                    s1 += src[p + 1] * w;
                    s2 += src[p + 2] * w;
                }
                s0 >>= PrecisionBits;
                s1 >>= PrecisionBits;
                s2 >>= PrecisionBits;
                dst[o] = (byte)(s0 < 0 ? 0 : s0 > 255 ? 255 : s0);
                dst[o + 1] = (byte)(s1 < 0 ? 0 : s1 > 255 ? 255 : s1);
                dst[o + 2] = (byte)(s2 < 0 ? 0 : s2 > 255 ? 255 : s2);
                o += 3;
            }
        }
    }

    private static void Vertical(byte[] src, int stride, int rowOffset, byte[] dst, Coefficients c)
    {
        int outHeight = c.Start.Length;
        int[] weights = c.Weights;
        const int half = 1 << (PrecisionBits - 1);
        var acc = new int[stride];
        for (int yy = 0; yy < outHeight; yy++)
        {
            int kBase = yy * c.KSize;
            int kEnd = kBase + c.Count[yy];
            Array.Fill(acc, half);
            int p = (c.Start[yy] - rowOffset) * stride;
            for (int k = kBase; k < kEnd; k++, p += stride)
            {
                int w = weights[k];
                for (int x = 0; x < stride; x++)
                {
                    acc[x] += src[p + x] * w;
                }
            }
            int o = yy * stride;
            for (int x = 0; x < stride; x++)
            {
                int v = acc[x] >> PrecisionBits;
                dst[o + x] = (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
    }

    private static double CubicKernel(double x)
    {
        const double a = -0.5;
        if (x < 0.0)
        {
            x = -x;
        }
        if (x < 1.0)
        {
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        }
        if (x < 2.0)
        {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0.0;
    }

    /// <summary>Per-output-pixel source window and fixed-point weights (Pillow precompute_coeffs + normalize_coeffs_8bpc).</summary>
    private sealed class Coefficients
    {
        public required int[] Start { get; init; }
        public required int[] Count { get; init; }
        public required int[] Weights { get; init; }
        public required int KSize { get; init; }

        public static Coefficients Bicubic(int inSize, int outSize)
        {
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = BicubicSupport * filterScale;
            int ksize = (int)Math.Ceiling(support) * 2 + 1;
            var start = new int[outSize];
            var count = new int[outSize];
            var weights = new int[outSize * ksize];
            var k = new double[ksize];
            double ss = 1.0 / filterScale;
            for (int xx = 0; xx < outSize; xx++)
            {
                double center = (xx + 0.5) * scale;
                int xmin = Math.Max((int)(center - support + 0.5), 0);
                int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++)
                {
                    double w = CubicKernel((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                for (int x = 0; x < xmax; x++)
                {
                    double v = ww != 0.0 ? k[x] / ww : k[x];
                    weights[xx * ksize + x] = v < 0
                        ? (int)(-0.5 + v * (1 << PrecisionBits))
                        : (int)(0.5 + v * (1 << PrecisionBits));
                }
                start[xx] = xmin;
                count[xx] = xmax;
            }
            return new Coefficients { Start = start, Count = count, Weights = weights, KSize = ksize };
        }
    }
}
