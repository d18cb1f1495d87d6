using System.Text.Json;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Pipeline;
using ReCam.Refinement;
using ReCam.Scenes;
using ReCam.Tests.Pipeline;
using Xunit;

namespace ReCam.Tests.Refinement;

/// <summary>cam-to-ir-label on generated scenes whose "CAMs" are blurred ground-truth masks (no training needed).</summary>
public sealed class CamToIrLabelStepTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "recam-irlabel-" + Guid.NewGuid().ToString("N"));
    private readonly SceneSet _set;
    private readonly PipelineSettings _settings;

    public CamToIrLabelStepTests()
    {
        _set = SceneGenerator.Generate(Path.Combine(_root, "voc"), new SceneOptions { Count = 6, ValFraction = 0, ImageSize = 48, Seed = 4 });
        _settings = new PipelineSettings { VocRoot = _set.Root, WorkDir = Path.Combine(_root, "work"), Threads = 2 };
        var cams = new WorkFolder(_settings.WorkDir).Cams;
        Directory.CreateDirectory(cams);
        CamMapsFile.RecordClasses(cams, _set.ClassNames);
        foreach (string id in _set.TrainIds) CamMapsFile.Write(CamMapsFile.PathFor(cams, id), MapsFromMask(Mask(id)));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private LabelMap Mask(string id) => PngLabelReader.Read(Path.Combine(_set.Root, "SegmentationClass", id + ".png"));

    // Each present class's mask, box-blurred (radius 2) and scaled to 0.9: soft maps that peak inside the object.
    internal static CamMaps MapsFromMask(LabelMap mask)
    {
        int w = mask.Width, h = mask.Height;
        var keys = mask.Values.Where(v => v is > 0 and < 255).Distinct().Order().Select(v => (long)(v - 1)).ToArray();
        var high = new float[keys.Length * w * h];
        for (int k = 0; k < keys.Length; k++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int inside = 0, all = 0;
                    for (int dy = -2; dy <= 2; dy++)
                        for (int dx = -2; dx <= 2; dx++)
                        {
                            int yy = Math.Clamp(y + dy, 0, h - 1), xx = Math.Clamp(x + dx, 0, w - 1);
                            all++;
                            if (mask.Values[yy * w + xx] == keys[k] + 1) inside++;
                        }
                    high[(k * h + y) * w + x] = 0.9f * inside / all;
                }
        int ch = CamMaps.StridedSize(h), cw = CamMaps.StridedSize(w);
        var strided = new float[keys.Length * ch * cw]; // the stride-4 maps sample the full-resolution ones
        for (int k = 0; k < keys.Length; k++)
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++) strided[(k * ch + y) * cw + x] = high[(k * h + Math.Min(4 * y + 1, h - 1)) * w + Math.Min(4 * x + 1, w - 1)];
        return new CamMaps(keys, strided, ch, cw, high, h, w);
    }

    [Fact]
    public void WritesOneLabelPerImageWithOnlyItsClassesAndReportsTheirQuality()
    {
        var log = new ListLogger();
        int written = CamToIrLabelStep.Run(_settings, new IrLabelOptions(), log);
        Assert.Equal(_set.TrainIds.Count, written);
        var work = new WorkFolder(_settings.WorkDir);
        var quality = new IrLabelQuality();
        foreach (string id in _set.TrainIds)
        {
            var label = PngLabelReader.Read(CamToIrLabelStep.PathFor(work.IrLabels, id));
            var mask = Mask(id);
            var allowed = mask.Values.Where(v => v is > 0 and < 255).Append((byte)0).Append(IrLabel.Unsure).ToHashSet();
            Assert.All(label.Values.Distinct(), v => Assert.Contains(v, allowed));
            quality.Add(label, mask);
        }
        Assert.True(quality.Precision > 0.95, $"precision {quality.Precision:F3}");
        Assert.InRange(quality.UnsureShare, 0.001, 0.5);
        using var metrics = JsonDocument.Parse(File.ReadAllText(work.MetricsFile(CamToIrLabelStep.Name)));
        Assert.Equal(quality.Precision, metrics.RootElement.GetProperty("precision").GetDouble(), 3);
        Assert.Equal("cam", metrics.RootElement.GetProperty("maps").GetString());
    }

    [Fact]
    public void ThresholdsFollowTheMapsAutomaticThresholdAndTheOfficialPresetKeepsItsOwn()
    {
        var work = new WorkFolder(_settings.WorkDir);
        File.WriteAllText(Path.Combine(work.Cams, ReCam.Evaluation.AutomaticThreshold.FileName), "{\"threshold\": 0.3}");
        CamToIrLabelStep.Run(_settings, new IrLabelOptions(), new ListLogger());
        using (var recorded = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.IrLabels, CamToIrLabelStep.SettingsFile))))
        {
            Assert.Equal(0.5, recorded.RootElement.GetProperty("foreground_threshold").GetDouble(), 3);
            Assert.Equal(0.1429, recorded.RootElement.GetProperty("background_threshold").GetDouble(), 3);
        }
        CamToIrLabelStep.Run(_settings with { Force = true }, IrLabelOptions.Official, new ListLogger());
        using var official = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.IrLabels, CamToIrLabelStep.SettingsFile)));
        Assert.Equal(0.35, official.RootElement.GetProperty("foreground_threshold").GetDouble(), 3);
        Assert.Equal(0.10, official.RootElement.GetProperty("background_threshold").GetDouble(), 3);
    }

    [Fact]
    public void ARerunResumesAndLabelsOfOtherSettingsAreNotMixedIn()
    {
        var options = new IrLabelOptions { ForegroundThreshold = 0.5, BackgroundThreshold = 0.1 };
        CamToIrLabelStep.Run(_settings, options, new ListLogger());
        var work = new WorkFolder(_settings.WorkDir);
        string first = CamToIrLabelStep.PathFor(work.IrLabels, _set.TrainIds[0]);
        File.Delete(first);
        Assert.Equal(1, CamToIrLabelStep.Run(_settings, options, new ListLogger()));
        Assert.True(File.Exists(first));
        var e = Assert.Throws<InvalidDataException>(() => CamToIrLabelStep.Run(_settings, options with { ForegroundThreshold = 0.6 }, new ListLogger()));
        Assert.Contains("--force", e.Message);
        Assert.Equal(_set.TrainIds.Count, CamToIrLabelStep.Run(_settings with { Force = true }, options with { ForegroundThreshold = 0.6 }, new ListLogger()));
    }

    [Fact]
    public void MissingOrMismatchedMapsAreNamed()
    {
        var work = new WorkFolder(_settings.WorkDir);
        string id = _set.TrainIds[1];
        File.Delete(CamMapsFile.PathFor(work.Cams, id));
        var missing = Assert.Throws<FileNotFoundException>(() => CamToIrLabelStep.Run(_settings, new IrLabelOptions(), new ListLogger()));
        Assert.Contains(id, missing.Message);
        Assert.Contains("make-cam", missing.Message);

        var small = new CamMaps([0], new float[4], 2, 2, new float[64], 8, 8);
        CamMapsFile.Write(CamMapsFile.PathFor(work.Cams, id), small);
        var mismatch = Assert.Throws<InvalidDataException>(() => CamToIrLabelStep.Run(_settings, new IrLabelOptions(), new ListLogger()));
        Assert.Contains(id + ".npz", mismatch.Message);
        Assert.Contains("8x8", mismatch.Message);
        Assert.False(File.Exists(CamToIrLabelStep.PathFor(work.IrLabels, id)));

        var advcam = Assert.Throws<DirectoryNotFoundException>(() => CamToIrLabelStep.Run(_settings, new IrLabelOptions { Maps = MapsSource.AdvCam }, new ListLogger()));
        Assert.Contains("run make-advcam", advcam.Message);
    }
}
