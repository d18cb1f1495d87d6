using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Tests.Networks;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Cam;

/// <summary>AdvCAM's adversarial climbing: the closed-form Grad-CAM, the climbing direction, the extracted maps.</summary>
public class AdvCamTests
{
    private static (CamNetwork Net, Tensor Pair) Setup(int width = 40, int height = 32)
    {
        var net = Network();
        var x = GlobalGenerator.Seeded(14, () => randn(1, 3, height, width));
        return (net, cat([x, x.flip(3)], 0));
    }

    // A random tiny network whose logits are all negative would give empty maps: the classifier is drawn so that each class
    // has positive logits somewhere (features are non-negative after the last ReLU).
    private static CamNetwork Network()
    {
        var net = GlobalGenerator.Seeded(13, () => new CamNetwork(TestBackbones.Tiny, 4));
        net.eval();
        using var noGrad = no_grad();
        using var w = GlobalGenerator.Seeded(15, () => randn(net.ClassifierWeight.shape));
        net.ClassifierWeight.copy_(w);
        return net;
    }

    [Fact]
    public void TheFirstMapIsTheOfficialGradCamComputedWithGradients()
    {
        var (net, pair) = Setup();
        using var _ = net;
        using var p = pair;
        var weight = net.ClassifierWeight;
        for (long c = 0; c < 4; c++)
        {
            var (map, _) = AdversarialClimbing.ClassMap(net.Backbone, weight, pair, c, 1, new AdvCamOptions());
            using (map)
            {
                // The official Grad-CAM: gradients of Σ ReLU(L[:, c]) with respect to the features, their spatial sums divided by
                // the number of positive gradient entries, a weighted sum of the features, ReLU, then copy 0 + flip(copy 1).
                using var scope = NewDisposeScope();
                using var grad = enable_grad();
                var features = net.Backbone.call(pair).detach().requires_grad_(true);
                var logits = nn.functional.conv2d(features, weight);
                var target = logits.select(1, c).relu().sum();
                var g = autograd.grad([target], [features])[0];
                var channelWeights = g.sum(new long[] { 2, 3 }, keepdim: true) / (g.gt(0).sum().to(ScalarType.Float32) + 1e-12);
                var gradCam = (channelWeights * features).sum(1).relu().detach();
                var expected = gradCam[0] + gradCam[1].flip(1);
                float scale = expected.abs().max().item<float>();
                Assert.True(scale > 0, $"class {c}: empty Grad-CAM");
                float error = (map - expected).abs().max().item<float>();
                Assert.True(error <= 1e-5f * scale, $"class {c}: closed form differs from Grad-CAM by {error} (scale {scale})");
            }
        }
    }

    [Fact]
    public void ClimbingWithoutTheMaskTermRaisesTheClassMargin()
    {
        var (net, pair) = Setup();
        using var _ = net;
        using var p = pair;
        var (map, margins) = AdversarialClimbing.ClassMap(net.Backbone, net.ClassifierWeight, pair, 1, 6, new AdvCamOptions { MaskCoefficient = 0 });
        map.Dispose();
        Assert.Equal(6, margins.Length);
        Assert.True(margins[^1] > margins[0], $"margins {string.Join(", ", margins)}");
    }

    [Fact]
    public void AdvCamsHaveTheMapsLayoutAndDifferFromCams()
    {
        using var net = Network();
        var rng = new Random(3);
        var pixels = new byte[45 * 37 * 3];
        rng.NextBytes(pixels);
        var image = new RgbImage(45, 37, pixels);
        var climbing = new AdvCamOptions { Iterations = 3 };
        var adv = new CamExtractor(net, scales: [1.0, 0.5], climbing: climbing).Extract(image, [0, 3]);
        var cam = new CamExtractor(net, scales: [1.0, 0.5]).Extract(image, [0, 3]);
        Assert.Equal((cam.CamHeight, cam.CamWidth, cam.Height, cam.Width), (adv.CamHeight, adv.CamWidth, adv.Height, adv.Width));
        Assert.Equal(cam.Keys, adv.Keys);
        for (int k = 0; k < 2; k++) Assert.InRange(adv.HighResPlane(k).ToArray().Max(), 0.99f, 1f);
        Assert.All(adv.HighRes, v => Assert.InRange(v, 0f, 1f));
        Assert.NotEqual(cam.HighRes, adv.HighRes);
        Assert.Equal(1, climbing.IterationsAt(0.5)); // ⌊3/2⌋
        Assert.Equal(13, new AdvCamOptions().IterationsAt(0.5)); // official: 27 → 13 at scale 0.5
        Assert.Equal(27, new AdvCamOptions().IterationsAt(1.5));
    }

    [Theory]
    [InlineData(0, 0.08, 7, 0.5, "Iterations")]
    [InlineData(27, -1, 7, 0.5, "StepSize")]
    [InlineData(27, 0.08, -1, 0.5, "MaskCoefficient")]
    [InlineData(27, 0.08, 7, 1.5, "MaskThreshold")]
    public void InvalidClimbingOptionsAreNamed(int iterations, double step, double coefficient, double threshold, string name)
    {
        var e = Assert.Throws<InvalidOptionException>(() =>
            new AdvCamOptions { Iterations = iterations, StepSize = step, MaskCoefficient = coefficient, MaskThreshold = threshold }.Validate());
        Assert.Equal(name, e.OptionName);
    }
}
