namespace ReCam.Data.Coco;

/// <summary>
/// One annotation's region as COCO stores it: polygons (<c>[[x1, y1, x2, y2, ...], ...]</c>, in pixel coordinates whose
/// origin is the top-left corner of the image) or a run-length encoding of <c>size = [height, width]</c> pixels in
/// column-major order, starting with a run of zeros, given as a list of counts (crowd regions) or in COCO's compressed
/// string form.
/// </summary>
internal sealed class CocoSegmentation
{
    private CocoSegmentation(IReadOnlyList<double[]>? polygons, int rleHeight, int rleWidth, long[]? counts)
    {
        Polygons = polygons;
        RleHeight = rleHeight;
        RleWidth = rleWidth;
        Counts = counts;
    }

    /// <summary>The polygons, each x1, y1, x2, y2, ...; null for a run-length encoding.</summary>
    public IReadOnlyList<double[]>? Polygons { get; }

    /// <summary>The run-length encoding's height and width (0 for polygons).</summary>
    public int RleHeight { get; }

    /// <inheritdoc cref="RleHeight"/>
    public int RleWidth { get; }

    /// <summary>The run lengths, zeros first, column-major; null for polygons.</summary>
    public long[]? Counts { get; }

    /// <summary>A region given by polygons.</summary>
    public static CocoSegmentation FromPolygons(IReadOnlyList<double[]> polygons) => new(polygons, 0, 0, null);

    /// <summary>A region given by run lengths over <paramref name="height"/> × <paramref name="width"/> pixels.</summary>
    public static CocoSegmentation FromRle(int height, int width, long[] counts) => new(null, height, width, counts);

    /// <summary>
    /// Decodes COCO's compressed run lengths: each count is written in 5-bit groups, least significant first, as
    /// characters from '0' (48) up, bit 0x20 marking that another group follows and bit 0x10 of the last group the sign;
    /// from the fourth count on, the value stored is the difference to the count two places before.
    /// </summary>
    /// <exception cref="FormatException">A character is out of range or the string ends inside a count.</exception>
    public static long[] DecodeCounts(string text)
    {
        var counts = new List<long>();
        int p = 0;
        while (p < text.Length)
        {
            long x = 0;
            int shift = 0;
            bool more = true;
            int c = 0;
            while (more)
            {
                if (p >= text.Length) throw new FormatException($"Compressed RLE counts end inside a count (after {counts.Count} counts).");
                c = text[p++] - 48;
                if (c is < 0 or > 63) throw new FormatException($"Compressed RLE counts hold the character '{text[p - 1]}' at {p - 1}.");
                if (shift > 60) throw new FormatException($"Compressed RLE count {counts.Count} is too long.");
                x |= (long)(c & 0x1f) << shift;
                more = (c & 0x20) != 0;
                shift += 5;
            }
            if ((c & 0x10) != 0) x |= -1L << shift;
            if (counts.Count > 2) x += counts[^2];
            counts.Add(x);
        }
        return counts.ToArray();
    }

    /// <summary>Sets to 1 every pixel of the <paramref name="width"/> × <paramref name="height"/> row-major
    /// <paramref name="mask"/> that the region covers.</summary>
    /// <param name="mask">Row-major, one byte per pixel.</param>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="source">The annotation, for messages.</param>
    /// <exception cref="InvalidDataException">The encoding's size differs from the image's, its counts do not add up, or a
    /// polygon has an odd number of coordinates.</exception>
    public void Paint(byte[] mask, int width, int height, string source)
    {
        if (Polygons is not null)
        {
            foreach (double[] polygon in Polygons)
            {
                if (polygon.Length % 2 != 0)
                    throw new InvalidDataException($"{source}: a polygon has {polygon.Length} coordinates (x, y pairs expected).");
                FillPolygon(polygon, mask, width, height);
            }
            return;
        }
        if (RleHeight != height || RleWidth != width)
            throw new InvalidDataException($"{source}: the run-length encoding is {RleWidth}x{RleHeight} but the image is {width}x{height}.");
        long position = 0, total = (long)width * height;
        for (int i = 0; i < Counts!.Length; i++)
        {
            long run = Counts[i];
            if (run < 0 || position + run > total)
                throw new InvalidDataException($"{source}: run-length counts run past the image's {total} pixels (count {i} = {run}).");
            if (i % 2 == 1)
                for (long p = position; p < position + run; p++)
                    mask[(int)(p % height) * width + (int)(p / height)] = 1;
            position += run;
        }
        if (position != total)
            throw new InvalidDataException($"{source}: run-length counts cover {position} of the image's {total} pixels.");
    }

    /// <summary>
    /// Fills one polygon by the even-odd rule, sampling each pixel at its centre (x + 0.5, y + 0.5): a pixel is inside when
    /// its centre is. (pycocotools rasterises on a 5× finer grid instead; the two can differ on boundary pixels.)
    /// </summary>
    private static void FillPolygon(double[] xy, byte[] mask, int width, int height)
    {
        int n = xy.Length / 2;
        if (n < 3) return;
        double minY = double.MaxValue, maxY = double.MinValue;
        for (int i = 0; i < n; i++) { minY = Math.Min(minY, xy[2 * i + 1]); maxY = Math.Max(maxY, xy[2 * i + 1]); }
        int firstRow = Math.Max(0, (int)Math.Floor(minY - 0.5)), lastRow = Math.Min(height - 1, (int)Math.Ceiling(maxY));
        var crossings = new List<double>();
        for (int row = firstRow; row <= lastRow; row++)
        {
            double y = row + 0.5;
            crossings.Clear();
            for (int i = 0; i < n; i++)
            {
                int k = (i + 1) % n;
                double x0 = xy[2 * i], y0 = xy[2 * i + 1], x1 = xy[2 * k], y1 = xy[2 * k + 1];
                if ((y0 <= y && y < y1) || (y1 <= y && y < y0)) crossings.Add(x0 + (y - y0) * (x1 - x0) / (y1 - y0));
            }
            crossings.Sort();
            for (int p = 0; p + 1 < crossings.Count; p += 2)
            {
                int from = Math.Max(0, (int)Math.Ceiling(crossings[p] - 0.5)), to = Math.Min(width, (int)Math.Ceiling(crossings[p + 1] - 0.5));
                for (int x = from; x < to; x++) mask[row * width + x] = 1;
            }
        }
    }
}
