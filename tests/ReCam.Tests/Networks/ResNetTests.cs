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
        dict["module.fc.weight"] = randn(1000, 512);
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
