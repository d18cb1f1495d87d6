using ReCam.Imaging;
using Xunit;

namespace ReCam.Tests.Data;

public class PalettePngWriterTests
{
    /// <summary>The 7x5 index image of Fixtures/Data/make_fixtures.py (palette_indices).</summary>
    private static byte[] FixtureIndices()
    {
        var v = new byte[5 * 7];
        for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++) v[y * 7 + x] = (byte)((x * 7 + y * 13) % 23);
        v[0] = 255;
        v[4 * 7 + 6] = 20;
        return v;
    }

    [Fact]
    public void VocPalette_HasTheStandardColours()
    {
        var p = VocPalette.Colors;
        Assert.Equal(256, p.Count);
        Assert.Equal(((byte)0, (byte)0, (byte)0), p[0]);
        Assert.Equal(((byte)128, (byte)0, (byte)0), p[1]);
        Assert.Equal(((byte)0, (byte)128, (byte)0), p[2]);
        Assert.Equal(((byte)192, (byte)128, (byte)128), p[15]); // person
        Assert.Equal(((byte)0, (byte)64, (byte)128), p[20]);    // tvmonitor
        Assert.Equal(((byte)224, (byte)224, (byte)192), p[255]);
    }

    [Fact]
    public void Write_MatchesPillowWrittenFixture()
    {
        // palette_pillow.png was written by Pillow from the same indices with the VOC palette; decoding both
        // files must give the same pixels and palette (and our reader is checked on a Pillow-made file).
        var pillow = MiniPng.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Data", "palette_pillow.png"));
        Assert.Equal(FixtureIndices(), pillow.Values);
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "sub", "mask.png");
        PalettePngWriter.Write(path, new LabelMap(7, 5, FixtureIndices()));
        var ours = MiniPng.Read(path);
        Assert.Equal((7, 5, 3), (ours.Width, ours.Height, ours.ColourType));
        Assert.Equal(pillow.Values, ours.Values);
        Assert.Equal(768, ours.Palette!.Length);
        Assert.Equal(pillow.Palette!.AsSpan(0, 768).ToArray(), ours.Palette);
        // IHDR: 7x5, depth 8, colour type 3, no interlace: verified byte for byte.
        Assert.Equal(new byte[] { 0, 0, 0, 7, 0, 0, 0, 5, 8, 3, 0, 0, 0 }, ours.Chunks["IHDR"]);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void Write_CustomPalette_AndRejectsValuesOutsideIt()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "m.png");
        (byte, byte, byte)[] palette = [(0, 0, 0), (255, 0, 0), (0, 0, 255)];
        PalettePngWriter.Write(path, new LabelMap(3, 2, [0, 1, 2, 2, 1, 0]), palette);
        var png = MiniPng.Read(path);
        Assert.Equal(new byte[] { 0, 0, 0, 255, 0, 0, 0, 0, 255 }, png.Palette);
        Assert.Equal(new byte[] { 0, 1, 2, 2, 1, 0 }, png.Values);
        var e = Assert.Throws<ArgumentException>(() => PalettePngWriter.Write(path, new LabelMap(2, 1, [0, 3]), palette));
        Assert.Contains("value 3", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => PalettePngWriter.Write(path, new LabelMap(2, 2, [0, 1, 2]))); // from LabelMap or the writer
    }

    [Fact]
    public void WriteGrey_RoundTripsLargeMap()
    {
        var rng = new Random(3);
        var values = new byte[257 * 131];
        rng.NextBytes(values);
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "g.png");
        PalettePngWriter.WriteGrey(path, new LabelMap(257, 131, values));
        var png = MiniPng.Read(path);
        Assert.Equal((257, 131, 0), (png.Width, png.Height, png.ColourType));
        Assert.Null(png.Palette);
        Assert.Equal(values, png.Values);
    }
}
