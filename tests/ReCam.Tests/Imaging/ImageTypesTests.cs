using ReCam.Imaging;
using Xunit;

namespace ReCam.Tests.Imaging;

public class ImageTypesTests
{
    [Fact]
    public void RgbImageValidatesBufferLength()
    {
        var e = Assert.Throws<ArgumentException>(() => new RgbImage(4, 3, new byte[35]));
        Assert.Contains("36", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RgbImage(0, 3, []));
        Assert.Equal(36, new RgbImage(4, 3).Pixels.Length);
    }

    [Fact]
    public void FlipHorizontalMirrorsPixelsKeepingChannelOrder()
    {
        // 3x2: pixel (x, y) = (10x + y, 100 + x, 200 + y)
        var px = new byte[3 * 2 * 3];
        for (int y = 0; y < 2; y++)
        {
            for (int x = 0; x < 3; x++)
            {
                int i = (y * 3 + x) * 3;
                (px[i], px[i + 1], px[i + 2]) = ((byte)(10 * x + y), (byte)(100 + x), (byte)(200 + y));
            }
        }
        RgbImage flipped = new RgbImage(3, 2, px).FlipHorizontal();
        Assert.Equal(new byte[] { 20, 102, 200, 10, 101, 200, 0, 100, 200, 21, 102, 201, 11, 101, 201, 1, 100, 201 },
            flipped.Pixels);
        Assert.Equal(px, flipped.FlipHorizontal().Pixels);
    }

    [Fact]
    public void LabelMapValidatesAndFlips()
    {
        Assert.Throws<ArgumentException>(() => new LabelMap(2, 2, new byte[3]));
        var map = new LabelMap(3, 2, [1, 2, 3, 4, 5, 255]);
        Assert.Equal(255, map[2, 1]);
        Assert.Equal(new byte[] { 3, 2, 1, 255, 5, 4 }, map.FlipHorizontal().Values);
        Assert.All(new LabelMap(2, 2, 255).Values, v => Assert.Equal(255, v));
    }
}
