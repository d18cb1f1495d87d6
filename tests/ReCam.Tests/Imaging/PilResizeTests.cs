using ReCam.Imaging;
using Xunit;

namespace ReCam.Tests.Imaging;

public class PilResizeTests
{
    public static IEnumerable<object[]> BicubicCases => ImagingFixtures.Rows("bicubic");
    public static IEnumerable<object[]> NearestRgbCases => ImagingFixtures.Rows("nearest_rgb");
    public static IEnumerable<object[]> NearestLabelCases => ImagingFixtures.Rows("nearest_label");

    [Theory]
    [MemberData(nameof(BicubicCases))]
    public void BicubicMatchesPillowBitExactly(string source, int width, int height, string reference)
    {
        RgbImage src = ImageDecoder.LoadRgb(ImagingFixtures.PathOf(source));
        RgbImage got = PilResize.Bicubic(src, width, height);
        Assert.Equal(width, got.Width);
        Assert.Equal(height, got.Height);
        byte[] expected = ImagingFixtures.Bytes(reference);
        Assert.Equal(expected.Length, got.Pixels.Length);
        int maxDiff = 0, differing = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int d = Math.Abs(expected[i] - got.Pixels[i]);
            maxDiff = Math.Max(maxDiff, d);
            differing += d > 0 ? 1 : 0;
        }
        Assert.True(maxDiff == 0, $"{reference}: {differing} bytes differ from Pillow, max |diff| {maxDiff}");
    }

    [Theory]
    [MemberData(nameof(NearestRgbCases))]
    public void NearestRgbMatchesPillow(string source, int width, int height, string reference)
    {
        RgbImage src = ImageDecoder.LoadRgb(ImagingFixtures.PathOf(source));
        RgbImage got = PilResize.Nearest(src, width, height);
        Assert.Equal(ImagingFixtures.Bytes(reference), got.Pixels);
    }

    [Theory]
    [MemberData(nameof(NearestLabelCases))]
    public void NearestLabelMatchesPillow(string source, int width, int height, string reference)
    {
        LabelMap src = PngLabelReader.Read(ImagingFixtures.PathOf(source));
        LabelMap got = PilResize.Nearest(src, width, height);
        Assert.Equal((width, height), (got.Width, got.Height));
        Assert.Equal(ImagingFixtures.Bytes(reference), got.Values);
    }

    [Fact]
    public void RescaleNearestQuarterSamplesCellCentres()
    {
        // pil_rescale(label, 0.25, NEAREST) on 48x40 -> 12x10, sampling source index 4i + 2.
        LabelMap src = PngLabelReader.Read(ImagingFixtures.PathOf("label_p8_48x40.png"));
        LabelMap got = PilResize.RescaleNearest(src, 0.25);
        Assert.Equal((12, 10), (got.Width, got.Height));
        Assert.Equal(ImagingFixtures.Bytes("nearest_label_12x10.bin"), got.Values);
        for (int y = 0; y < got.Height; y++)
        {
            for (int x = 0; x < got.Width; x++)
            {
                Assert.Equal(src[4 * x + 2, 4 * y + 2], got[x, y]);
            }
        }
    }

    [Fact]
    public void RescaleUsesHalfToEvenSizesAndBicubic()
    {
        RgbImage src = ImageDecoder.LoadRgb(ImagingFixtures.PathOf("src_rgb_37x29.png"));
        RgbImage half = PilResize.Rescale(src, 0.5);   // 18.5 -> 18, 14.5 -> 14
        Assert.Equal((18, 14), (half.Width, half.Height));
        Assert.Equal(ImagingFixtures.Bytes("bicubic_18x14.bin"), half.Pixels);
        RgbImage up = PilResize.Rescale(src, 1.5);     // 55.5 -> 56, 43.5 -> 44
        Assert.Equal(ImagingFixtures.Bytes("bicubic_56x44.bin"), up.Pixels);
    }

    [Theory]
    [InlineData(5, 7, 0.5, 2, 4)]        // 2.5 -> 2, 3.5 -> 4
    [InlineData(37, 29, 0.5, 18, 14)]    // 18.5 -> 18, 14.5 -> 14
    [InlineData(37, 29, 1.5, 56, 44)]    // 55.5 -> 56, 43.5 -> 44
    [InlineData(500, 375, 0.3, 150, 112)] // 112.5 -> 112
    [InlineData(512, 512, 0.25, 128, 128)]
    [InlineData(3, 1, 0.1, 1, 1)]        // never below 1
    [InlineData(9, 11, 1.0, 9, 11)]
    public void ScaledSizeRoundsHalfToEven(int w, int h, double s, int ew, int eh)
    {
        Assert.Equal((ew, eh), PilResize.ScaledSize(w, h, s));
    }

    [Fact]
    public void ScaledSizeRejectsBadScale()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PilResize.ScaledSize(10, 10, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PilResize.ScaledSize(10, 10, double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => PilResize.Bicubic(new RgbImage(2, 2), 0, 3));
    }

    [Fact]
    public void SameSizeIsACopyAndConstantImagesStayConstant()
    {
        var src = new RgbImage(31, 17, Enumerable.Repeat((byte)200, 31 * 17 * 3).ToArray());
        RgbImage same = PilResize.Bicubic(src, 31, 17);
        Assert.NotSame(src.Pixels, same.Pixels);
        Assert.Equal(src.Pixels, same.Pixels);
        // Normalised kernels keep a flat image flat in both directions (up and down).
        Assert.All(PilResize.Bicubic(src, 13, 40).Pixels, v => Assert.Equal(200, v));
    }
}
