using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Imaging;
using Xunit;

namespace ReCam.Tests.Evaluation;

public sealed class NormalizedCutThresholdTests
{
    private const int Side = 64;

    // A disc of `radius` pixels in one colour on a background of another, with one class map shaped like a CAM: 1 at the disc's
    // centre, falling linearly with the distance and reaching `edgeValue` exactly at the disc's edge (so it spills beyond it).
    private static (CamMaps Maps, RgbImage Image) Disc(double radius, double edgeValue, int seed)
    {
        var rng = new Random(seed);
        double cx = Side / 2.0 + rng.Next(-4, 5), cy = Side / 2.0 + rng.Next(-4, 5);
        double reach = radius / (1 - edgeValue);
        var pixels = new byte[Side * Side * 3];
        var values = new float[Side * Side];
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                int i = y * Side + x;
                double d = Math.Sqrt((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy));
                values[i] = (float)Math.Max(0, 1 - d / reach);
                bool inside = d < radius;
                for (int c = 0; c < 3; c++)
                    pixels[3 * i + c] = (byte)Math.Clamp((inside ? 200 : 60) + rng.Next(-6, 7), 0, 255);
            }
        int cam = CamMaps.StridedSize(Side);
        return (new CamMaps([2], new float[cam * cam], cam, cam, values, Side, Side), new RgbImage(Side, Side, pixels));
    }

    [Theory]
    [InlineData(14, 0.25)]
    [InlineData(20, 0.45)]
    [InlineData(10, 0.60)]
    public void TheThresholdFollowsTheObjectsEdgeInTheImage(double radius, double edgeValue)
    {
        var estimate = new NormalizedCutThreshold();
        for (int seed = 0; seed < 5; seed++)
        {
            var (maps, image) = Disc(radius, edgeValue, seed);
            estimate.Add(maps, image);
        }
        Assert.Equal(5, estimate.Images);
        // One pixel of radius is worth (1 - edge) / reach of map value: about 0.04-0.05 here.
        Assert.InRange(estimate.Estimate(), edgeValue - 0.05, edgeValue + 0.05);
    }

    [Fact]
    public void OtsuFromTheMapsAloneCannotSeeTheEdgeTheCutFinds()
    {
        // The same map on two images whose objects end at different map values: the cut moves with the image, Otsu cannot.
        var low = new AutomaticThreshold();
        var high = new AutomaticThreshold();
        var (maps, smallDisc) = Disc(10, 0.6, seed: 1);
        var (_, largeDisc) = Disc(10 / 0.4 * 0.8, 0.2, seed: 1); // same reach (25 px), edge at 0.2 instead of 0.6
        low.Add(maps, largeDisc);
        high.Add(maps, smallDisc);
        float otsu = low.Otsu();
        Assert.Equal(otsu, high.Otsu());
        Assert.Equal("normalized-cut", low.Method);
        // Each moves from Otsu's threshold towards its own edge, at most by the window.
        Assert.InRange(low.Estimate(), Math.Max(0.15, otsu - AutomaticThreshold.CutWindow) - 1e-4, otsu - 0.03);
        Assert.InRange(high.Estimate(), otsu + 0.03, Math.Min(0.65, otsu + AutomaticThreshold.CutWindow) + 1e-4);
        Assert.InRange(CutOf(maps, largeDisc), 0.15, 0.25); // unbounded: the edge itself
        Assert.InRange(CutOf(maps, smallDisc), 0.55, 0.65);
    }

    private static float CutOf(CamMaps maps, RgbImage image)
    {
        var cut = new NormalizedCutThreshold();
        cut.Add(maps, image);
        return cut.Estimate();
    }

    [Fact]
    public void AVoteOutsideTheRangeAskedForIsClampedToIt()
    {
        var estimate = new NormalizedCutThreshold();
        var (maps, image) = Disc(14, 0.3, seed: 0);
        estimate.Add(maps, image);
        Assert.InRange(estimate.Estimate(), 0.25, 0.35);
        Assert.Equal(0.4f, estimate.Estimate(0.4f, 0.5f), 3);
        Assert.Equal(0.2f, estimate.Estimate(0.1f, 0.2f), 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => estimate.Estimate(0.9f, 1f));
    }

    [Fact]
    public void ImagesWithoutClassesDoNotVoteAndTheMedianIgnoresAnOutlier()
    {
        var estimate = new NormalizedCutThreshold();
        Assert.Throws<InvalidOperationException>(() => estimate.Estimate());
        var (_, image) = Disc(14, 0.3, seed: 0);
        estimate.Add(new CamMaps([], [], CamMaps.StridedSize(Side), CamMaps.StridedSize(Side), [], Side, Side), image);
        Assert.Equal(0, estimate.Images);
        for (int seed = 0; seed < 4; seed++)
        {
            var (maps, picture) = Disc(14, 0.3, seed);
            estimate.Add(maps, picture);
        }
        var (outlierMaps, outlierImage) = Disc(10, 0.65, seed: 9);
        estimate.Add(outlierMaps, outlierImage);
        Assert.InRange(estimate.Estimate(), 0.25, 0.35);
    }

    [Fact]
    public void MapsOfAnotherSizeThanTheImageAreAnError()
    {
        var (maps, _) = Disc(14, 0.3, seed: 0);
        var other = new RgbImage(Side, Side / 2, new byte[Side * Side / 2 * 3]);
        var error = Assert.Throws<ArgumentException>(() => new NormalizedCutThreshold().Add(maps, other));
        Assert.Contains("64x64", error.Message);
        Assert.Contains("64x32", error.Message);
    }

    [Fact]
    public void AutomaticThresholdFallsBackToOtsuWithoutImagesAndRecordsBoth()
    {
        string dir = Directory.CreateTempSubdirectory("recam-cut").FullName;
        try
        {
            var mapsOnly = new AutomaticThreshold();
            var (maps, image) = Disc(14, 0.3, seed: 0);
            mapsOnly.Add(maps);
            Assert.Equal("otsu", mapsOnly.Method);
            Assert.Equal(mapsOnly.Otsu(), mapsOnly.Estimate());

            var withImages = new AutomaticThreshold();
            withImages.Add(maps, image);
            Assert.Equal(1, withImages.CutVotes);
            withImages.Write(dir);
            string json = File.ReadAllText(Path.Combine(dir, AutomaticThreshold.FileName));
            Assert.Contains("\"method\": \"normalized-cut\"", json);
            Assert.Contains("\"otsu\": ", json);
            Assert.Equal(Math.Round(withImages.Estimate(), 3), AutomaticThreshold.Read(dir)!.Value, 5);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
