using System.Text.Json;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Pipeline;
using ReCam.Training;
using Xunit;

namespace ReCam.Tests.Pipeline;

[Collection(TinyScenesCollection.Name)]
public class ReCamStepsTests(TinyScenes data)
{
    private static readonly ReCamTrainingOptions Tiny = new()
    {
        Epochs = 1, HeadWarmupEpochs = 1, BatchSize = 8, Crop = 64, HeadLearningRate = 0.05,
    };

    [Fact]
    public void TrainReCamContinuesFromTheCamCheckpointAndMakeReCamWritesMaps()
    {
        var settings = data.Settings with { WorkDir = Path.Combine(data.Root, "recam-" + Guid.NewGuid().ToString("N")) };
        var work = new WorkFolder(settings.WorkDir);
        var log = new ListLogger();
        TrainReCamStep.Run(settings with { Checkpoint = new WorkFolder(data.Work).CamCheckpoint }, Tiny, log);
        Assert.True(File.Exists(work.ReCamCheckpoint));
        Assert.True(File.Exists(work.EpochCheckpoint("recam", 1)));
        Assert.Contains(log.Entries, e => e.Message.Contains("head warm-up"));

        using (var doc = JsonDocument.Parse(File.ReadAllText(work.MetricsFile("train-recam"))))
        {
            var epochs = doc.RootElement.GetProperty("perEpoch").EnumerateArray().ToList();
            Assert.Equal(2, epochs.Count);
            foreach (var e in epochs)
            {
                Assert.InRange(e.GetProperty("accuracy").GetDouble(), 0.0, 1.0);
                Assert.True(double.IsFinite(e.GetProperty("sce").GetDouble()));
            }
        }

        // The backbone and W1 changed during the joint epoch; W2 exists; the checkpoint also loads as a CAM network.
        var (n, h, info) = Checkpoint.LoadReCamNetwork(work.ReCamCheckpoint);
        var (cam, _) = Checkpoint.LoadCamNetwork(new WorkFolder(data.Work).CamCheckpoint);
        using (n)
        using (h)
        using (cam)
        {
            Assert.Equal("recam", info.Kind);
            Assert.Equal(n.ClassifierWeight.shape, h.Weight.shape);
            Assert.False(n.ClassifierWeight.equal(cam.ClassifierWeight).all().item<bool>());
        }

        int written = MakeReCamStep.Run(settings, new ExtractionOptions { Scales = [1.0], Combination = WeightCombination.Product }, new ListLogger());
        Assert.Equal(data.Set.TrainIds.Count, written);
        var maps = CamMapsFile.Read(CamMapsFile.PathFor(work.ReCams, data.Set.TrainIds[0]));
        Assert.Equal((64, 64), (maps.Height, maps.Width));
        var report = EvalReCamStep.Run(settings, new EvaluationOptions(), new ListLogger());
        Assert.True(File.Exists(work.MetricsFile("eval-recam")));
        Assert.InRange(report.BestMeanIoU, 0.0, 1.0);
    }

    [Fact]
    public void TheBackgroundRowIsTrainedSavedAndLoadedBack()
    {
        var settings = data.Settings with { WorkDir = Path.Combine(data.Root, "recam-bg-" + Guid.NewGuid().ToString("N")) };
        var work = new WorkFolder(settings.WorkDir);
        TrainReCamStep.Run(settings with { Checkpoint = new WorkFolder(data.Work).CamCheckpoint }, Tiny with { Epochs = 0, BackgroundClass = true }, new ListLogger());
        var (n, h, info) = Checkpoint.LoadReCamNetwork(work.ReCamCheckpoint);
        using (n)
        using (h)
        {
            Assert.Equal("true", info.Options["backgroundClass"]);
            Assert.True(h.HasBackgroundClass);
            var background = h.state_dict()["background.weight"];
            Assert.Equal(new long[] { 1, n.ClassifierWeight.shape[1], 1, 1 }, background.shape);
            Assert.False(background.allclose(TorchSharp.torch.ones_like(background))); // trained away from its ones start
        }
    }

