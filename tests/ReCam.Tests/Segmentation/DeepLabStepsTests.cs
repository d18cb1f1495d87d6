using System.Text.Json;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Networks.Import;
using ReCam.Pipeline;
using ReCam.Scenes;
using ReCam.Segmentation;
using ReCam.Tests.Pipeline;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Segmentation;

/// <summary>train-deeplab → eval-deeplab → predict on generated scenes, trained on their ground-truth masks.</summary>
public sealed class DeepLabStepsTests : IDisposable
{
    private static readonly DeepLabTrainingOptions Tiny = new() { Epochs = 2, BatchSize = 4, Crop = 64, Shape = new DeepLabShape(DeepLabVariant.V3, 16) };
    private static readonly SegmentationOptions Inference = new() { Scales = [1.0, 0.75] };
    private readonly string _root = Path.Combine(Path.GetTempPath(), "recam-deeplab-" + Guid.NewGuid().ToString("N"));
    private readonly SceneSet _set;
    private readonly PipelineSettings _settings;
    private readonly WorkFolder _work;
    private readonly string _truth;

    public DeepLabStepsTests()
    {
        _set = SceneGenerator.Generate(Path.Combine(_root, "voc"), new SceneOptions { Count = 11, ValFraction = 3 / 11.0, ImageSize = 64, Seed = 8 });
        _settings = new PipelineSettings { VocRoot = _set.Root, WorkDir = Path.Combine(_root, "work"), Threads = 2, Seed = 4 };
        _work = new WorkFolder(_settings.WorkDir);
        _truth = Path.Combine(_set.Root, "SegmentationClass");
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void MasksBecomeASegmenterThatIsScoredAndSegmentsNewImages()
    {
        var log = new ListLogger();
        string model = TrainDeepLabStep.Run(_settings, Tiny, _truth, log);
        Assert.Equal(_work.Checkpoint(TrainDeepLabStep.Kind), model);
        var (network, info) = TrainDeepLabStep.Load(model);
        using (network)
        {
            Assert.Equal((DeepLabVariant.V3, 16, _set.ClassNames.Count + 1), (network.Shape.Variant, network.Shape.OutputStride, network.LabelCount));
            Assert.Equal(_set.ClassNames, info.Classes);
            Assert.Equal(Path.GetFullPath(_truth), info.Options["masks"]);
        }
        Assert.Contains(log.Entries, e => e.Message.Contains("epoch 2/2"));
        Assert.True(File.Exists(_work.EpochCheckpoint(TrainDeepLabStep.Kind, 2)));
        var again = new ListLogger();
        TrainDeepLabStep.Run(_settings, Tiny, _truth, again);
        Assert.Contains(again.Entries, e => e.Message.Contains("skipping"));

        var val = _settings with { Split = "val" };
        var result = EvalDeepLabStep.Run(val, Inference, new ListLogger())!;
        Assert.Equal(_set.ValIds.Count, result.Images);
        var matrix = new ReCam.Evaluation.ConfusionMatrix(_set.ClassNames.Count + 1);
        foreach (string id in _set.ValIds)
        {
            var mask = PngLabelReader.Read(MakeSemSegStep.PathFor(_work.DeepLabMasks(crf: false), id));
            var truth = PngLabelReader.Read(Path.Combine(_truth, id + ".png"));
            Assert.Equal((truth.Width, truth.Height), (mask.Width, mask.Height));
            Assert.All(mask.Values, v => Assert.InRange(v, 0, _set.ClassNames.Count));
            matrix.Add(truth.Values, mask.Values);
        }
        Assert.Equal(matrix.MeanIoU(), result.MeanIoU, 10);
        using (var json = JsonDocument.Parse(File.ReadAllText(_work.MetricsFile(EvalDeepLabStep.Name))))
            Assert.InRange(Math.Abs(result.MeanIoU - json.RootElement.GetProperty("miou").GetDouble()), 0, 1e-6); // stored with 6 decimals
        var resumed = new ListLogger();
        EvalDeepLabStep.Run(val, Inference, resumed);
        Assert.Contains(resumed.Entries, e => e.Message.Contains($"0 of {_set.ValIds.Count} images to do"));
        // Other inference settings into the same folder would mix masks: refused, named.
        var e = Assert.Throws<InvalidDataException>(() => EvalDeepLabStep.Run(val, Inference with { Flip = false }, new ListLogger()));
        Assert.Contains("other settings", e.Message);

        // predict: new images (the val scenes, copied without labels) and one that cannot be decoded.
        string inbox = Path.Combine(_root, "inbox"), output = Path.Combine(_root, "predicted");
        Directory.CreateDirectory(inbox);
        foreach (string id in _set.ValIds) File.Copy(Path.Combine(_set.Root, "JPEGImages", id + ".jpg"), Path.Combine(inbox, id + ".jpg"));
        File.WriteAllBytes(Path.Combine(inbox, "broken.jpg"), [0xFF, 0xD8, 0xFF, 0x00, 0x01]);
        var settings = new PredictSettings { Model = model, Inputs = [inbox], OutputDir = output, Threads = 2 };
        var summary = PredictStep.Run(settings, Inference, new ListLogger());
        Assert.Equal(_set.ValIds.Count, summary.Written);
        var failure = Assert.Single(summary.Failures);
        Assert.EndsWith("broken.jpg", failure.Path);
        Assert.False(File.Exists(Path.Combine(output, "broken.png")));
        foreach (string id in _set.ValIds)
        {
            var (maskPath, overlayPath) = PredictStep.OutputsOf(output, id + ".jpg");
            // Same model, same inference: the same mask as eval-deeplab's.
            Assert.Equal(PngLabelReader.Read(MakeSemSegStep.PathFor(_work.DeepLabMasks(crf: false), id)).Values, PngLabelReader.Read(maskPath).Values);
            var overlay = ImageDecoder.LoadRgb(overlayPath);
            Assert.Equal((64, 64), (overlay.Width, overlay.Height));
        }
        Assert.Equal(_set.ValIds.Count, PredictStep.Run(settings, Inference, new ListLogger()).Skipped);
        var sharded = PredictStep.Run(settings with { OutputDir = Path.Combine(_root, "shard"), Shard = (1, 2) }, Inference, new ListLogger());
        Assert.Equal((_set.ValIds.Count + 1) / 2, sharded.Written + sharded.Failures.Count);
    }

    [Fact]
    public void TheSegmenterStartsFromTheClassifierInTheWorkFolderUnlessToldOtherwise()
    {
        var spec = BackboneCatalog.Get(_settings.Backbone);
        Directory.CreateDirectory(_work.Models);
        using (var cam = GlobalGenerator.Seeded(2, () => new CamNetwork(spec, _set.ClassNames.Count)))
        {
            Checkpoint.Save(_work.CamCheckpoint, cam, new CheckpointInfo { Kind = "cam", Backbone = spec.Name, Classes = _set.ClassNames, Epochs = 1 });
            // A re-activated classifier of another backbone cannot seed this segmenter: passed over, said why.
            Checkpoint.Save(_work.ReCamCheckpoint, cam, new CheckpointInfo { Kind = "recam", Backbone = "resnet18", Classes = _set.ClassNames, Epochs = 1 });
        }
        var once = Tiny with { Epochs = 1 };
        var log = new ListLogger();
        var info = TrainAndLoad(once, log);
        Assert.Equal(_work.CamCheckpoint, info.InitialWeights);
        Assert.Equal("true", info.Options["startFromClassifier"]);
        Assert.Contains(log.Entries, e => e.Message.Contains(_work.ReCamCheckpoint) && e.Message.Contains("resnet18,", StringComparison.Ordinal));

        var pretrained = TrainAndLoad(once with { StartFromClassifier = false }, new ListLogger());
        Assert.Equal(OnnxResNet18Import.DefaultPath, pretrained.InitialWeights);
        Assert.Equal("false", pretrained.Options["startFromClassifier"]);
    }

    private CheckpointInfo TrainAndLoad(DeepLabTrainingOptions options, ListLogger log)
    {
        var (network, info) = TrainDeepLabStep.Load(TrainDeepLabStep.Run(_settings with { Force = true }, options, _truth, log));
        network.Dispose();
        return info;
    }

    [Fact]
    public void MissingOrWrongMasksAndModelsAreNamed()
    {
        string masks = Path.Combine(_root, "masks");
        Directory.CreateDirectory(masks);
        foreach (string id in _set.TrainIds.Skip(1)) File.Copy(Path.Combine(_truth, id + ".png"), Path.Combine(masks, id + ".png"));
        var missing = Assert.Throws<FileNotFoundException>(() => TrainDeepLabStep.Run(_settings, Tiny, masks, new ListLogger()));
        Assert.Contains(_set.TrainIds[0] + ".png", missing.Message);
        Assert.Contains("1 of 8", missing.Message);

        PalettePngWriter.Write(Path.Combine(masks, _set.TrainIds[0] + ".png"), new LabelMap(32, 64));
        var size = Assert.Throws<InvalidDataException>(() => TrainDeepLabStep.Run(_settings, Tiny, masks, new ListLogger()));
        Assert.Contains(_set.TrainIds[0] + ".png", size.Message);
        Assert.Contains("32x64", size.Message);
        Assert.Contains("64x64", size.Message);

        PalettePngWriter.Write(Path.Combine(masks, _set.TrainIds[0] + ".png"), new LabelMap(64, 64, 40));
        var value = Assert.Throws<InvalidDataException>(() => TrainDeepLabStep.Run(_settings, Tiny, masks, new ListLogger()));
        Assert.Contains("value 40", value.Message);
        Assert.False(File.Exists(_work.Checkpoint(TrainDeepLabStep.Kind)));

        var noPseudoMasks = Assert.Throws<DirectoryNotFoundException>(() => TrainDeepLabStep.Run(_settings, Tiny, null, new ListLogger()));
        Assert.Contains(MakeSemSegStep.Name, noPseudoMasks.Message);

        string other = Path.Combine(_root, "other.ckpt");
        using (var module = GlobalGenerator.Seeded(1, () => nn.Linear(2, 2))) // seeded: other tests' seeded networks share the generator
            Checkpoint.Save(other, module, new CheckpointInfo { Kind = "cam", Classes = _set.ClassNames });
        var kind = Assert.Throws<InvalidDataException>(() =>
            PredictStep.Run(new PredictSettings { Model = other, Inputs = [Path.Combine(_set.Root, "JPEGImages")], OutputDir = Path.Combine(_root, "p") },
                Inference, new ListLogger()));
        Assert.Contains("not a segmentation network", kind.Message);

        string a = Path.Combine(_root, "a"), b = Path.Combine(_root, "b");
        Directory.CreateDirectory(a);
        Directory.CreateDirectory(b);
        File.WriteAllBytes(Path.Combine(a, "x.jpg"), []);
        File.WriteAllBytes(Path.Combine(b, "x.png"), []);
        var clash = Assert.Throws<ArgumentException>(() => PredictStep.ListImages([a, b]));
        Assert.Contains("x.png", clash.Message);
        Assert.Throws<FileNotFoundException>(() => PredictStep.ListImages([Path.Combine(_root, "nowhere")]));
    }
}
