using ReCam.Networks;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Networks;

public class ResNetTests
{
    [Fact]
    public void StateDictNamesMatchTorchvision()
    {
        using var net = new ResNet(ResNetBlock.Bottleneck, [3, 4, 6, 3]);
        var names = net.state_dict().Keys.ToHashSet();
        foreach (string key in new[]
                 {
                     "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                     "layer1.0.conv3.weight", "layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var",
                     "layer3.5.bn2.bias", "layer4.2.conv3.weight", "layer4.0.downsample.0.weight",
                 })
        {
            Assert.Contains(key, names);
        }
        Assert.DoesNotContain(names, k => k.StartsWith("fc.", StringComparison.Ordinal));
        // torchvision resnet50 without fc: 23,508,032 parameters.
        Assert.Equal(23_508_032L, net.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void FixedBatchNormUsesStoredStatisticsInTrainingAndNeverUpdatesThem()
    {
        using var bn = new FixedBatchNorm2d(2);
        using (no_grad())
        {
            bn.RunningMean.copy_(tensor(new[] { 1f, -2f }));
            bn.RunningVar.copy_(tensor(new[] { 4f, 0.25f }));
        }
        bn.train();
        using var x = tensor(new[] { 3f, 5f, -1.5f, -2f }, [1, 2, 1, 2]);
        using var y = bn.call(x);
        float eps = 1e-5f;
        var expected = new[] { 2f / MathF.Sqrt(4 + eps), 4f / MathF.Sqrt(4 + eps), 0.5f / MathF.Sqrt(0.25f + eps), 0f };
        Assert.Equal(expected, y.data<float>().ToArray(), new FloatComparer(1e-5f));
        Assert.Equal(new[] { 1f, -2f }, bn.RunningMean.data<float>().ToArray());
        Assert.Equal(new[] { 4f, 0.25f }, bn.RunningVar.data<float>().ToArray());
        Assert.True(bn.Weight.requires_grad);
    }

    [Theory]
    [InlineData(256, 512, 2, 3)] // a downsampling shortcut whose output is 2x2
    [InlineData(512, 2048, 1, 2)] // a bottleneck's last 1x1 at layer4 of a small image
    [InlineData(64, 128, 2, 37)]
    [InlineData(256, 512, 2, 16)] // layer4's shortcut of a 256-px image: wrong by 30 there, no crash
    public void FoldedPointwiseConvolutionOfAChannelsLastInputEqualsTheLayerByLayerOne(int inChannels, int outChannels, int stride, int side)
    {
        // libtorch's own channels-last 1x1 kernel (oneDNN's brgconv_1x1 for AVX-512) gives wrong values or SIGFPE at such sizes; the fold must not use it.
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        var conv = nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
        var bn = new FixedBatchNorm2d(outChannels);
        using (no_grad())
        {
            bn.RunningMean.copy_(randn(outChannels, generator: generator));
            bn.RunningVar.copy_(rand(outChannels, generator: generator) + 0.5);
            bn.Weight.copy_(randn(outChannels, generator: generator));
        }
        bn.eval();
        var x = randn([2, inChannels, side, side + 1], generator: generator);
        var layered = bn.call(conv.call(x)).detach();
        Tensor folded;
        using (no_grad()) folded = ConvBatchNorm.Apply(conv, bn, x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2), stride, 0, 1);
        Assert.Equal(layered.shape, folded.shape);
        Assert.Equal(1, folded.stride(1)); // the output stays channels-last, as the next layer expects
        double scale = layered.abs().max().item<float>();
        Assert.True((folded - layered).abs().max().item<float>() <= 1e-5 * scale * 10);
    }

    [Theory]
    [InlineData(ResNetBlock.Basic, 0)]
    [InlineData(ResNetBlock.Bottleneck, 0)]
    [InlineData(ResNetBlock.Bottleneck, 8)]
    public void NoGradForwardWithFoldedBatchNormsEqualsTheLayerByLayerForward(ResNetBlock block, int dilatedOutputStride)
    {
        using var scope = NewDisposeScope();
        var net = dilatedOutputStride == 0 ? new ResNet(block, [1, 2, 1, 1]) : ResNet.Dilated(block, [1, 2, 1, 1], dilatedOutputStride);
        // Statistics and affine parameters far from the identity, so a wrong fold (scale, shift, stride or padding) shows.
        var generator = new Generator(7);
        using (no_grad())
        {
            foreach (var (name, buffer) in net.named_buffers().Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal)))
                buffer.copy_(randn(buffer.shape, generator: generator) * 0.5);
            foreach (var (name, buffer) in net.named_buffers().Where(b => b.name.EndsWith("running_var", StringComparison.Ordinal)))
                buffer.copy_(rand(buffer.shape, generator: generator) * 2 + 0.1);
            foreach (var (name, p) in net.named_parameters().Where(p => p.name.Contains(".bn", StringComparison.Ordinal) || p.name.StartsWith("bn1", StringComparison.Ordinal)))
                p.copy_(randn(p.shape, generator: generator) * 0.3 + (name.EndsWith("weight", StringComparison.Ordinal) ? 1 : 0));
        }
        net.eval();
        var x = randn([2, 3, 37, 45], generator: generator);
        var layered = net.call(x).detach(); // gradients recorded: conv, then batch norm
        Tensor folded;
        using (no_grad()) folded = net.call(x);
        Assert.Equal(layered.shape, folded.shape);
        double scale = layered.abs().max().item<float>();
        Assert.True(scale > 0.1, $"degenerate activations (max {scale})");
        Assert.True((folded - layered).abs().max().item<float>() <= 1e-5 * scale * 10, "the folded forward differs beyond float rounding");
        // Channels-last input (as extraction feeds it) gives the same features as well.
        using (no_grad())
        {
            var channelsLast = net.call(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2));
            Assert.True((channelsLast - layered).abs().max().item<float>() <= 1e-5 * scale * 10);
            // Folded once and reused: both layouts, twice each, inside one scope.
            using (ConvBatchNorm.ReuseFoldedWeights())
            {
                for (int i = 0; i < 2; i++)
                {
                    Assert.True((net.call(x) - layered).abs().max().item<float>() <= 1e-5 * scale * 10);
                    Assert.True((net.call(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)) - layered).abs().max().item<float>() <= 1e-5 * scale * 10);
                }
            }
            // Once the scope is closed, a change of the parameters shows at the next call: nothing stale is kept.
            var bnWeight = net.named_parameters().First(p => p.name == "bn1.weight").parameter;
            bnWeight.mul_(2);
            var changed = net.call(x);
            bnWeight.div_(2);
            Assert.True((changed - layered).abs().max().item<float>() > 1e-3 * scale, "a fold from before the change was reused");
        }
    }

    [Fact]
    public void CamNetworkFreezesOnlyTheStem()
    {
        using var net = new CamNetwork(TestBackbones.Tiny, 5);
        net.FreezeStem();
        var frozen = net.named_parameters().Where(p => !p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.Equal(new[] { "backbone.conv1.weight", "backbone.bn1.weight", "backbone.bn1.bias" }, frozen);
        Assert.Equal(new long[] { 5, 512, 1, 1 }, net.ClassifierWeight.shape);
        Assert.Equal(net.parameters().Count() - 3, net.BackboneTrainableParameters().Count() + net.ClassifierParameters().Count());
        using var logits = net.call(zeros(2, 3, 40, 40));
        Assert.Equal(new long[] { 2, 5 }, logits.shape);
    }

    [Fact]
    public void OfficialPyTorchCheckpointWithAliasedKeysLoads()
    {
        // An official-style CAM state dict: tensors under "resnet50." plus aliases ("stage1.0.", "backbone.0.")
        // and the classifier also as "newly_added.0"; DataParallel's "module." prefix on top.
        using var source = GlobalGenerator.Seeded(3, () => new CamNetwork(BackboneCatalog.Get("resnet18"), 4));
        var dict = new Dictionary<string, Tensor>();
        foreach (var (name, t) in source.state_dict())
        {
            string key = name.StartsWith("backbone.", StringComparison.Ordinal) ? "resnet50." + name["backbone.".Length..] : name;
            dict["module." + key] = t;
            if (name.StartsWith("backbone.conv1", StringComparison.Ordinal)) dict["module.stage1.0.weight"] = t;
        }
        dict["module.newly_added.0.weight"] = source.ClassifierWeight;
        dict["module.fc.weight"] = GlobalGenerator.Seeded(1, () => randn(1000, 512));
        string path = Path.Combine(Path.GetTempPath(), $"official-{Guid.NewGuid():N}.pth");
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, dict);
        try
        {
            using var loaded = Checkpoint.LoadAnyCamNetwork(path, "resnet18", ["a", "b", "c", "d"]).Network;
            foreach (var (name, t) in source.state_dict())
                Assert.True(t.equal(loaded.state_dict()[name]).all().item<bool>(), $"{name} differs");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WrongBackboneForPthGivesShapeError()
    {
        using var source = new ResNet(ResNetBlock.Basic, [2, 2, 2, 2]);
        string path = Path.Combine(Path.GetTempPath(), $"r18-{Guid.NewGuid():N}.pth");
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value));
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => BackboneCatalog.Create(BackboneCatalog.Get("resnet50"), path));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class FloatComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