    [Fact]
    public void AHeadLeftAtChanceIsReportedAsAWarning()
    {
        var settings = data.Settings with { WorkDir = Path.Combine(data.Root, "recam-chance-" + Guid.NewGuid().ToString("N")) };
        var log = new ListLogger();
        // Official start (random W2) and a head that cannot learn (learning rate 0): its accuracy stays at chance.
        TrainReCamStep.Run(settings with { Checkpoint = new WorkFolder(data.Work).CamCheckpoint },
            Tiny with { Epochs = 0, HeadLearningRate = 0, HeadInit = HeadInitialization.Random, BackgroundClass = false }, log);
        using var doc = JsonDocument.Parse(File.ReadAllText(new WorkFolder(settings.WorkDir).MetricsFile("train-recam")));
        double accuracy = doc.RootElement.GetProperty("perEpoch")[0].GetProperty("accuracy").GetDouble();
        // A random head on ~50 class samples lands near chance (0.1) but may drift past twice chance (seen: 0.21 when the
        // fixture's CAM differed in its last bits): the warning must follow the measured accuracy either way.
        Assert.True(accuracy < 0.35, $"accuracy {accuracy}");
        bool warned = log.Entries.Any(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains("near chance") && e.Message.Contains("unreliable"));
        Assert.Equal(accuracy < 0.2, warned);
    }

    [Fact]
    public void RaisingLambdaWithoutLoweringTheHeadRateIsWarnedAbout()
    {
        var defaults = new ReCamTrainingOptions();
        Assert.Null(ReCamTrainer.LambdaScalesHeadStep(defaults));
        Assert.Null(ReCamTrainer.LambdaScalesHeadStep(defaults with { Lambda = 2 })); // step 2.0: measured safe
        string? warning = ReCamTrainer.LambdaScalesHeadStep(defaults with { Lambda = 10 });
        Assert.NotNull(warning);
        Assert.Contains("step is 10", warning);
        Assert.Contains("to 0.2 or less", warning);
        Assert.Null(ReCamTrainer.LambdaScalesHeadStep(defaults with { Lambda = 10, HeadLearningRate = 0.1 }));
        Assert.Null(ReCamTrainer.LambdaScalesHeadStep(ReCamTrainingOptions.Official with { Lambda = 10 })); // W2 at 5e-4
        Assert.Null(ReCamTrainer.LambdaScalesHeadStep(defaults with { Lambda = 10, Epochs = 0 })); // warm-up only: λ unused
    }

    [Fact]
    public void TheChanceWarningStartsBelowTwiceChance()
    {
        using var head = new ReCamHead(8, 10, backgroundClass: false);
        var official = new ReCamTrainingOptions { HeadInit = HeadInitialization.Random };
        Assert.Contains("unreliable", ReCamTrainer.HeadNearChance(0.19, head, official));
        Assert.Null(ReCamTrainer.HeadNearChance(0.21, head, official));
        // From ones with W2 as trained the maps stay near CAM; a gain above 1 amplifies the untrained head's noise (the defaults).
        Assert.Contains("close to CAM", ReCamTrainer.HeadNearChance(0.1, head, official with { HeadInit = HeadInitialization.Ones, W2Gain = 1 }));
        Assert.Contains("unreliable", ReCamTrainer.HeadNearChance(0.1, head, new ReCamTrainingOptions()));
        Assert.Null(ReCamTrainer.HeadNearChance(0.1, head, official with { Combination = WeightCombination.W1 }));
        using var withBackground = new ReCamHead(8, 10, backgroundClass: true);
        Assert.NotNull(ReCamTrainer.HeadNearChance(0.18, withBackground, official)); // chance 1/11: warned below 0.1818
        Assert.Null(ReCamTrainer.HeadNearChance(0.19, withBackground, official));
    }

    [Fact]
    public void MakeReCamOnAPlainCamCheckpointSaysWhatIsMissing()
    {
        var settings = data.Settings with { WorkDir = Path.Combine(data.Root, "recam-missing-" + Guid.NewGuid().ToString("N")) };
        var e = Assert.Throws<InvalidDataException>(() =>
            MakeReCamStep.Run(settings with { Checkpoint = new WorkFolder(data.Work).CamCheckpoint }, new ExtractionOptions(), new ListLogger()));
        Assert.Contains("train-recam", e.Message);
    }
}
