using System.Text.Json;
using ReCam.Cam;
using ReCam.Evaluation;
using Xunit;

namespace ReCam.Tests.Evaluation;

public class ThresholdSweepTests
{
    // Pixels 0..4 are class key 0 (label 1), 5..9 background; the map separates them for 0.305 <= t < 0.555.
    private static (CamMaps, GroundTruth) Separable() =>
        (SeedPredictionTests.Maps([0], 1, 10, [0.9f, 0.8f, 0.7f, 0.6f, 0.555f, 0.305f, 0.255f, 0.205f, 0.105f, 0f]),
         new GroundTruth("img1", 10, 1, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]));

    [Fact]
    public void PicksLowestThresholdWithBestMeanIoU()
    {
        SweepResult r = ThresholdSweep.Run([Separable()], classCount: 2, defaultThreshold: 0.21f);
        Assert.Equal(1, r.ImageCount);
        Assert.Equal(56, r.Scores.Count);
        Assert.Equal(0.31f, r.BestThreshold);
        Assert.Equal(1.0, r.BestConfusion.MeanIoU(), 12);
        Assert.Equal(0.21f, r.DefaultThreshold);
        // At 0.21 the 0.255 and 0.305 pixels become foreground: fg IoU 5/7, bg IoU 3/5.
        Assert.Equal((5.0 / 7 + 3.0 / 5) / 2, r.DefaultConfusion.MeanIoU(), 12);
        Assert.Equal(2.0 / 7, r.DefaultConfusion.PredictedForegroundThatIsBackground(), 12);
        Assert.Equal(1.0, r.Scores.Single(s => s.Threshold == 0.55f).MeanIoU, 12);
        Assert.True(r.Scores.Single(s => s.Threshold == 0.56f).MeanIoU < 1.0);
    }

    [Fact]
    public void MatchesDirectPredictionAtEveryThreshold()
    {
        var rng = new Random(5);
        var images = new List<(CamMaps, GroundTruth)>();
        float[] grid = [.. ThresholdSweep.StandardThresholds()];
        for (int n = 0; n < 4; n++)
        {
            int h = 7 + n, w = 9;
            long[] keys = n == 3 ? [] : [.. Enumerable.Range(0, 5).Where(_ => rng.Next(2) == 0).Select(k => (long)k)];
            var high = new float[keys.Length * h * w];
            for (int i = 0; i < high.Length; i++)
                high[i] = rng.Next(4) == 0 ? grid[rng.Next(grid.Length)] : rng.NextSingle() * 0.7f; // exact ties too
            var gt = new byte[h * w];
            for (int i = 0; i < gt.Length; i++) gt[i] = (byte)(rng.Next(10) == 0 ? 255 : rng.Next(6));
            images.Add((SeedPredictionTests.Maps(keys, h, w, high), new GroundTruth($"img{n}", w, h, gt)));
        }
        var sweep = new ThresholdSweep(6, 0.215f);
        foreach (var (m, g) in images) sweep.Add(m, g);
        Assert.Equal(57, sweep.Thresholds.Count);
        for (int t = 0; t < sweep.Thresholds.Count; t++)
        {
            var direct = new ConfusionMatrix(6);
            foreach (var (m, g) in images) direct.Add(g.Values, SeedPrediction.Predict(m, sweep.Thresholds[t]));
            ConfusionMatrix fast = sweep.ConfusionAt(t);
            for (int a = 0; a < 6; a++)
                for (int b = 0; b < 6; b++)
                    Assert.Equal(direct[a, b], fast[a, b]);
        }
    }

    [Fact]
    public void SizeMismatchNamesTheImage()
    {
        var (maps, _) = Separable();
        var sweep = new ThresholdSweep(2, 0.21f);
        var e = Assert.Throws<InvalidDataException>(() => sweep.Add(maps, new GroundTruth("2007_000042", 9, 1, new byte[9])));
        Assert.Contains("2007_000042", e.Message);
        Assert.Throws<InvalidOperationException>(() => sweep.GetResult());
    }

    [Fact]
    public void ReportHasAllFieldsAndNullForAbsentClass()
    {
        SweepResult r = ThresholdSweep.Run([Separable()], classCount: 3, defaultThreshold: 0.21f);
        EvaluationReport report = EvaluationReport.Create(r, ["cat", "dog"]);
        using JsonDocument doc = JsonDocument.Parse(report.ToJson());
        JsonElement root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("images").GetInt32());
        Assert.Equal(0.21, root.GetProperty("default_threshold").GetDouble());
        Assert.Equal(0.31, root.GetProperty("best_threshold").GetDouble());
        Assert.Equal(1.0, root.GetProperty("best_miou").GetDouble(), 12);
        Assert.Equal((5.0 / 7 + 3.0 / 5) / 2, root.GetProperty("default_miou").GetDouble(), 12);
        Assert.Equal(2.0 / 7, root.GetProperty("predicted_fg_that_is_bg").GetDouble(), 12);
        JsonElement[] classes = [.. root.GetProperty("per_class_iou").EnumerateArray()];
        Assert.Equal(["background", "cat", "dog"], classes.Select(c => c.GetProperty("class").GetString()));
        Assert.Equal(JsonValueKind.Null, classes[2].GetProperty("iou_best").ValueKind);
        Assert.Equal(1.0, classes[1].GetProperty("iou_best").GetDouble(), 12);
        Assert.Equal(5.0 / 7, classes[1].GetProperty("iou_default").GetDouble(), 12);
        JsonElement[] sweep = [.. root.GetProperty("sweep").EnumerateArray()];
        Assert.Equal(56, sweep.Length);
        Assert.Equal(0.05, sweep[0].GetProperty("threshold").GetDouble());
        Assert.Equal(1.0, sweep[26].GetProperty("miou").GetDouble(), 12); // 0.31

        string table = report.ToTable();
        Assert.Contains("best 0.31", table);
        Assert.Contains("default 0.21", table);
        Assert.Matches(@"cat\s+100\.00\s+71\.43", table);
        Assert.Matches(@"dog\s+-\s+-", table);
        Assert.Throws<ArgumentException>(() => EvaluationReport.Create(r, ["cat"]));
    }
}
