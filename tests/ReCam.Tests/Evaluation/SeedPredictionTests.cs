using ReCam.Cam;
using ReCam.Evaluation;
using Xunit;

namespace ReCam.Tests.Evaluation;

public class SeedPredictionTests
{
    internal static CamMaps Maps(long[] keys, int height, int width, float[] highRes) =>
        new(keys, new float[keys.Length * CamMaps.StridedSize(height) * CamMaps.StridedSize(width)],
            CamMaps.StridedSize(height), CamMaps.StridedSize(width), highRes, height, width);

    [Fact]
    public void BackgroundWinsTiesAndKeysMapToLabels()
    {
        float[] planes =
        [
            0.30f, 0.10f, 0.50f, 0.21f, 0.90f, // key 4 -> label 5
            0.20f, 0.40f, 0.50f, 0.10f, 0.95f, // key 11 -> label 12
        ];
        CamMaps maps = Maps([4, 11], 1, 5, planes);
        Assert.Equal(new byte[] { 5, 12, 5, 0, 12 }, SeedPrediction.Predict(maps, 0.21f));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 12 }, SeedPrediction.Predict(maps, 0.9f));
        Assert.Equal(new byte[] { 5, 12, 5, 5, 12 }, SeedPrediction.Predict(maps, 0f));
    }

    [Fact]
    public void NoClassesGivesAllBackground()
    {
        CamMaps maps = Maps([], 3, 2, []);
        Assert.Equal(new byte[6], SeedPrediction.Predict(maps, -1f));
    }

    [Fact]
    public void WritesIntoDestinationOfRightLength()
    {
        CamMaps maps = Maps([0], 1, 2, [0.5f, 0.1f]);
        var dest = new byte[] { 9, 9 };
        SeedPrediction.Predict(maps, 0.2f, dest);
        Assert.Equal(new byte[] { 1, 0 }, dest);
        Assert.Throws<ArgumentException>(() => SeedPrediction.Predict(maps, 0.2f, new byte[3]));
    }
}
