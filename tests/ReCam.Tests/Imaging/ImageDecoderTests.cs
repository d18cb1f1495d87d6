using ReCam.Imaging;
using Xunit;

namespace ReCam.Tests.Imaging;

public class ImageDecoderTests
{
    [Theory]
    [InlineData("dec_palette.png", 0)]
    [InlineData("dec_grey.png", 0)]
    [InlineData("dec_grey_alpha.png", 0)]
    [InlineData("dec_rgba.png", 0)]      // alpha dropped, RGB as stored (row 0 is fully transparent)
    [InlineData("src_rgb_37x29.png", 0)]
    [InlineData("dec_grey16.png", 0)]    // high byte of each 16-bit sample, like Pillow
    [InlineData("dec_rgb16.png", 0)]
    [InlineData("dec_rgb.jpg", 1)]       // different libjpeg builds (identical today, allow 1)
    [InlineData("dec_grey.jpg", 1)]
    public void DecodesLikePillowConvertRgb(string file, int tolerance)
    {
        string path = ImagingFixtures.PathOf(file);
        RgbImage img = ImageDecoder.LoadRgb(path);
        byte[] expected = ImagingFixtures.Bytes(file + ".rgb.bin");
        Assert.Equal(expected.Length, img.Pixels.Length);
        int maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - img.Pixels[i]));
        }
        Assert.True(maxDiff <= tolerance, $"{file}: max |diff| {maxDiff} > {tolerance}");
        Assert.Equal(ImageDecoder.ReadSize(path), (img.Width, img.Height));
    }

    [Fact]
    public void PaletteAndTransparentPixelsKeepStoredColours()
    {
        RgbImage pal = ImageDecoder.LoadRgb(ImagingFixtures.PathOf("dec_palette.png"));
        byte[] palette = [10, 20, 30, 200, 100, 50, 0, 255, 0, 255, 255, 255, 7, 8, 9, 128, 0, 128];
        for (int i = 0; i < pal.Pixels.Length; i += 3)
        {
            // every pixel is one of the palette colours, including the tRNS-transparent index 2 (0,255,0)
            bool found = false;
            for (int p = 0; p < palette.Length; p += 3)
            {
                found |= pal.Pixels[i] == palette[p] && pal.Pixels[i + 1] == palette[p + 1] && pal.Pixels[i + 2] == palette[p + 2];
            }
            Assert.True(found, $"pixel {i / 3} = ({pal.Pixels[i]},{pal.Pixels[i + 1]},{pal.Pixels[i + 2]}) not in palette");
        }
        byte[] rgba = ImagingFixtures.Bytes("dec_rgba.png.rgb.bin");
        RgbImage img = ImageDecoder.LoadRgb(ImagingFixtures.PathOf("dec_rgba.png"));
        Assert.Equal(rgba.AsSpan(0, 8 * 3).ToArray(), img.Pixels.AsSpan(0, 8 * 3).ToArray());
        Assert.Contains(img.Pixels.Take(8 * 3), v => v > 0);
    }

    [Fact]
    public void GreyIsReplicatedToThreeChannels()
    {
        RgbImage img = ImageDecoder.LoadRgb(ImagingFixtures.PathOf("dec_grey.png"));
        for (int i = 0; i < img.Pixels.Length; i += 3)
        {
            Assert.Equal(img.Pixels[i], img.Pixels[i + 1]);
            Assert.Equal(img.Pixels[i], img.Pixels[i + 2]);
        }
    }

    [Fact]
    public void StreamOverloadMatchesFile()
    {
        string path = ImagingFixtures.PathOf("dec_rgb.jpg");
        using var fs = File.OpenRead(path);
        RgbImage fromStream = ImageDecoder.LoadRgb(fs, "jpeg-stream");
        Assert.Equal(ImageDecoder.LoadRgb(path).Pixels, fromStream.Pixels);
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.LoadRgb(new MemoryStream([1, 2, 3]), "bogus-stream"));
        Assert.Contains("bogus-stream", e.Message);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        string path = Path.Combine(ImagingFixtures.Dir, "missing_image.jpg");
        var e = Assert.Throws<FileNotFoundException>(() => ImageDecoder.LoadRgb(path));
        Assert.Contains(path, e.Message);
        Assert.Equal(path, e.FileName);
        Assert.Throws<FileNotFoundException>(() => ImageDecoder.ReadSize(path));
    }

    [Fact]
    public void CorruptAndTruncatedFilesNameThePath()
    {
        string dir = ImagingFixtures.TempDir();
        try
        {
            string garbage = Path.Combine(dir, "garbage.jpg");
            File.WriteAllText(garbage, "this is not an image");
            var e1 = Assert.Throws<InvalidDataException>(() => ImageDecoder.LoadRgb(garbage));
            Assert.Contains(garbage, e1.Message);
            Assert.Throws<InvalidDataException>(() => ImageDecoder.ReadSize(garbage));

            string empty = Path.Combine(dir, "empty.png");
            File.WriteAllBytes(empty, []);
            Assert.Contains(empty, Assert.Throws<InvalidDataException>(() => ImageDecoder.LoadRgb(empty)).Message);

            foreach (string file in new[] { "dec_rgb.jpg", "src_rgb_37x29.png" })
            {
                byte[] full = ImagingFixtures.Bytes(file);
                string cut = Path.Combine(dir, "cut_" + file);
                File.WriteAllBytes(cut, full[..(full.Length / 2)]);
                var e2 = Assert.Throws<InvalidDataException>(() => ImageDecoder.LoadRgb(cut));
                Assert.Contains(cut, e2.Message);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AnImageDeclaringTooManyPixelsIsRefusedBeforeDecoding()
    {
        string path = Path.Combine(Path.GetTempPath(), $"huge-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(path, PngHeaderOnly(30000, 30000));
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.LoadRgb(path));
            Assert.Contains("30000x30000", e.Message);
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A PNG whose header declares <paramref name="width"/> x <paramref name="height"/> RGB pixels, with no pixel data.</summary>
    private static byte[] PngHeaderOnly(int width, int height)
    {
        var png = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
        void Chunk(string type, byte[] data)
        {
            png.AddRange(BigEndian(data.Length));
            var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.AddRange(body);
            png.AddRange(BigEndian((int)Crc32(body)));
        }
        Chunk("IHDR", [.. BigEndian(width), .. BigEndian(height), 8, 2, 0, 0, 0]);
        Chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk("IEND", []);
        return png.ToArray();
    }

    private static byte[] BigEndian(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
