using ReCam.Cam;
using ReCam.Evaluation;
using Xunit;

namespace ReCam.Tests.Evaluation;

public sealed class AutomaticThresholdTests
{
    // One image of `pixels` values drawn from two normal modes, written as a single-class map.
    private static CamMaps Mixture(double low, double high, double highShare, int pixels, int seed)
    {
        var rng = new Random(seed);
        var values = new float[pixels];
        for (int i = 0; i < pixels; i++)
        {
            double mean = rng.NextDouble() < highShare ? high : low;
            double normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            values[i] = (float)Math.Clamp(mean + 0.05 * normal, 0, 1);
        }
        int height = 100, width = pixels / height;
        int ch = CamMaps.StridedSize(height), cw = CamMaps.StridedSize(width);
        return new CamMaps([0], new float[ch * cw], ch, cw, values, height, width);
    }

    [Theory]
    [InlineData(0.3, 0.7, 0.5)]
    [InlineData(0.1, 0.6, 0.5)]
    [InlineData(0.05, 0.5, 0.2)]
    public void OtsuFallsBetweenTheBackgroundAndTheForegroundModes(double low, double high, double share)
    {
        var estimate = new AutomaticThreshold();
        estimate.Add(Mixture(low, high, share, 20_000, seed: 1));
        Assert.InRange(estimate.Estimate(), low + 0.1, high - 0.1); // two standard deviations clear of either mode
    }

    [Fact]
    public void OverlappingEqualModesAreSplitHalfway()
    {
        var estimate = new AutomaticThreshold();
        estimate.Add(Mixture(0.4, 0.6, 0.5, 40_000, seed: 3)); // 4 standard deviations apart: the valley is at 0.5
        Assert.InRange(estimate.Estimate(), 0.485, 0.515);
    }

    [Fact]
    public void TheHighestClassOfEachPixelCountsAndImagesWithoutClassesAddNothing()
    {
        // Two classes: each pixel's value is the larger of the two planes (0.9 on the left half, 0.2 on the right).
        float[] planes = [0.9f, 0.9f, 0.1f, 0.1f, /* second class */ 0.0f, 0.0f, 0.2f, 0.2f];
        var estimate = new AutomaticThreshold();
        estimate.Add(new CamMaps([0, 3], new float[2], 1, 1, planes, 1, 4));
        estimate.Add(new CamMaps([], [], 1, 1, [], 1, 4));
        Assert.Equal(1, estimate.Images);
        Assert.Equal(4, estimate.Pixels);
        Assert.InRange(estimate.Estimate(), 0.2f, 0.9f);
        Assert.Throws<InvalidOperationException>(() => new AutomaticThreshold().Estimate());
    }

    [Fact]
    public void TheFileRoundTripsAndABadOneIsAnError()
    {
        string dir = Directory.CreateTempSubdirectory("recam-threshold").FullName;
        try
        {
            Assert.Null(AutomaticThreshold.Read(dir));
            var estimate = new AutomaticThreshold();
            estimate.Add(Mixture(0.2, 0.8, 0.4, 5_000, seed: 2));
            estimate.Write(dir);
            Assert.Equal(Math.Round(estimate.Estimate(), 3), AutomaticThreshold.Read(dir)!.Value, 5);
            Assert.Contains("\"method\": \"otsu\"", File.ReadAllText(Path.Combine(dir, AutomaticThreshold.FileName)));

            File.WriteAllText(Path.Combine(dir, AutomaticThreshold.FileName), "{\"threshold\": 3}");
            Assert.Contains("not between 0 and 1", Assert.Throws<InvalidDataException>(() => AutomaticThreshold.Read(dir)).Message);
            File.WriteAllText(Path.Combine(dir, AutomaticThreshold.FileName), "{\"t\": 0.3}");
            Assert.Contains(AutomaticThreshold.FileName, Assert.Throws<InvalidDataException>(() => AutomaticThreshold.Read(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
