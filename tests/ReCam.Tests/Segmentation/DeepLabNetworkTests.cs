using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Segmentation;
using ReCam.Tests.Networks;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Segmentation;

public sealed class DeepLabNetworkTests
{
    private static DeepLabNetwork Tiny(DeepLabVariant variant, int outputStride, int labels = 4) =>
        GlobalGenerator.Seeded(3, () => DeepLabNetwork.Empty(TestBackbones.Tiny, new DeepLabShape(variant, outputStride), labels));

    [Theory]
    [InlineData(DeepLabVariant.V2, 8, 37, 50)]
    [InlineData(DeepLabVariant.V2, 16, 37, 50)]
    [InlineData(DeepLabVariant.V3, 8, 64, 48)]
    [InlineData(DeepLabVariant.V3, 16, 33, 33)]
    [InlineData(DeepLabVariant.V3Plus, 16, 37, 50)]
    [InlineData(DeepLabVariant.V3Plus, 8, 33, 33)]
    public void LogitsAreOnTheOutputStrideGridAndUpsampleToTheInput(DeepLabVariant variant, int stride, int height, int width)
    {
        using var net = Tiny(variant, stride);
        net.eval();
        using var scope = NewDisposeScope();
        using var generator = new Generator(5); // not the process-wide generator, which other tests' seeded constructions use
        var images = randn([2, 3, height, width], generator: generator);
        var logits = net.call(images);
        // The stem and layer2 each halve with padding, as do the strided stages: ceil at every stride-2 step. v3+'s decoder
        // returns to layer1's grid (stride 4) whatever the backbone's output stride.
        int logitStride = variant == DeepLabVariant.V3Plus ? 4 : stride;
        Assert.Equal(logitStride, new DeepLabShape(variant, stride).LogitStride);
        long Out(long size)
        {
            for (int s = 2; s <= logitStride; s *= 2) size = (size + 1) / 2;
            return size;
        }
        Assert.Equal(new long[] { 2, 4, Out(height), Out(width) }, logits.shape);
        Assert.Equal(new long[] { 2, 4, height, width }, net.FullResolutionLogits(images).shape);
    }

    [Fact]
    public void TheDilatedBackboneHasThePlainOnesWeightsAndTorchvisionsDilations()
    {
        using var plain = new ResNet(ResNetBlock.Bottleneck, [1, 2, 2, 2]);
        using var dilated = ResNet.Dilated(ResNetBlock.Bottleneck, [1, 2, 2, 2], 8);
        var plainShapes = plain.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var dilatedShapes = dilated.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal(plainShapes.Keys.Order(), dilatedShapes.Keys.Order());
        Assert.All(plainShapes, kv => Assert.Equal(kv.Value, dilatedShapes[kv.Key]));
        var convs = dilated.named_modules().Where(m => m.module is TorchSharp.Modules.Conv2d).ToDictionary(m => m.name, m => (TorchSharp.Modules.Conv2d)m.module);
        // torchvision's replace_stride_with_dilation [False, True, True]: a dilated stage's first block keeps the previous dilation.
        Assert.Equal(1, convs["layer3.0.conv2"].dilation![0]);
        Assert.Equal(2, convs["layer3.1.conv2"].dilation![0]);
        Assert.Equal(2, convs["layer4.0.conv2"].dilation![0]);
        Assert.Equal(4, convs["layer4.1.conv2"].dilation![0]);
        Assert.Equal(1, convs["layer3.0.downsample.0"].stride![0]);
        Assert.Equal(2, convs["layer2.0.conv2"].stride![0]);
    }

