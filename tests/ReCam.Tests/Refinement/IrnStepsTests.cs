using System.Text.Json;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Pipeline;
using ReCam.Refinement;
using ReCam.Scenes;
using ReCam.Tests.Pipeline;
using ReCam.Training;
using Xunit;

namespace ReCam.Tests.Refinement;

/// <summary>cam-to-ir-label → train-irn → make-sem-seg → eval-sem-seg on generated scenes with blurred-mask "CAMs".</summary>
public sealed class IrnStepsTests : IDisposable
{
    private static readonly BoundaryTrainingOptions Tiny = new() { Epochs = 3, BatchSize = 4, Crop = 80 };
    private readonly string _root = Path.Combine(Path.GetTempPath(), "recam-irn-" + Guid.NewGuid().ToString("N"));
    private readonly SceneSet _set;
    private readonly PipelineSettings _settings;
    private readonly WorkFolder _work;

    public IrnStepsTests()
    {
        _set = SceneGenerator.Generate(Path.Combine(_root, "voc"), new SceneOptions { Count = 8, ValFraction = 0, ImageSize = 64, Seed = 6 });
        _settings = new PipelineSettings { VocRoot = _set.Root, WorkDir = Path.Combine(_root, "work"), Threads = 2, Seed = 2 };
        _work = new WorkFolder(_settings.WorkDir);
        Directory.CreateDirectory(_work.Cams);
        CamMapsFile.RecordClasses(_work.Cams, _set.ClassNames);
        foreach (string id in _set.TrainIds)
            CamMapsFile.Write(CamMapsFile.PathFor(_work.Cams, id),
                CamToIrLabelStepTests.MapsFromMask(PngLabelReader.Read(Path.Combine(_set.Root, "SegmentationClass", id + ".png"))));
        CamToIrLabelStep.Run(_settings, new IrLabelOptions(), new ListLogger());
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void IrLabelsBecomeABoundaryNetworkAndPseudoMasksThatAreScored()
    {
        var log = new ListLogger();
        string model = TrainIrnStep.Run(_settings, Tiny, log);
        Assert.Equal(_work.Checkpoint("irn"), model);
        var info = Checkpoint.Verify(model);
        Assert.Equal(TrainIrnStep.Kind, info.Kind);
        Assert.Equal(_set.ClassNames, info.Classes);
        Assert.Contains(log.Entries, e => e.Message.Contains("epoch 3/3"));
        // Only the two latest epoch checkpoints are kept.
        Assert.False(File.Exists(_work.EpochCheckpoint("irn", 1)));
        Assert.True(File.Exists(_work.EpochCheckpoint("irn", 2)) && File.Exists(_work.EpochCheckpoint("irn", 3)));

        // The walk's own masks first (the official ones); the mask CRF, on by default, is checked against them below.
        var official = new SemSegOptions { Crf = false };
        Assert.Equal(_set.TrainIds.Count, MakeSemSegStep.Run(_settings, official, new ListLogger()));
        foreach (string id in _set.TrainIds)
        {
            var mask = PngLabelReader.Read(MakeSemSegStep.PathFor(_work.PseudoMasks, id));
            var truth = PngLabelReader.Read(Path.Combine(_set.Root, "SegmentationClass", id + ".png"));
            Assert.Equal((truth.Width, truth.Height), (mask.Width, mask.Height));
            var allowed = truth.Values.Where(v => v != 255).ToHashSet();
            allowed.Add(0);
            Assert.All(mask.Values.Distinct(), v => Assert.Contains(v, allowed)); // only the image's own classes
        }
        Assert.Equal(0, MakeSemSegStep.Run(_settings, official, new ListLogger())); // resumes: nothing left

        // Three epochs on eight images give no usable boundaries; this checks the evaluation, not the masks' quality
        // (RandomWalkTests checks that with true boundaries).
        var result = EvalSemSegStep.Run(_settings, new ListLogger());
        Assert.Equal(_set.TrainIds.Count, result.Images);
        var matrix = new ReCam.Evaluation.ConfusionMatrix(_set.ClassNames.Count + 1);
        foreach (string id in _set.TrainIds)
            matrix.Add(PngLabelReader.Read(Path.Combine(_set.Root, "SegmentationClass", id + ".png")).Values,
                PngLabelReader.Read(MakeSemSegStep.PathFor(_work.PseudoMasks, id)).Values);
        Assert.Equal(matrix.MeanIoU(), result.MeanIoU, 10);
        using var json = JsonDocument.Parse(File.ReadAllText(_work.MetricsFile(EvalSemSegStep.Name)));
        Assert.Equal(result.MeanIoU, json.RootElement.GetProperty("miou").GetDouble(), 5);
        Assert.Equal(_set.ClassNames.Count + 1, json.RootElement.GetProperty("classes").EnumerateObject().Count());
        Assert.Equal(0, json.RootElement.GetProperty("unlabelled").GetDouble());

        // With an uncertain margin the same masks gain unlabelled pixels (255) and nothing else changes; the evaluation
        // leaves those pixels out and reports their share.
        var plain = _set.TrainIds.ToDictionary(id => id, id => PngLabelReader.Read(MakeSemSegStep.PathFor(_work.PseudoMasks, id)).Values);
        Assert.Throws<InvalidDataException>(() => MakeSemSegStep.Run(_settings, official with { UncertainMargin = 0.3f }, new ListLogger()));
        Assert.Equal(_set.TrainIds.Count, MakeSemSegStep.Run(_settings with { Force = true }, official with { UncertainMargin = 0.3f }, new ListLogger()));
        long unlabelled = 0, scored = 0;
        matrix = new ReCam.Evaluation.ConfusionMatrix(_set.ClassNames.Count + 1);
        foreach (string id in _set.TrainIds)
        {
            var mask = PngLabelReader.Read(MakeSemSegStep.PathFor(_work.PseudoMasks, id)).Values;
            var truth = PngLabelReader.Read(Path.Combine(_set.Root, "SegmentationClass", id + ".png")).Values.ToArray();
            for (int i = 0; i < mask.Length; i++)
            {
                Assert.True(mask[i] == PseudoMask.IgnoreLabel || mask[i] == plain[id][i], $"{id} pixel {i}: {mask[i]} against {plain[id][i]} without the margin");
                if (truth[i] == 255) continue;
                scored++;
                if (mask[i] == PseudoMask.IgnoreLabel) (truth[i], unlabelled) = ((byte)255, unlabelled + 1);
            }
            matrix.Add(truth, mask);
        }
        Assert.True(unlabelled > 0, "a margin of 0.3 leaves some pixels unlabelled");
        result = EvalSemSegStep.Run(_settings, new ListLogger());
        Assert.Equal((double)unlabelled / scored, result.UnlabelledFraction, 10);
        Assert.Equal(matrix.MeanIoU(), result.MeanIoU, 10);
        Assert.Contains("unlabelled %", result.ToTable());

        // The mask CRF (the default): each mask is the plain mask above snapped by the CRF; the folder records it, so a change without
        // --force is refused. (PseudoMask.RefineWithCrf itself, with unlabelled pixels, is checked in DenseCrfTests.)
        var crf = new SemSegOptions();
        Assert.True(crf.Crf);
        Assert.Throws<InvalidDataException>(() => MakeSemSegStep.Run(_settings, crf, new ListLogger()));
        Assert.Equal(_set.TrainIds.Count, MakeSemSegStep.Run(_settings with { Force = true }, crf, new ListLogger()));
        Assert.Contains("\"crf\"", File.ReadAllText(Path.Combine(_work.PseudoMasks, MakeSemSegStep.SettingsFile)));
        int changed = 0;
        foreach (string id in _set.TrainIds)
        {
            var image = ImageDecoder.LoadRgb(Path.Combine(_set.Root, "JPEGImages", id + ".jpg"));
            var actual = PngLabelReader.Read(MakeSemSegStep.PathFor(_work.PseudoMasks, id)).Values;
            Assert.Equal(PseudoMask.RefineWithCrf(image, new LabelMap(image.Width, image.Height, plain[id])).Values, actual);
            changed += actual.Zip(plain[id]).Count(p => p.First != p.Second);
        }
        Assert.True(changed > 0, "the CRF moved no pixel");
        result = EvalSemSegStep.Run(_settings, new ListLogger());
        Assert.Equal(scored, result.Confusion!.Total); // every scored pixel is labelled again, and counted once
        Assert.Equal(0, result.Confusion.Unlabelled);
    }

    [Fact]
    public void MissingOrWrongModelsAndLabelsAreNamed()
    {
        var noModel = Assert.Throws<FileNotFoundException>(() => MakeSemSegStep.Run(_settings, new SemSegOptions(), new ListLogger()));
        Assert.Contains(TrainIrnStep.Name, noModel.Message);

        // A checkpoint of another kind given as the boundary network.
        string cam = Path.Combine(_root, "cam.ckpt");
        using (var net = ReCam.Networks.BoundaryNetwork.Empty(ReCam.Networks.BackboneCatalog.Get("resnet18")))
            Checkpoint.Save(cam, net, new CheckpointInfo { Kind = "cam", Backbone = "resnet18", Classes = _set.ClassNames, Epochs = 1 });
        var wrongKind = Assert.Throws<InvalidDataException>(() => MakeSemSegStep.Run(_settings with { Checkpoint = cam }, new SemSegOptions(), new ListLogger()));
        Assert.Contains("not a boundary network", wrongKind.Message);

        // IR labels of another class list.
        File.WriteAllLines(Path.Combine(_work.IrLabels, CamMapsFile.ClassesFile), ["a", "b"]);
        var classes = Assert.Throws<InvalidDataException>(() => TrainIrnStep.Run(_settings, Tiny, new ListLogger()));
        Assert.Contains(_work.IrLabels, classes.Message);
        Assert.False(File.Exists(_work.Checkpoint("irn")));

        var crop = Assert.Throws<InvalidOptionException>(() => TrainIrnStep.Run(_settings, Tiny with { Crop = 82 }, new ListLogger()));
        Assert.Equal(nameof(TrainingOptions.Crop), crop.OptionName);
    }
}
