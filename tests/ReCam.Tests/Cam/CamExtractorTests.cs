using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Training;
using ReCam.Tests.Networks;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Cam;

public class CamExtractorTests
{
    private static (CamNetwork Net, RgbImage Image) Setup(int width = 45, int height = 37)
    {
        // Seeded under the library's generator lock: tests of other classes build networks on other threads meanwhile.
        var net = GlobalGenerator.Seeded(11, () => new CamNetwork(TestBackbones.Tiny, 4));
        net.eval();
        var rng = new Random(5);
        var pixels = new byte[width * height * 3];
        rng.NextBytes(pixels);
        return (net, new RgbImage(width, height, pixels));
    }

    [Fact]
    public void ShapesAndPerClassNormalisationFollowTheOfficialLayout()
    {
        var (net, image) = Setup();
        using var _ = net;
        var extractor = new CamExtractor(net, net.ClassifierWeight);
        var maps = extractor.Extract(image, [0, 2, 3]);
        Assert.Equal(new long[] { 0, 2, 3 }, maps.Keys);
        Assert.Equal((10, 12), (maps.CamHeight, maps.CamWidth)); // ceil(37/4), ceil(45/4)
        Assert.Equal((37, 45), (maps.Height, maps.Width));
        Assert.Equal(3 * 10 * 12, maps.Cam.Length);
        Assert.Equal(3 * 37 * 45, maps.HighRes.Length);
        for (int k = 0; k < 3; k++)
        {
            float max = maps.HighResPlane(k).ToArray().Max();
            Assert.InRange(max, 0.99f, 1.0f); // m / (m + 1e-5): just below 1 for small maps
            Assert.True(maps.HighResPlane(k).ToArray().Min() >= 0f);
        }
    }

