using System.Text.Json;
using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Pipeline;
using ReCam.Training;
using Xunit;

namespace ReCam.Tests.Pipeline;

[Collection(TinyScenesCollection.Name)]
public class PipelineEndToEndTests(TinyScenes data)
{
    private static readonly ExtractionOptions Fast = new() { Scales = [1.0, 0.5] };

    [Fact]
    public void TrainCamWritesCheckpointsAndMetricsWithFiniteLosses()
    {
        var work = new WorkFolder(data.Work);
        Assert.True(File.Exists(work.CamCheckpoint));
        Assert.True(File.Exists(work.CamEpochCheckpoint(1)));
        var info = Checkpoint.ReadInfo(work.CamCheckpoint);
        Assert.Equal(data.Set.ClassNames, info.Classes);
        Assert.Equal(2, info.Epoch);
        using var doc = JsonDocument.Parse(File.ReadAllText(work.MetricsFile("train-cam")));
        var losses = doc.RootElement.GetProperty("perEpoch").EnumerateArray().Select(e => e.GetProperty("loss").GetDouble()).ToList();
        Assert.Equal(2, losses.Count);
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0 && l < 1.5, $"loss {l}"));
    }

    [Fact]
    public void TrainingKeepsTheStemAndBatchNormStatisticsAndMovesTheRest()
    {
        var work = new WorkFolder(data.Work);
        var (trained, info) = Checkpoint.LoadCamNetwork(work.CamCheckpoint);
        using var _ = trained;
        var (initial, _) = ReCam.Networks.BackboneCatalog.Create(trained.Spec, null);
        using var __ = initial;
        var t = trained.state_dict();
        foreach (var (name, value) in initial.state_dict())
        {
            bool same = value.equal(t["backbone." + name]).all().item<bool>();
            if (name.StartsWith("conv1", StringComparison.Ordinal) || name.StartsWith("bn1", StringComparison.Ordinal) || name.Contains("running_"))
                Assert.True(same, $"{name} should not change");
        }
        Assert.False(initial.state_dict()["layer4.0.conv1.weight"].equal(t["backbone.layer4.0.conv1.weight"]).all().item<bool>());
        Assert.False(initial.state_dict()["layer1.0.bn1.weight"].equal(t["backbone.layer1.0.bn1.weight"]).all().item<bool>());
    }

    [Fact]
    public void ADamagedCheckpointIsRefusedAndNotCountedAsDone()
    {
        string path = Path.Combine(data.Root, "damaged-" + Guid.NewGuid().ToString("N") + ".ckpt");
        var bytes = File.ReadAllBytes(new WorkFolder(data.Work).CamCheckpoint);
        for (int i = 0; i < 64; i++) bytes[bytes.Length / 2 + i] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Verify(path));
            Assert.Contains(path, e.Message);
            Assert.Throws<InvalidDataException>(() => Checkpoint.LoadCamNetwork(path));
            var log = new ListLogger();
            Assert.False(TrainingLog.AlreadyDone(path, force: false, "train-cam", log));
            Assert.Contains(log.Entries, x => x.Message.Contains("unreadable"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TrainCamSkipsWhenDoneAndResumesFromTheLastEpoch()
    {
        var copy = Path.Combine(data.Root, "resume-" + Guid.NewGuid().ToString("N"));
        var work = new WorkFolder(copy);
        Directory.CreateDirectory(work.Models);
        File.Copy(new WorkFolder(data.Work).CamEpochCheckpoint(1), work.CamEpochCheckpoint(1));
        var log = new ListLogger();
        var settings = data.Settings with { WorkDir = copy };
        TrainCamStep.Run(settings, TinyScenes.Training, log);
        Assert.Contains(log.Entries, e => e.Message.Contains("resuming after epoch 1"));

        // The resumed run sees the same batches and restores SGD's momentum buffers: its weights are those of the uninterrupted run.
        Assert.NotNull(Checkpoint.ReadOptimizerState(work.CamEpochCheckpoint(1)));
        var (a, _) = Checkpoint.LoadCamNetwork(new WorkFolder(data.Work).CamCheckpoint);
        var (b, _) = Checkpoint.LoadCamNetwork(work.CamCheckpoint);
        using (a)
        using (b)
        {
            var resumed = b.state_dict();
            foreach (var (name, t) in a.state_dict())
                Assert.True(t.equal(resumed[name]).all().item<bool>(), $"{name} differs between the resumed and the uninterrupted run");
        }

        log = new ListLogger();
        TrainCamStep.Run(settings, TinyScenes.Training, log);
        Assert.Contains(log.Entries, e => e.Message.Contains("skipping"));
    }

    [Fact]
    public void MakeCamWritesOneNpzPerImageAndResumes()
    {
        var settings = data.Settings with { WorkDir = Path.Combine(data.Root, "make-" + Guid.NewGuid().ToString("N")) };
        Directory.CreateDirectory(new WorkFolder(settings.WorkDir).Models);
        File.Copy(new WorkFolder(data.Work).CamCheckpoint, new WorkFolder(settings.WorkDir).CamCheckpoint);
        int done = MakeCamStep.Run(settings with { Shard = (1, 2) }, Fast, new ListLogger());
        Assert.Equal(data.Set.TrainIds.Count / 2, done);
        done = MakeCamStep.Run(settings, Fast, new ListLogger());
        Assert.Equal(data.Set.TrainIds.Count - data.Set.TrainIds.Count / 2, done); // the other shard only
        Assert.Equal(0, MakeCamStep.Run(settings, Fast, new ListLogger()));

        string id = data.Set.TrainIds[0];
        var maps = CamMapsFile.Read(CamMapsFile.PathFor(new WorkFolder(settings.WorkDir).Cams, id));
        Assert.Equal((64, 64, 16, 16), (maps.Height, maps.Width, maps.CamHeight, maps.CamWidth));
        var labels = new ReCam.Data.VocDataset(data.Voc, data.Set.ClassNames).LoadLabels([id]);
        Assert.Equal(labels[id].Select((v, i) => (v, i)).Where(p => p.v > 0).Select(p => (long)p.i), maps.Keys);
        Assert.Empty(Directory.GetFiles(new WorkFolder(settings.WorkDir).Cams, "*.tmp"));

        var report = EvalCamStep.Run(settings, new EvaluationOptions(), new ListLogger());
        Assert.Equal(data.Set.TrainIds.Count, report.ImageCount);
        Assert.InRange(report.BestMeanIoU, report.DefaultMeanIoU, 1.0);
        Assert.InRange(report.BestMeanIoU, 0.05, 1.0);
        Assert.Equal(data.Set.ClassNames.Count + 1, report.Classes.Count);
        Assert.True(File.Exists(new WorkFolder(settings.WorkDir).MetricsFile("eval-cam")));
        Assert.Contains("background", report.ToTable());

        // threshold.json beside the maps: the estimate from the maps and images of the split (the normalised cut; Otsu recorded
        // beside it); eval reports the mIoU of its sweep there.
        string cams = new WorkFolder(settings.WorkDir).Cams;
        float automatic = AutomaticThreshold.Read(cams)!.Value;
        var dataset = new ReCam.Data.VocDataset(data.Voc, data.Set.ClassNames);
        var estimate = AutomaticThreshold.FromFolder(cams, data.Set.TrainIds, dataset.ImagePath);
        Assert.Equal("normalized-cut", estimate.Method);
        Assert.Equal(Math.Round(estimate.Estimate(), 3), automatic, 5);
        Assert.Contains("\"method\": \"normalized-cut\"", File.ReadAllText(Path.Combine(cams, AutomaticThreshold.FileName)));
        Assert.Equal(automatic, report.AutomaticThreshold);
        Assert.Equal(report.Sweep.Single(s => Math.Abs(s.Threshold - automatic) < 1e-6f).MeanIoU, report.AutomaticMeanIoU);
        Assert.Contains("automatic threshold", report.ToTable());
        Assert.Contains("\"automatic_miou\"", report.ToJson());
    }

    [Fact]
    public void EvalCamNamesMissingMapsAndMismatchedMasks()
    {
        var settings = data.Settings with { WorkDir = Path.Combine(data.Root, "eval-" + Guid.NewGuid().ToString("N")) };
        var e = Assert.Throws<FileNotFoundException>(() => EvalCamStep.Run(settings, new EvaluationOptions(), new ListLogger()));
        Assert.Contains("make-cam", e.Message);

        // A mask whose size differs from its image: the error names the mask file.
        var cams = new WorkFolder(settings.WorkDir).Cams;
        foreach (string id in data.Set.TrainIds)
            CamMapsFile.Write(CamMapsFile.PathFor(cams, id), new CamMaps([0], new float[4 * 4], 4, 4, new float[16 * 16], 16, 16));
        // Without threshold.json the automatic threshold reads the images first: the error names the maps and the image.
        var sizes = Assert.Throws<InvalidDataException>(() => EvalCamStep.Run(settings, new EvaluationOptions(), new ListLogger()));
        Assert.Contains(".npz", sizes.Message);
        Assert.Contains("JPEGImages", sizes.Message);
        File.WriteAllText(Path.Combine(cams, AutomaticThreshold.FileName), "{\"threshold\": 0.3}");
        var mismatch = Assert.Throws<InvalidDataException>(() => EvalCamStep.Run(settings, new EvaluationOptions(), new ListLogger()));
        Assert.Contains("SegmentationClass", mismatch.Message);
    }

    [Fact]
    public void MissingOrCorruptImagesAreNamed()
    {
        string voc = Path.Combine(data.Root, "broken-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(data.Voc, voc);
        string victim = data.Set.TrainIds[3];
        File.Delete(Path.Combine(voc, "JPEGImages", victim + ".jpg"));
        var settings = data.Settings with { VocRoot = voc, WorkDir = Path.Combine(voc, "work") };
        var e = Assert.Throws<FileNotFoundException>(() => MakeCamStep.Run(settings, Fast, new ListLogger()));
        Assert.Contains(victim, e.Message);

        File.WriteAllBytes(Path.Combine(voc, "JPEGImages", victim + ".jpg"), [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]);
        Directory.CreateDirectory(new WorkFolder(settings.WorkDir).Models);
        File.Copy(new WorkFolder(data.Work).CamCheckpoint, new WorkFolder(settings.WorkDir).CamCheckpoint);
        var corrupt = Assert.ThrowsAny<Exception>(() => MakeCamStep.Run(settings, Fast, new ListLogger()));
        Assert.Contains(victim + ".jpg", corrupt.Message);
    }

    [Fact]
    public void ImagesWithoutLabelsAreSkippedWithAWarningAndGetEmptyMaps()
    {
        string voc = Path.Combine(data.Root, "nolabel-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(data.Voc, voc);
        string victim = data.Set.TrainIds[0];
        string xml = Path.Combine(voc, "Annotations", victim + ".xml");
        var doc = System.Xml.Linq.XDocument.Load(xml);
        System.Xml.Linq.Extensions.Remove(doc.Root!.Elements("object"));
        doc.Save(xml);
        var log = new ListLogger();
        var settings = data.Settings with { VocRoot = voc, WorkDir = Path.Combine(voc, "work") };
        var view = DatasetView.Open(settings, log);
        Assert.Contains(log.Entries, x => x.Level == LogLevel.Warning && x.Message.Contains(victim));
        Assert.Empty(view.Keys(victim));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
    }
}
