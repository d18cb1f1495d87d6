using ReCam.Data.Coco;
using Xunit;

namespace ReCam.Tests.Data;

public class CocoSegmentationTests
{
    // Hand-encoded: each count in 5-bit groups from '0' (48), 0x20 = "another group follows", 0x10 of the last group = sign;
    // from the fourth count on the difference to the count two places before is stored.
    // [5, 3, 2, 1]: '5', '3', '2', then 1 - 3 = -2 -> 30 (sign bit set, no continuation) -> 'N'.
    // [5, 90, 5]: '5', 90 = 26 + 2 * 32 -> 26 | 0x20 = 58 ('j'), then 2 ('2'); '5'.
    [Theory]
    [InlineData("532N", new long[] { 5, 3, 2, 1 })]
    [InlineData("5j25", new long[] { 5, 90, 5 })]
    [InlineData("T3", new long[] { 100 })]
    [InlineData("", new long[0])]
    public void DecodesCompressedCounts(string text, long[] expected) => Assert.Equal(expected, CocoSegmentation.DecodeCounts(text));

    [Theory]
    [InlineData("j")]
    [InlineData("5 ")]
    public void RefusesDamagedCompressedCounts(string text) => Assert.Throws<FormatException>(() => CocoSegmentation.DecodeCounts(text));

    [Fact]
    public void RunLengthsAreColumnMajorAndStartWithZeros()
    {
        // 3 wide, 2 high: column-major pixels 1 and 2 are (x 0, y 1) and (x 1, y 0).
        var mask = new byte[6];
        CocoSegmentation.FromRle(2, 3, [1, 2, 3]).Paint(mask, 3, 2, "test");
        Assert.Equal(new byte[] { 0, 1, 0, 1, 0, 0 }, mask);
    }

    [Fact]
    public void RunLengthsMustFitTheImage()
    {
        var mask = new byte[6];
        var e = Assert.Throws<InvalidDataException>(() => CocoSegmentation.FromRle(2, 3, [1, 2]).Paint(mask, 3, 2, "annotation 7"));
        Assert.Contains("annotation 7", e.Message);
        Assert.Contains("3 of the image's 6", e.Message);
        Assert.Throws<InvalidDataException>(() => CocoSegmentation.FromRle(3, 2, [6]).Paint(mask, 3, 2, "annotation 7"));
        Assert.Throws<InvalidDataException>(() => CocoSegmentation.FromRle(2, 3, [1, 9]).Paint(mask, 3, 2, "annotation 7"));
    }

    [Fact]
    public void PolygonsFillThePixelsWhoseCentresAreInside()
    {
        // The rectangle from (2, 1) to (6, 4) holds the centres of columns 2..5 and rows 1..3.
        var mask = new byte[8 * 6];
        CocoSegmentation.FromPolygons([[2, 1, 6, 1, 6, 4, 2, 4]]).Paint(mask, 8, 6, "test");
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 8; x++)
                Assert.Equal(x is >= 2 and <= 5 && y is >= 1 and <= 3 ? 1 : 0, mask[y * 8 + x]);

        // A right triangle (0,0)-(8,0)-(0,8): centre (x + 0.5, y + 0.5) is inside when x + y + 1 < 8, i.e. 28 pixels.
        mask = new byte[8 * 8];
        CocoSegmentation.FromPolygons([[0, 0, 8, 0, 0, 8]]).Paint(mask, 8, 8, "test");
        Assert.Equal(28, mask.Count(v => v != 0));
        Assert.Equal(1, mask[6 * 8 + 0]);
        Assert.Equal(0, mask[7 * 8 + 0]);
    }

    [Fact]
    public void SeveralPolygonsAreTheirUnionAndAreClippedToTheImage()
    {
        var mask = new byte[4 * 4];
        CocoSegmentation.FromPolygons([[0, 0, 2, 0, 2, 2, 0, 2], [1, 1, 9, 1, 9, 9, 1, 9]]).Paint(mask, 4, 4, "test");
        Assert.Equal(4 + 9 - 1, mask.Count(v => v != 0));
        var e = Assert.Throws<InvalidDataException>(() => CocoSegmentation.FromPolygons([[0, 0, 2, 0, 2]]).Paint(mask, 4, 4, "annotation 3"));
        Assert.Contains("annotation 3", e.Message);
    }
}
