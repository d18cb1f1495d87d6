using System.Buffers.Binary;
using System.IO.Compression;
using ReCam.IO;

namespace ReCam.Imaging;

/// <summary>
/// Writes label maps as 8-bit PNG files: indexed colour (colour type 3) with a palette, as VOC's
/// <c>SegmentationClass</c> masks are stored, or plain greyscale (colour type 0); and RGB images (colour type 2), such as
/// mask overlays. Files are written atomically.
/// </summary>
public static class PalettePngWriter
{
    private static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    /// <summary>Writes <paramref name="map"/> as an 8-bit palette PNG whose pixel indices are the label values.</summary>
    /// <param name="path">Destination file (written atomically).</param>
    /// <param name="map">Label values, row-major.</param>
    /// <param name="palette">1 to 256 colours; every value in the map must index into it.
    /// Defaults to <see cref="VocPalette.Colors"/>.</param>
    /// <exception cref="ArgumentException">The map is empty or inconsistent, or a value has no palette entry.</exception>
    public static void Write(string path, LabelMap map, IReadOnlyList<(byte R, byte G, byte B)>? palette = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        palette ??= VocPalette.Colors;
        if (palette.Count is < 1 or > 256)
            throw new ArgumentException($"A PNG palette holds 1 to 256 colours, got {palette.Count}.", nameof(palette));
        CheckMap(map);
        int max = 0;
        foreach (byte v in map.Values) max = Math.Max(max, v);
        if (max >= palette.Count)
            throw new ArgumentException(
                $"The label map for '{path}' holds value {max} but the palette has only {palette.Count} colours.", nameof(palette));
        var plte = new byte[palette.Count * 3];
        for (int i = 0; i < palette.Count; i++)
            (plte[3 * i], plte[3 * i + 1], plte[3 * i + 2]) = palette[i];
        byte[] png = Encode(map.Width, map.Height, map.Values, 1, colourType: 3, plte);
        AtomicFile.WriteAllBytes(path, png);
    }

    /// <summary>Writes <paramref name="image"/> as an 8-bit RGB PNG.</summary>
    /// <param name="path">Destination file (written atomically).</param>
    /// <param name="image">The image.</param>
    public static void WriteRgb(string path, RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        AtomicFile.WriteAllBytes(path, EncodeRgb(image));
    }

    /// <summary>The PNG encoding of <paramref name="image"/> (8-bit RGB), for callers that send it rather than store it.</summary>
    public static byte[] EncodeRgb(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Encode(image.Width, image.Height, image.Pixels, 3, colourType: 2, palette: null);
    }

    /// <summary>The PNG encoding of <paramref name="map"/> with the VOC palette, for callers that send it rather than store it.</summary>
    public static byte[] EncodePalette(LabelMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        CheckMap(map);
        var plte = new byte[256 * 3];
        for (int i = 0; i < 256; i++) (plte[3 * i], plte[3 * i + 1], plte[3 * i + 2]) = VocPalette.Colors[i];
        return Encode(map.Width, map.Height, map.Values, 1, colourType: 3, plte);
    }

    /// <summary>Writes <paramref name="map"/> as an 8-bit greyscale PNG (pixel value = label value).</summary>
    /// <param name="path">Destination file (written atomically).</param>
    /// <param name="map">Label values, row-major.</param>
    /// <exception cref="ArgumentException">The map is empty or inconsistent.</exception>
    public static void WriteGrey(string path, LabelMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        CheckMap(map);
        AtomicFile.WriteAllBytes(path, Encode(map.Width, map.Height, map.Values, 1, colourType: 0, palette: null));
    }

    private static void CheckMap(LabelMap map)
    {
        if (map.Width <= 0 || map.Height <= 0)
            throw new ArgumentException($"A PNG needs a positive size, got {map.Width}x{map.Height}.", nameof(map));
        if (map.Values.Length != (long)map.Width * map.Height)
            throw new ArgumentException(
                $"The label map has {map.Values.Length} values for {map.Width}x{map.Height} pixels.", nameof(map));
    }

    private static byte[] Encode(int width, int height, byte[] values, int channels, byte colourType, byte[]? palette)
    {
        using var output = new MemoryStream();
        output.Write(Signature);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;            // bit depth
        ihdr[9] = colourType;   // 0 = greyscale, 2 = RGB, 3 = indexed
        // compression, filter and interlace methods: 0, 0, 0 (no interlacing)
        WriteChunk(output, "IHDR", ihdr);
        if (palette is not null) WriteChunk(output, "PLTE", palette);
        WriteChunk(output, "IDAT", Deflate(width, height, values, channels));
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static byte[] Deflate(int width, int height, byte[] values, int channels)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * channels;
            var row = new byte[stride + 1]; // filter byte 0 (None) then the row's values
            for (int y = 0; y < height; y++)
            {
                values.AsSpan(y * stride, stride).CopyTo(row.AsSpan(1));
                zlib.Write(row);
            }
        }
        return compressed.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        for (int i = 0; i < 4; i++) header[4 + i] = (byte)type[i];
        output.Write(header);
        output.Write(data);
        uint crc = Crc32.Update(Crc32.Initial, header[4..]);
        crc = Crc32.Update(crc, data) ^ 0xFFFFFFFFu;
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc);
        output.Write(crcBytes);
    }

    /// <summary>CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) as PNG chunks use it.</summary>
    private static class Crc32
    {
        public const uint Initial = 0xFFFFFFFFu;
        private static readonly uint[] Table = BuildTable();

        public static uint Update(uint crc, ReadOnlySpan<byte> data)
        {
            foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }

        private static uint[] BuildTable()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                table[n] = c;
            }
            return table;
        }
    }
}
