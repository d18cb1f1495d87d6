using ReCam.Cam;
using ReCam.Pipeline;
using Xunit;

namespace ReCam.Tests.Pipeline;

/// <summary>make-advcam / eval-advcam on the tiny scenes' CAM, and the refinement steps reading the AdvCAMs.</summary>
[Collection(TinyScenesCollection.Name)]
public class AdvCamStepsTests(TinyScenes data)
{
    private static readonly AdvCamOptions Quick = new() { Iterations = 2 };

    [Fact]
    public void MakeAdvCamWritesMapsShardByShardAndResumes()
    {
        var settings = data.Settings with
        {
            WorkDir = Path.Combine(data.Root, "advcam-" + Guid.NewGuid().ToString("N")), Checkpoint = new WorkFolder(data.Work).CamCheckpoint,
        };
        var work = new WorkFolder(settings.WorkDir);
        var extraction = new ExtractionOptions { Scales = [1.0] };
        var log = new ListLogger();
        int first = MakeAdvCamStep.Run(settings with { Shard = (0, 2) }, extraction, Quick, log);
        int second = MakeAdvCamStep.Run(settings with { Shard = (1, 2) }, extraction, Quick, new ListLogger());
        Assert.Equal(data.Set.TrainIds.Count, first + second);
        Assert.Contains(log.Entries, e => e.Message.Contains("CAM network") && e.Message.Contains("2 iterations"));
        Assert.Contains(log.Entries, e => e.Message.Contains("images/s"));

        // Everything is done: a rerun writes nothing; a removed map is redone alone.
        Assert.Equal(0, MakeAdvCamStep.Run(settings, extraction, Quick, new ListLogger()));
        string id = data.Set.TrainIds[3];
        var before = CamMapsFile.Read(CamMapsFile.PathFor(work.AdvCams, id));
        File.Delete(CamMapsFile.PathFor(work.AdvCams, id));
        Assert.Equal(1, MakeAdvCamStep.Run(settings, extraction, Quick, new ListLogger()));
        var again = CamMapsFile.Read(CamMapsFile.PathFor(work.AdvCams, id));
        Assert.Equal(before.HighRes, again.HighRes); // deterministic
        Assert.Equal((64, 64), (again.Height, again.Width));

        // The same format as the CAMs: eval-advcam scores them, and cam-to-ir-label --maps advcam reads them.
        var report = EvalAdvCamStep.Run(settings, new EvaluationOptions(), new ListLogger());
        Assert.True(File.Exists(work.MetricsFile(EvalAdvCamStep.Name)));
        Assert.InRange(report.BestMeanIoU, 0.0, 1.0);
        CamToIrLabelStep.Run(settings with { Checkpoint = null }, new IrLabelOptions { Maps = MapsSource.AdvCam }, new ListLogger());
        Assert.Equal(data.Set.TrainIds.Count, Directory.EnumerateFiles(work.IrLabels, "*.png").Count());
    }

    [Fact]
    public void AdvCamsDifferFromTheCamsOfTheSameNetwork()
    {
        var settings = data.Settings with
        {
            WorkDir = Path.Combine(data.Root, "advcam-" + Guid.NewGuid().ToString("N")), Checkpoint = new WorkFolder(data.Work).CamCheckpoint,
            Shard = (0, 4),
        };
        var extraction = new ExtractionOptions { Scales = [1.0] };
        MakeAdvCamStep.Run(settings, extraction, Quick, new ListLogger());
        MakeCamStep.Run(settings, extraction, new ListLogger());
        var work = new WorkFolder(settings.WorkDir);
        var ids = Directory.EnumerateFiles(work.AdvCams, "*.npz").Select(f => Path.GetFileNameWithoutExtension(f)).ToList();
        Assert.Equal(6, ids.Count);
        int differing = 0;
        foreach (string id in ids)
        {
            var adv = CamMapsFile.Read(CamMapsFile.PathFor(work.AdvCams, id));
            var cam = CamMapsFile.Read(CamMapsFile.PathFor(work.Cams, id));
            Assert.Equal(cam.Keys, adv.Keys);
            // A class without a positive logit anywhere has an empty map either way (climbing follows ReLU(L) of the class).
            if (!cam.HighRes.SequenceEqual(adv.HighRes)) differing++;
        }
        Assert.True(differing > 0, "every AdvCAM equals its CAM");
    }
}