    [Fact]
    public void DeepLabV3OnResNet50HasTorchvisionsStateDictNamesAndShapes()
    {
        // Fixtures/Networks/make_deeplab_keys.py wrote torchvision 0.14's deeplabv3_resnet50 (21 classes) names and shapes.
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Networks", "deeplabv3_resnet50_keys.tsv"))
            .Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1]);
        using var net = DeepLabNetwork.Empty(BackboneCatalog.Get("resnet50"), new DeepLabShape(DeepLabVariant.V3, 8), 21);
        var ours = net.state_dict().ToDictionary(kv => kv.Key.StartsWith("backbone.", StringComparison.Ordinal) || kv.Key.StartsWith("classifier.", StringComparison.Ordinal)
            ? kv.Key : "?" + kv.Key, kv => string.Join(",", kv.Value.shape));
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected, kv => Assert.Equal(kv.Value, ours[kv.Key]));
    }

    [Fact]
    public void DeepLabV3PlusHasTheDecoderOfThePyTorchPortAndTrainsItWithTheHead()
    {
        using var net = Tiny(DeepLabVariant.V3Plus, 16, labels: 5);
        var shapes = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        // VainF/DeepLabV3Plus-Pytorch's DeepLabHeadV3Plus: 48-channel projection of layer1 (64 channels on basic blocks),
        // torchvision's ASPP, a 3×3 convolution over 48 + 256 channels and the classifier.
        Assert.Equal(new long[] { 48, 64, 1, 1 }, shapes["classifier.project.0.weight"]);
        Assert.Equal(new long[] { 48 }, shapes["classifier.project.1.running_var"]);
        Assert.Equal(new long[] { 256, 512, 1, 1 }, shapes["classifier.aspp.convs.0.0.weight"]);
        Assert.Equal(new long[] { 256, 512, 3, 3 }, shapes["classifier.aspp.convs.3.0.weight"]);
        Assert.Equal(new long[] { 256, 512, 1, 1 }, shapes["classifier.aspp.convs.4.1.weight"]);
        Assert.Equal(new long[] { 256, 1280, 1, 1 }, shapes["classifier.aspp.project.0.weight"]);
        Assert.Equal(new long[] { 256, 304, 3, 3 }, shapes["classifier.classifier.0.weight"]);
        Assert.Equal(new long[] { 5, 256, 1, 1 }, shapes["classifier.classifier.3.weight"]);
        Assert.Equal(new long[] { 5 }, shapes["classifier.classifier.3.bias"]);
        Assert.All(shapes.Keys, k => Assert.True(k.StartsWith("backbone.", StringComparison.Ordinal) || k.StartsWith("classifier.project.", StringComparison.Ordinal)
            || k.StartsWith("classifier.aspp.", StringComparison.Ordinal) || k.StartsWith("classifier.classifier.", StringComparison.Ordinal), k));
        var trainable = net.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Contains("classifier.project.0.weight", trainable);
        Assert.Equal(trainable.Count, net.BackboneParameters().Count() + net.HeadParameters().Count());
        Assert.Equal(trainable.Count(n => n.StartsWith("classifier.", StringComparison.Ordinal)), net.HeadParameters().Count());
    }

    [Fact]
    public void StartsFromTheBackboneOfAClassifierCheckpointAndRefusesAnotherBackbone()
    {
        var dir = Directory.CreateTempSubdirectory("recam-deeplab-init-");
        try
        {
            string path = Path.Combine(dir.FullName, "cam.ckpt");
            var spec = BackboneCatalog.Get("resnet18");
            using var classifier = GlobalGenerator.Seeded(7, () => new CamNetwork(spec, 3));
            Checkpoint.Save(path, classifier, new CheckpointInfo { Kind = "cam", Backbone = spec.Name, Classes = ["a", "b", "c"], Epochs = 1 });

            var (net, source) = DeepLabNetwork.Create(spec, path, new DeepLabShape(DeepLabVariant.V3, 16), 4, seed: 1);
            using (net)
            {
                Assert.Equal(path, source);
                var state = net.state_dict();
                var expected = classifier.Backbone.state_dict();
                Assert.NotEmpty(expected);
                foreach (var (name, tensor) in expected)
                    Assert.True(tensor.equal(state["backbone." + name]).all().item<bool>(), $"backbone.{name} differs from the classifier's");

                // From the classifier in memory (the ML.NET segmenter's start, which reads no weights file): the classifier's
                // backbone, and the head a pretrained start draws for the same seed.
                using var fromMemory = DeepLabNetwork.CreateFromClassifier(spec, n => n.LoadBackbone(classifier.Backbone),
                    new DeepLabShape(DeepLabVariant.V3, 16), 4, seed: 1);
                var (pretrained, _) = DeepLabNetwork.Create(spec, null, new DeepLabShape(DeepLabVariant.V3, 16), 4, seed: 1);
                using (pretrained)
                {
                    var memoryState = fromMemory.state_dict();
                    var pretrainedState = pretrained.state_dict();
                    Assert.Equal(state.Keys.Order(), memoryState.Keys.Order());
                    foreach (var (name, tensor) in memoryState)
                    {
                        var reference = name.StartsWith("backbone.", StringComparison.Ordinal) ? state[name] : pretrainedState[name];
                        Assert.True(tensor.equal(reference).all().item<bool>(), $"{name} of the in-memory start differs");
                    }
                    Assert.False(pretrainedState["backbone.layer4.1.conv2.weight"].equal(memoryState["backbone.layer4.1.conv2.weight"]).all().item<bool>());
                }
            }
            using var deeperClassifier = new ResNet(ResNetBlock.Basic, [3, 4, 6, 3]);
            Assert.Throws<ArgumentException>(() => DeepLabNetwork.CreateFromClassifier(spec, n => n.LoadBackbone(deeperClassifier),
                new DeepLabShape(DeepLabVariant.V3, 16), 4, seed: 1));
            // The same from a network in memory (an ML.NET pipeline's classifier), into another head and output stride.
            using (var other = GlobalGenerator.Seeded(1, () => DeepLabNetwork.Empty(spec, new DeepLabShape(DeepLabVariant.V2, 8), 4)))
            {
                bool Same() => other.state_dict()["backbone.layer4.1.conv2.weight"].equal(classifier.Backbone.state_dict()["layer4.1.conv2.weight"]).all().item<bool>();
                Assert.False(Same());
                other.LoadBackbone(classifier.Backbone);
                Assert.True(Same());
                using var deeper = new ResNet(ResNetBlock.Basic, [3, 4, 6, 3]);
                Assert.Throws<ArgumentException>(() => other.LoadBackbone(deeper));
            }

            var error = Assert.Throws<InvalidDataException>(() =>
                DeepLabNetwork.Create(BackboneCatalog.Get("resnet34"), path, new DeepLabShape(DeepLabVariant.V3, 16), 4, seed: 1));
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            Assert.Contains("resnet18", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void DeepLabV2HasTheReferenceAsppAndOnlyConvolutionsTrain()
    {
        using var net = Tiny(DeepLabVariant.V2, 8, labels: 5);
        var state = net.state_dict();
        foreach (int i in new[] { 0, 1, 2, 3 })
        {
            Assert.Equal(new long[] { 5, 512, 3, 3 }, state[$"aspp.c{i}.weight"].shape);
            Assert.Equal(new long[] { 5 }, state[$"aspp.c{i}.bias"].shape);
        }
        Assert.False(state.ContainsKey("aspp.c4.weight"));
        var trainable = net.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.DoesNotContain(trainable, n => n.Contains(".bn", StringComparison.Ordinal) || n.Contains("downsample.1", StringComparison.Ordinal));
        Assert.Contains("backbone.conv1.weight", trainable);
        Assert.Contains("aspp.c3.bias", trainable);
        Assert.Equal(trainable.Count, net.BackboneParameters().Count() + net.HeadParameters().Count());
    }

    [Theory]
    [InlineData(DeepLabVariant.V2)]
    [InlineData(DeepLabVariant.V3)]
    [InlineData(DeepLabVariant.V3Plus)]
    public void ProbabilitiesSumToOneAndFollowAMirroredImage(DeepLabVariant variant)
    {
        using var net = Tiny(variant, 16, labels: 3);
        net.eval();
        var rng = new Random(4);
        var px = new byte[41 * 29 * 3];
        rng.NextBytes(px);
        var image = new RgbImage(41, 29, px);
        var options = new SegmentationOptions { Scales = [1.0, 0.75], Flip = true };
        var p = net.Probabilities(image, options.Scales, options.Flip, options.MaxInputSide, CPU);
        int n = 41 * 29;
        Assert.Equal(3 * n, p.Length);
        for (int i = 0; i < n; i++) Assert.Equal(1f, p[i] + p[n + i] + p[2 * n + i], 1e-4f);
        var mirrored = net.Probabilities(image.FlipHorizontal(), options.Scales, options.Flip, options.MaxInputSide, CPU);
        for (int y = 0; y < 29; y++)
            for (int x = 0; x < 41; x++) Assert.Equal(p[n + y * 41 + x], mirrored[n + y * 41 + (40 - x)], 1e-4f);

        var result = Segmenter.Segment(net, image, options, CPU);
        Assert.Equal((41, 29), (result.Mask.Width, result.Mask.Height));
        for (int i = 0; i < n; i++)
        {
            int best = Enumerable.Range(0, 3).MaxBy(l => p[l * n + i]);
            Assert.Equal(best, result.Mask.Values[i]);
        }
        Assert.Equal(n, result.Areas().Sum());
    }

    [Fact]
    public void TheCrfFollowsConfidentProbabilitiesAndCleansAnUnsureBorder()
    {
        // A two-colour image whose network output is sure on the left half and unsure (0.45 / 0.55) on the right half's
        // first columns: the appearance kernel pulls those towards the colour they share with the sure region.
        const int w = 24, h = 12, n = w * h;
        var px = new byte[n * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (x < 12) px[3 * (y * w + x)] = 250; // red object on the left, black background on the right
        var image = new RgbImage(w, h, px);
        var planes = new float[2 * n];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float fg = x < 9 ? 0.95f : x < 12 ? 0.45f : 0.05f;
                planes[n + y * w + x] = fg;
                planes[y * w + x] = 1 - fg;
            }
        var refined = Segmenter.Refine(image, planes, 2, ReCam.Refinement.DenseCrfOptions.DeepLabPostProcessing);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) Assert.Equal(x < 12 ? 1 : 0, refined[n + y * w + x] > 0.5f ? 1 : 0);
    }
}
