using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace ReCam.Tests.Data;

/// <summary>
/// A deliberately small PNG reader for tests: 8-bit greyscale or palette images, non-interlaced, all five row
/// filters, chunk CRCs checked. Independent of the writer under test.
/// </summary>
internal sealed record MiniPng(int Width, int Height, int ColourType, byte[] Values, byte[]? Palette, Dictionary<string, byte[]> Chunks)
{
    public static MiniPng Read(string path) => Read(File.ReadAllBytes(path));

    public static MiniPng Read(byte[] png)
    {
        byte[] signature = [137, 80, 78, 71, 13, 10, 26, 10];
        if (!png.AsSpan(0, 8).SequenceEqual(signature)) throw new InvalidDataException("bad PNG signature");
        var chunks = new Dictionary<string, byte[]>();
        var idat = new MemoryStream();
        int pos = 8;
        while (pos < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            byte[] data = png.AsSpan(pos + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            if (crc != Crc(png.AsSpan(pos + 4, 4 + length))) throw new InvalidDataException($"bad CRC in {type}");
            if (type == "IDAT") idat.Write(data); else chunks[type] = data;
            pos += 12 + length;
            if (type == "IEND") break;
        }
        byte[] ihdr = chunks["IHDR"];
        int w = BinaryPrimitives.ReadInt32BigEndian(ihdr), h = BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4));
        if (ihdr[8] != 8 || ihdr[9] is not (0 or 3) || ihdr[12] != 0) throw new InvalidDataException("unsupported PNG flavour");
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        byte[] r = raw.ToArray();
        if (r.Length != h * (w + 1)) throw new InvalidDataException($"IDAT holds {r.Length} bytes, expected {h * (w + 1)}");
        var values = new byte[w * h];
        for (int y = 0; y < h; y++)
        {
            int filter = r[y * (w + 1)];
            for (int x = 0; x < w; x++)
            {
                int a = x > 0 ? values[y * w + x - 1] : 0, b = y > 0 ? values[(y - 1) * w + x] : 0;
                int c = x > 0 && y > 0 ? values[(y - 1) * w + x - 1] : 0;
                int predictor = filter switch
                {
                    0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"bad filter {filter}"),
                };
                values[y * w + x] = (byte)(r[y * (w + 1) + 1 + x] + predictor);
            }
        }
        return new MiniPng(w, h, ihdr[9], values, chunks.GetValueOrDefault("PLTE"), chunks);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte d in data)
        {
            crc ^= d;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "recam-data-tests-" + Guid.NewGuid().ToString("N"));

    public string File(string relative, string? text = null)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        if (text is not null) System.IO.File.WriteAllText(full, text);
        return full;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
