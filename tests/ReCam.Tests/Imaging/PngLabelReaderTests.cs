using System.Buffers.Binary;
using System.IO.Compression;
using ReCam.Imaging;
using Xunit;

namespace ReCam.Tests.Imaging;

public class PngLabelReaderTests
{
    public static IEnumerable<object[]> LabelCases => ImagingFixtures.Rows("label");

    [Theory]
    [MemberData(nameof(LabelCases))]
    public void ReadsRawIndicesLikeNumpyOfPillow(string file, int width, int height, string reference)
    {
        LabelMap map = PngLabelReader.Read(ImagingFixtures.PathOf(file));
        Assert.Equal((width, height), (map.Width, map.Height));
        Assert.Equal(ImagingFixtures.Bytes(reference), map.Values);
    }

    [Fact]
    public void VocStyleLabelHasClassIndicesAndIgnore()
    {
        LabelMap map = PngLabelReader.Read(ImagingFixtures.PathOf("label_p8_48x40.png"));
        Assert.Equal(20, map[0, 0]);   // set explicitly by make_fixtures.py
        Assert.Equal(255, map[1, 0]);
        Assert.Equal(0, map[47, 39]);
        Assert.All(map.Values, v => Assert.True(v <= 20 || v == 255));
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        string path = Path.Combine(ImagingFixtures.Dir, "no_such_label.png");
        var e = Assert.Throws<FileNotFoundException>(() => PngLabelReader.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void RejectsRgbColourTypeNamingFileAndType()
    {
        string path = ImagingFixtures.PathOf("src_rgb_37x29.png");
        var e = Assert.Throws<InvalidDataException>(() => PngLabelReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("colour type 2", e.Message);
    }

    [Fact]
    public void RejectsNonPngNamingFile()
    {
        string path = ImagingFixtures.PathOf("dec_rgb.jpg");
        var e = Assert.Throws<InvalidDataException>(() => PngLabelReader.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TruncatedFilesGiveAClearErrorNamingTheFile()
    {
        byte[] full = ImagingFixtures.Bytes("label_p8_48x40.png");
        string dir = ImagingFixtures.TempDir();
        try
        {
            foreach (int cut in new[] { 8, 20, 40, full.Length / 2, full.Length - 12, full.Length - 1 })
            {
                string path = Path.Combine(dir, $"cut_{cut}.png");
                File.WriteAllBytes(path, full[..cut]);
                var e = Assert.Throws<InvalidDataException>(() => PngLabelReader.Read(path));
                Assert.Contains(path, e.Message);
                Assert.Contains("truncated", e.Message);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ShortImageDataIsReported()
    {
        // Valid chunk structure, but the IDAT stream holds only 2 of the 3 rows.
        byte[] idat = Zlib([0, 1, 2, 0, 3, 4]);
        byte[] png = Build(width: 2, height: 3, bitDepth: 8, colourType: 0, interlace: 0, idat);
        var e = Assert.Throws<InvalidDataException>(() => PngLabelReader.Parse(png, "short.png"));
        Assert.Contains("short.png", e.Message);
        Assert.Contains("expected 9", e.Message);
    }

    [Fact]
    public void CorruptCompressedDataIsReported()
    {
        byte[] png = Build(2, 2, 8, 0, 0, [0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01]);
        var e = Assert.Throws<InvalidDataException>(() => PngLabelReader.Parse(png, "garbage.png"));
        Assert.Contains("garbage.png", e.Message);
    }

    [Fact]
    public void InterlacedIsNotSupportedAndNamesTheFile()
    {
        string dir = ImagingFixtures.TempDir();
        try
        {
            string path = Path.Combine(dir, "adam7.png");
            File.WriteAllBytes(path, Build(4, 4, 8, 3, interlace: 1, Zlib(new byte[20])));
            var e = Assert.Throws<NotSupportedException>(() => PngLabelReader.Read(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("interlaced", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void SixteenBitGreyIsRejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => PngLabelReader.Read(ImagingFixtures.PathOf("dec_grey16.png")));
        Assert.Contains("bit depth 16", e.Message);
    }

    private static byte[] Zlib(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(raw);
        }
        return ms.ToArray();
    }

    private static byte[] Build(int width, int height, int bitDepth, int colourType, int interlace, byte[] idat)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        (ihdr[8], ihdr[9], ihdr[12]) = ((byte)bitDepth, (byte)colourType, (byte)interlace);
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", idat);
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        s.Write(System.Text.Encoding.ASCII.GetBytes(type));
        s.Write(data);
        s.Write(new byte[4]); // CRC is not checked by the reader
    }
}
