using System.Buffers.Binary;
using System.IO.Compression;

namespace ReCam.Imaging;

/// <summary>
/// Reads the raw sample values of a single-channel PNG: palette PNGs (colour type 3, bit depth
/// 1/2/4/8) give their palette <em>indices</em> (VOC SegmentationClass: 0..20, 255 = ignore), greyscale
/// PNGs (colour type 0, bit depth 1/2/4/8) give their grey sample values unscaled. This is what
/// <c>np.asarray(Image.open(path))</c> returns for such files; no colour conversion is done.
/// </summary>
/// <remarks>
/// Own chunk parser (CRCs are not checked) + zlib (<see cref="ZLibStream"/>) + PNG unfiltering
/// (None/Sub/Up/Average/Paeth). Interlaced (Adam7) files are not supported.
/// </remarks>
public static class PngLabelReader
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Reads the label PNG at <paramref name="path"/>.</summary>
    /// <param name="path">Palette or 8-bit-or-less greyscale PNG.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="NotSupportedException">The PNG is interlaced (Adam7).</exception>
    /// <exception cref="InvalidDataException">Not a PNG, truncated, corrupt, or not a single-channel colour type.</exception>
    public static LabelMap Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"Label PNG not found: '{path}'.", path, e);
        }
        return Parse(file, path);
    }

    /// <summary>Parses label PNG bytes (see <see cref="Read"/>); <paramref name="nameForErrors"/> names the source in errors.</summary>
    /// <param name="png">The whole PNG file.</param>
    /// <param name="nameForErrors">File name or description used in exception messages.</param>
    public static LabelMap Parse(byte[] png, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(png);
        string name = nameForErrors ?? "<bytes>";
        if (png.Length < Signature.Length || !png.AsSpan(0, Signature.Length).SequenceEqual(Signature))
        {
            throw new InvalidDataException($"'{name}' is not a PNG file (bad signature).");
        }

        int width = 0, height = 0, bitDepth = 0, colourType = -1;
        bool sawHeader = false, sawEnd = false;
        using var idat = new MemoryStream();
        int pos = Signature.Length;
        while (pos < png.Length)
        {
            if (png.Length - pos < 12)
            {
                throw Truncated(name, "in a chunk header");
            }
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            if (length > int.MaxValue || png.Length - pos - 12 < length)
            {
                throw Truncated(name, $"inside chunk '{type}' (declares {length} bytes)");
            }
            var data = png.AsSpan(pos + 8, (int)length);
            pos += 12 + (int)length;
            if (!sawHeader && type != "IHDR")
            {
                throw new InvalidDataException($"PNG '{name}' is corrupt: first chunk is '{type}', expected 'IHDR'.");
            }
            switch (type)
            {
                case "IHDR":
                    if (data.Length != 13)
                    {
                        throw new InvalidDataException($"PNG '{name}' is corrupt: IHDR has {data.Length} bytes, expected 13.");
                    }
                    width = checked((int)BinaryPrimitives.ReadUInt32BigEndian(data));
                    height = checked((int)BinaryPrimitives.ReadUInt32BigEndian(data[4..]));
                    bitDepth = data[8];
                    colourType = data[9];
                    CheckHeader(name, width, height, bitDepth, colourType, data[10], data[11], data[12]);
                    sawHeader = true;
                    break;
                case "IDAT":
                    idat.Write(data);
                    break;
                case "IEND":
                    sawEnd = true;
                    break;
            }
            if (sawEnd)
            {
                break;
            }
        }
        if (!sawHeader)
        {
            throw Truncated(name, "before its IHDR chunk");
        }
        if (!sawEnd)
        {
            throw Truncated(name, "before its IEND chunk");
        }

        int rowBytes = (int)(((long)width * bitDepth + 7) / 8);
        byte[] raw = Inflate(idat, checked((long)height * (rowBytes + 1)), name);
        Unfilter(raw, rowBytes, height, name);
        return new LabelMap(width, height, Unpack(raw, width, height, rowBytes, bitDepth));
    }

    private static InvalidDataException Truncated(string name, string where) =>
        new($"PNG '{name}' is truncated: the file ends {where}.");

    private static void CheckHeader(string name, int width, int height, int bitDepth, int colourType,
        int compression, int filter, int interlace)
    {
        if (width <= 0 || height <= 0)
        {
            throw new InvalidDataException($"PNG '{name}' has an invalid size {width}x{height}.");
        }
        if (colourType != 0 && colourType != 3)
        {
            string kind = colourType switch
            {
                2 => "RGB",
                4 => "greyscale+alpha",
                6 => "RGBA",
                _ => "invalid",
            };
            throw new InvalidDataException(
                $"PNG '{name}' has colour type {colourType} ({kind}); a label PNG must be palette (3) or greyscale (0).");
        }
        if (bitDepth is not (1 or 2 or 4 or 8))
        {
            throw new InvalidDataException(
                $"PNG '{name}' has bit depth {bitDepth} for colour type {colourType}; label PNGs must use 1, 2, 4 or 8 bits.");
        }
        if (compression != 0 || filter != 0)
        {
            throw new InvalidDataException($"PNG '{name}' uses unknown compression ({compression}) or filter method ({filter}).");
        }
        if (interlace == 1)
        {
            throw new NotSupportedException($"PNG '{name}' is interlaced (Adam7), which the label reader does not support; re-save it non-interlaced.");
        }
        if (interlace != 0)
        {
            throw new InvalidDataException($"PNG '{name}' has an invalid interlace method {interlace}.");
        }
    }

    private static byte[] Inflate(MemoryStream idat, long expected, string name)
    {
        if (expected > Array.MaxLength)
        {
            throw new InvalidDataException($"PNG '{name}' is too large ({expected} bytes of image data).");
        }
        var raw = new byte[expected];
        idat.Position = 0;
        int got;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress, leaveOpen: true);
            got = z.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"PNG '{name}' has corrupt compressed image data: {e.Message}", e);
        }
        if (got < raw.Length)
        {
            throw new InvalidDataException(
                $"PNG '{name}' is truncated or corrupt: its image data holds {got} bytes, expected {raw.Length}.");
        }
        return raw;
    }

    // Reverses the per-row PNG filters in place; bytes-per-pixel is 1 for every supported format.
    private static void Unfilter(byte[] raw, int rowBytes, int height, string name)
    {
        int stride = rowBytes + 1;
        for (int y = 0; y < height; y++)
        {
            int row = y * stride + 1;
            int prev = row - stride; // only read when y > 0
            byte filter = raw[row - 1];
            switch (filter)
            {
                case 0:
                    break;
                case 1:
                    for (int i = 1; i < rowBytes; i++)
                    {
                        raw[row + i] += raw[row + i - 1];
                    }
                    break;
                case 2:
                    if (y > 0)
                    {
                        for (int i = 0; i < rowBytes; i++)
                        {
                            raw[row + i] += raw[prev + i];
                        }
                    }
                    break;
                case 3:
                    for (int i = 0; i < rowBytes; i++)
                    {
                        int a = i > 0 ? raw[row + i - 1] : 0;
                        int b = y > 0 ? raw[prev + i] : 0;
                        raw[row + i] += (byte)((a + b) >> 1);
                    }
                    break;
                case 4:
                    for (int i = 0; i < rowBytes; i++)
                    {
                        int a = i > 0 ? raw[row + i - 1] : 0;
                        int b = y > 0 ? raw[prev + i] : 0;
                        int c = i > 0 && y > 0 ? raw[prev + i - 1] : 0;
                        int p = a + b - c;
                        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                        raw[row + i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                    }
                    break;
                default:
                    throw new InvalidDataException($"PNG '{name}' is corrupt: row {y} has unknown filter type {filter}.");
            }
        }
    }

    private static byte[] Unpack(byte[] raw, int width, int height, int rowBytes, int bitDepth)
    {
        var values = new byte[checked(width * height)];
        int stride = rowBytes + 1;
        int perByte = 8 / bitDepth;
        int mask = (1 << bitDepth) - 1;
        for (int y = 0; y < height; y++)
        {
            int row = y * stride + 1;
            Span<byte> outRow = values.AsSpan(y * width, width);
            if (bitDepth == 8)
            {
                raw.AsSpan(row, width).CopyTo(outRow);
                continue;
            }
            for (int x = 0; x < width; x++)
            {
                int b = raw[row + x / perByte];
                int shift = 8 - bitDepth * (x % perByte + 1);
                outRow[x] = (byte)((b >> shift) & mask);
            }
        }
        return values;
    }
}
