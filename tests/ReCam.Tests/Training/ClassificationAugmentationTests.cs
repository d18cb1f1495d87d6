using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Training;
using Xunit;

namespace ReCam.Tests.Training;

public class ClassificationAugmentationTests
{
    private static readonly InputNormalization Identity = new(false, 1f, [0f, 0f, 0f], [1f, 1f, 1f]);

    [Fact]
    public void SmallImageIsPlacedWholeInsideAZeroFilledCrop()
    {
        var image = new RgbImage(40, 30, Enumerable.Repeat((byte)7, 40 * 30 * 3).ToArray());
        var aug = new ClassificationAugmentation(64, 40, 40, Identity); // long side 40 -> no resize
        var output = new float[3 * 64 * 64];
        aug.Apply(image, new Random(1), output);
        for (int c = 0; c < 3; c++)
        {
            var plane = output.AsSpan(c * 64 * 64, 64 * 64).ToArray();
            Assert.Equal(40 * 30, plane.Count(v => v == 7f));
            Assert.Equal(64 * 64 - 40 * 30, plane.Count(v => v == 0f));
        }
        var rows = Enumerable.Range(0, 64).Where(y => output.AsSpan(y * 64, 64).ToArray().Any(v => v != 0)).ToList();
        Assert.Equal(30, rows.Count);
        Assert.Equal(rows[0] + 29, rows[^1]); // contiguous
    }

    [Fact]
    public void LargeImageGivesAFullWindowPossiblyFlipped()
    {
        // Horizontal gradient: pixel value = x. A crop is a run of consecutive x values, ascending or, if flipped, descending.
        int w = 100, h = 80;
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) pixels[(y * w + x) * 3 + c] = (byte)x;
        var aug = new ClassificationAugmentation(32, 100, 100, Identity);
        var seen = new HashSet<bool>();
        for (int seed = 0; seed < 20; seed++)
        {
            var output = new float[3 * 32 * 32];
            aug.Apply(new RgbImage(w, h, pixels), new Random(seed), output);
            var row = output[..32];
            bool ascending = row[1] > row[0];
            seen.Add(ascending);
            for (int i = 1; i < 32; i++) Assert.Equal(row[0] + (ascending ? i : -i), row[i]);
        }
        Assert.Equal(2, seen.Count); // both flipped and unflipped crops occur
    }

    [Fact]
    public void DefaultResizeRangeFollowsTheOfficialRatio()
    {
        Assert.Equal((320, 640), new CamTrainingOptions().EffectiveResizeLong);
        Assert.Equal((100, 200), new ReCamTrainingOptions { Crop = 160 }.EffectiveResizeLong);
        Assert.Equal((100, 150), new CamTrainingOptions { Crop = 160, ResizeLongMax = 150 }.EffectiveResizeLong);
    }
}
