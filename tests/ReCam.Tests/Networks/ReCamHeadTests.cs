using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Networks;

/// <summary>The mathematics of re-activation as the official code computes it pinned on small tensors.</summary>
public class ReCamHeadTests
{
    [Fact]
    public void SoftMasksAreReluCamsOverTheirSpatialMaximum()
    {
        using var seeded = GlobalGenerator.Hold(1);
        using var scope = NewDisposeScope();
        var f = randn(2, 5, 3, 4);
        var w1 = randn(3, 5, 1, 1);
        var (masks, _) = ReCamHead.MaskedClassFeatures(f, w1);
        var cams = einsum("bdhw,cd->bchw", f, w1.flatten(1)).relu();
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 3; c++)
            {
                var expected = cams[b, c] / (cams[b, c].max() + 1e-5);
                Assert.True(masks[b, c].allclose(expected, 1e-5, 1e-6));
            }
        Assert.True(masks.max().item<float>() <= 1f);
    }

    [Fact]
    public void ClassFeaturesEqualTheMeanOfMaskTimesFeatureOverAllPixels()
    {
        using var seeded = GlobalGenerator.Hold(2);
        using var scope = NewDisposeScope();
        var f = randn(2, 6, 3, 5);
        var w1 = randn(4, 6, 1, 1);
        var (masks, features) = ReCamHead.MaskedClassFeatures(f, w1);
        Assert.Equal(new long[] { 2, 4, 6 }, features.shape);
        // The official (B, C, D, h, w) product, then a plain mean over h·w (not divided by the mask's sum).
        var explicitProduct = masks.unsqueeze(2) * f.unsqueeze(1);
        var expected = explicitProduct.mean([3L, 4L]);
        Assert.True(features.allclose(expected, 1e-5, 1e-6));
    }

    [Fact]
    public void SceIsTheMeanOverPresentClassesSummedOverImagesOverBatchSize()
    {
        using var seeded = GlobalGenerator.Hold(3);
        using var scope = NewDisposeScope();
        using var head = new ReCamHead(6, 4);
        var feats = randn(3, 4, 6);
        var labels = tensor(new float[] { 1, 0, 1, 0, /* */ 0, 0, 0, 0, /* */ 0, 1, 1, 1 }, [3, 4]);
        var (loss, accuracy) = head.Loss(feats, labels);
        var logits = einsum("bcd,kd->bck", feats, head.Weight.flatten(1));
        double total = 0;
        int correct = 0, pairs = 0;
        var present = new[] { new[] { 0, 2 }, Array.Empty<int>(), new[] { 1, 2, 3 } };
        for (int b = 0; b < 3; b++)
        {
            if (present[b].Length == 0) continue;
            double sum = 0;
            foreach (int k in present[b])
            {
                var logp = logits[b, k].log_softmax(0);
                sum -= logp[k].item<float>();
                correct += logits[b, k].argmax().item<long>() == k ? 1 : 0;
                pairs++;
            }
            total += sum / present[b].Length;
        }
        Assert.True(Math.Abs(total / 3 - loss.item<float>()) <= 1e-5, $"{total / 3} vs {loss.item<float>()}");
        Assert.Equal((double)correct / pairs, accuracy, 10);
    }

    [Fact]
    public void SceGradientReachesW1ThroughTheMasks()
    {
        using var seeded = GlobalGenerator.Hold(4);
        using var scope = NewDisposeScope();
        using var head = new ReCamHead(5, 3);
        var f = randn(2, 5, 4, 4, requires_grad: true);
        var w1 = randn(3, 5, 1, 1, requires_grad: true);
        var (_, features) = ReCamHead.MaskedClassFeatures(f, w1);
        var (loss, _) = head.Loss(features, tensor(new float[] { 1, 1, 0, 0, 1, 1 }, [2, 3]));
        loss.backward();
        Assert.NotNull(w1.grad);
        Assert.True(w1.grad!.abs().sum().item<float>() > 0);
        Assert.True(f.grad!.abs().sum().item<float>() > 0);
        Assert.True(head.Weight.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void BackgroundFeatureIsTheMeanOfOneMinusTheMaxOfThePresentMasksTimesFeature()
    {
        using var seeded = GlobalGenerator.Hold(7);
        using var scope = NewDisposeScope();
        var f = randn(2, 5, 3, 4);
        var masks = rand(2, 3, 3, 4);
        var labels = tensor(new float[] { 1, 0, 1, /* */ 0, 1, 0 }, [2, 3]);
        var pooled = ReCamHead.BackgroundFeatures(masks, f, labels);
        Assert.Equal(new long[] { 2, 1, 5 }, pooled.shape);
        // Image 0: classes 0 and 2 (class 1's mask is ignored); image 1: class 1 alone.
        var background0 = 1 - maximum(masks[0, 0], masks[0, 2]);
        var background1 = 1 - masks[1, 1];
        var expected0 = (background0.unsqueeze(0) * f[0]).mean([1L, 2L]);
        var expected1 = (background1.unsqueeze(0) * f[1]).mean([1L, 2L]);
        Assert.True(pooled[0, 0].allclose(expected0, 1e-5, 1e-6));
        Assert.True(pooled[1, 0].allclose(expected1, 1e-5, 1e-6));
    }

    [Fact]
    public void BackgroundRowAddsOnePairPerImageWithTargetC()
    {
        using var seeded = GlobalGenerator.Hold(8);
        using var scope = NewDisposeScope();
        using var head = new ReCamHead(6, 3, backgroundClass: true);
        Assert.True(head.HasBackgroundClass);
        Assert.Contains("background.weight", head.state_dict().Keys);
        var feats = randn(2, 3, 6);
        var background = randn(2, 1, 6);
        var labels = tensor(new float[] { 1, 0, 1, /* */ 0, 1, 0 }, [2, 3]);
        var (loss, _) = head.Loss(feats, labels, background);
        // The same loss as a plain 4-class head whose classes are the 3 classes plus background, present in every image.
        using var plain = new ReCamHead(6, 4);
        using (no_grad())
            plain.Weight.copy_(cat([head.Weight, head.state_dict()["background.weight"]], 0));
        var (expected, _) = plain.Loss(cat([feats, background], 1), tensor(new float[] { 1, 0, 1, 1, /* */ 0, 1, 0, 1 }, [2, 4]));
        Assert.True(Math.Abs(expected.item<float>() - loss.item<float>()) <= 1e-5, $"{expected.item<float>()} vs {loss.item<float>()}");
        Assert.Throws<ArgumentException>(() => head.Loss(feats, labels));
        Assert.Throws<ArgumentException>(() => plain.Loss(cat([feats, background], 1), labels, background));
    }

    [Theory]
    [InlineData(HeadInitialization.Ones)]
    [InlineData(HeadInitialization.Zeros)]
    public void ConstantW2GivesUniformLogitsSoSceStartsAtLogC(HeadInitialization init)
    {
        using var seeded = GlobalGenerator.Hold(6);
        using var scope = NewDisposeScope();
        using var head = new ReCamHead(5, 4);
        head.Initialize(init, seed: 0);
        var (loss, _) = head.Loss(randn(2, 4, 5), tensor(new float[] { 1, 0, 1, 0, 0, 1, 0, 0 }, [2, 4]));
        Assert.True(Math.Abs(Math.Log(4) - loss.item<float>()) <= 1e-5, $"{loss.item<float>()}");
        Assert.Equal(init == HeadInitialization.Ones ? 1f : 0f, head.Weight.mean().item<float>());
    }

    [Fact]
    public void TheFourWeightCombinations()
    {
        using var scope = NewDisposeScope();
        var w1 = tensor(new float[] { 1, 2, 3, 4 }, [2, 2, 1, 1]);
        var w2 = tensor(new float[] { 5, 6, 7, 8 }, [2, 2, 1, 1]);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, WeightCombinations.Combine(w1, w2, WeightCombination.W1).data<float>().ToArray());
        Assert.Equal(new float[] { 5, 6, 7, 8 }, WeightCombinations.Combine(w1, w2, WeightCombination.W2).data<float>().ToArray());
        Assert.Equal(new float[] { 6, 8, 10, 12 }, WeightCombinations.Combine(w1, w2, WeightCombination.Sum).data<float>().ToArray());
        Assert.Equal(new float[] { 5, 12, 21, 32 }, WeightCombinations.Combine(w1, w2, WeightCombination.Product).data<float>().ToArray());
        Assert.Equal(WeightCombination.Product, WeightCombinations.Parse("Product"));
        Assert.Throws<ArgumentException>(() => WeightCombinations.Parse("w3"));
    }

    [Fact]
    public void TheW2GainScalesOnlyWhatW2LearntAwayFromItsClassMean()
    {
        using var scope = NewDisposeScope();
        // Two classes, two channels: W2's class mean is (6, 7); its learnt part is ∓(1, 1).
        var w1 = tensor(new float[] { 1, 2, 3, 4 }, [2, 2, 1, 1]);
        var w2 = tensor(new float[] { 5, 6, 7, 8 }, [2, 2, 1, 1]);
        Assert.Equal(WeightCombinations.Combine(w1, w2, WeightCombination.Product).data<float>().ToArray(),
            WeightCombinations.Combine(w1, w2, WeightCombination.Product, 1.0).data<float>().ToArray());
        Assert.Equal(new float[] { 3, 4, 9, 10 }, WeightCombinations.Combine(w1, w2, WeightCombination.W2, 3.0).data<float>().ToArray());
        Assert.Equal(new float[] { 3, 8, 27, 40 }, WeightCombinations.Combine(w1, w2, WeightCombination.Product, 3.0).data<float>().ToArray());
        Assert.Equal(new float[] { 6, 7, 6, 7 }, WeightCombinations.Combine(w1, w2, WeightCombination.W2, 0.0).data<float>().ToArray());
        Assert.Equal(new float[] { 1, 2, 3, 4 }, WeightCombinations.Combine(w1, w2, WeightCombination.W1, 3.0).data<float>().ToArray());
        foreach (double bad in new[] { -0.5, 101, double.NaN, double.PositiveInfinity })
        {
            var error = Assert.Throws<InvalidOptionException>(() => WeightCombinations.Combine(w1, w2, WeightCombination.Product, bad));
            Assert.Contains("W2Gain", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ProductExtractionWithAllOnesW2EqualsCamExtraction()
    {
        using var net = GlobalGenerator.Seeded(5, () => new CamNetwork(TestBackbones.Tiny, 3));
        net.eval();
        var rng = new Random(9);
        var pixels = new byte[40 * 36 * 3];
        rng.NextBytes(pixels);
        var image = new RgbImage(40, 36, pixels);
        using var ones = ones_like(net.ClassifierWeight);
        using var product = WeightCombinations.Combine(net.ClassifierWeight, ones, WeightCombination.Product);
        var cam = new CamExtractor(net, net.ClassifierWeight).Extract(image, [0, 2]);
        var recam = new CamExtractor(net, product).Extract(image, [0, 2]);
        Assert.Equal(cam.HighRes, recam.HighRes);
        Assert.Equal(cam.Cam, recam.Cam);
    }
}