    [Fact]
    public void PixelClassesTakeTheRankingOfOneSetOfMapsAndTheStrengthOfTheOther()
    {
        using var scope = NewDisposeScope();
        // Three pixels, two classes. Pixel 0: extent favours class 0, the class maps class 1. Pixel 1: no class map at all.
        var extent = tensor(new float[] { 0.9f, 0.2f, 0.5f, 0.3f, 0.1f, 0.4f }, [2, 1, 3]);
        var classes = tensor(new float[] { 0.2f, 0f, 0.6f, 0.8f, 0f, 0.3f }, [2, 1, 3]);
        var maps = CamExtractor.AssignPixelClasses(extent, classes).data<float>().ToArray();
        // Pixel 0: strength 0.9 goes to class 1, class 0 gets 0.9 * 0.2 / 0.8. Pixel 1: extent kept. Pixel 2: 0.5 to class 0.
        float[] expected = [0.9f * 0.2f / 0.8f, 0.2f, 0.5f, 0.9f, 0.1f, 0.5f * 0.3f / 0.6f];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], maps[i], 1e-6f);
        using var single = tensor(new float[] { 0.4f, 0f, 1f }, [1, 1, 3]);
        using var singleClasses = tensor(new float[] { 0.1f, 0.7f, 0f }, [1, 1, 3]);
        Assert.Equal(new float[] { 0.4f, 0f, 1f }, CamExtractor.AssignPixelClasses(single, singleClasses).data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => CamExtractor.AssignPixelClasses(extent, single));
    }

    [Fact]
    public void APixelClassWeightRanksTheClassesOfTheExtractedMaps()
    {
        var (net, image) = Setup();
        using var _ = net;
        using var other = GlobalGenerator.Seeded(12, () => new CamNetwork(TestBackbones.Tiny, 4));
        using var extentWeight = other.ClassifierWeight.detach().clone();
        long[] keys = [0, 1, 3];
        var extent = new CamExtractor(net, extentWeight).Extract(image, keys);
        var ranking = new CamExtractor(net, net.ClassifierWeight).Extract(image, keys);
        var both = new CamExtractor(net, extentWeight, pixelClassWeight: net.ClassifierWeight).Extract(image, keys);
        Assert.Equal(extent.HighRes.Length, both.HighRes.Length);
        int pixels = both.Height * both.Width, differing = 0;
        for (int p = 0; p < pixels; p++)
        {
            int Arg(CamMaps m) => Enumerable.Range(0, keys.Length).MaxBy(k => m.HighRes[k * pixels + p]);
            float Max(CamMaps m) => Enumerable.Range(0, keys.Length).Max(k => m.HighRes[k * pixels + p]);
            Assert.Equal(Max(extent), Max(both), 1e-6f);
            if (Max(ranking) > 0) Assert.Equal(Arg(ranking), Arg(both));
            if (Arg(ranking) != Arg(extent)) differing++;
        }
        Assert.True(differing > 0, "the two weights should rank the classes differently somewhere, or the test shows nothing");
        using var wrongShape = zeros(3, net.ClassifierWeight.shape[1], 1, 1);
        Assert.Throws<ArgumentException>(() => new CamExtractor(net, extentWeight, pixelClassWeight: wrongShape));
    }

    [Fact]
    public void ImagesBeyondTheMaxInputSideRunAtProportionallySmallerScales()
    {
        var (net, image) = Setup(120, 90);
        using var _ = net;
        // The largest scale would show the backbone 240 pixels; capped at 120, every scale halves.
        var capped = new CamExtractor(net, net.ClassifierWeight, [1.0, 2.0], maxInputSide: 120);
        Assert.Equal(0.5, capped.ScaleFactorFor(120, 90));
        Assert.Equal(1.0, capped.ScaleFactorFor(60, 45));
        var a = capped.Extract(image, [0, 2]);
        var b = new CamExtractor(net, net.ClassifierWeight, [0.5, 1.0]).Extract(image, [0, 2]);
        Assert.Equal((90, 120), (a.Height, a.Width)); // maps at the image's size all the same
        Assert.Equal((23, 30), (a.CamHeight, a.CamWidth));
        Assert.Equal(b.HighRes, a.HighRes);
        Assert.Equal(b.Cam, a.Cam);
        var uncapped = new CamExtractor(net, net.ClassifierWeight, [1.0, 2.0]).Extract(image, [0, 2]);
        Assert.NotEqual(uncapped.HighRes, a.HighRes);
    }

    [Theory]
    [InlineData(63)]
    [InlineData(8193)]
    public void MaxInputSideOutOfRangeIsRejected(int side)
    {
        var (net, _) = Setup();
        using var _net = net;
        var e = Assert.Throws<InvalidOptionException>(() => new CamExtractor(net, maxInputSide: side));
        Assert.Equal("MaxInputSide", e.OptionName);
    }

    [Fact]
    public void MapsOfASubsetOfClassesEqualTheSameRowsOfAllClasses()
    {
        var (net, image) = Setup();
        using var _ = net;
        var extractor = new CamExtractor(net, net.ClassifierWeight);
        var all = extractor.Extract(image, [0, 1, 2, 3]);
        var some = extractor.Extract(image, [1, 3]);
        Assert.Equal(all.HighResPlane(1).ToArray(), some.HighResPlane(0).ToArray(), new Tolerance(1e-5f));
        Assert.Equal(all.CamPlane(3).ToArray(), some.CamPlane(1).ToArray(), new Tolerance(1e-5f));
    }

    [Fact]
    public void FlippedImageGivesFlippedMaps()
    {
        // Extraction sums each scale's map with the map of its mirror image, so it is exactly flip-equivariant.
        var (net, image) = Setup(48, 32);
        using var _ = net;
        var extractor = new CamExtractor(net, net.ClassifierWeight, [1.0]);
        var maps = extractor.Extract(image, [1]);
        var flipped = extractor.Extract(image.FlipHorizontal(), [1]);
        var a = maps.HighResPlane(0).ToArray();
        var b = flipped.HighResPlane(0).ToArray();
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 48; x++)
                Assert.True(Math.Abs(a[y * 48 + x] - b[y * 48 + 47 - x]) <= 1e-4f, $"({x},{y}): {a[y * 48 + x]} vs {b[y * 48 + 47 - x]}");
    }

    [Fact]
    public void NoClassesGiveEmptyMapsAndBadKeysAreRejected()
    {
        var (net, image) = Setup();
        using var _ = net;
        var extractor = new CamExtractor(net, net.ClassifierWeight);
        var empty = extractor.Extract(image, []);
        Assert.Equal(0, empty.Count);
        Assert.Equal((37, 45), (empty.Height, empty.Width));
        var e = Assert.Throws<ArgumentException>(() => extractor.Extract(image, [4]));
        Assert.Contains("0..3", e.Message);
    }

    [Fact]
    public void SingleScaleMapIsReluOfClassifierOnFeaturesPlusMirror()
    {
        var (net, image) = Setup(32, 32);
        using var _ = net;
        var extractor = new CamExtractor(net, net.ClassifierWeight, [1.0]);
        var maps = extractor.Extract(image, [2]);
        // 32x32 input -> 2x2 feature map -> stride-4 grid 8x8: recompute the 2x2 map independently.
        var chw = new float[3 * 32 * 32];
        InputNormalization.Torchvision.ToChw(image.Pixels, 32 * 32, chw);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(chw, [1, 3, 32, 32]);
        var f0 = net.Features(x)[0];
        var f1 = net.Features(x.flip(3))[0].flip(2);
        var w = net.ClassifierWeight[2].flatten();
        var a = (einsum("dhw,d->hw", f0, w).relu() + einsum("dhw,d->hw", f1, w).relu()).unsqueeze(0).unsqueeze(0);
        var up = nn.functional.interpolate(a, [8, 8], mode: InterpolationMode.Bilinear, align_corners: false)[0, 0];
        var expected = (up / (up.max() + 1e-5)).data<float>().ToArray();
        Assert.Equal(expected, maps.CamPlane(0).ToArray(), new Tolerance(1e-5f));
    }

    private sealed class Tolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
