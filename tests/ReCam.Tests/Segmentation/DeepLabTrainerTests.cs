using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Segmentation;
using ReCam.Tests.Networks;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Segmentation;

public sealed class DeepLabTrainerTests
{
    [Fact]
    public void TheLossIsTheMeanCrossEntropyOverLabelledPixels()
    {
        using var scope = NewDisposeScope();
        var rng = new Random(1);
        var logitValues = Enumerable.Range(0, 2 * 3 * 4 * 5).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var labelValues = Enumerable.Range(0, 2 * 4 * 5).Select(i => i % 7 == 0 ? 255f : i % 3).ToArray();
        var logits = tensor(logitValues, [2, 3, 4, 5]);
        var labels = tensor(labelValues, [2, 4, 5]);
        double sum = 0;
        int count = 0;
        for (int b = 0; b < 2; b++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 5; x++)
                {
                    int label = (int)labelValues[(b * 4 + y) * 5 + x];
                    if (label == 255) continue;
                    var z = Enumerable.Range(0, 3).Select(c => (double)logitValues[((b * 3 + c) * 4 + y) * 5 + x]).ToArray();
                    double max = z.Max();
                    sum += -(z[label] - max - Math.Log(z.Sum(v => Math.Exp(v - max))));
                    count++;
                }
        Assert.Equal(sum / count, DeepLabTrainingStep.Loss(logits, labels).item<float>(), 5);
        // A crop that falls entirely on padding has nothing to learn from: loss 0, not NaN.
        var ignored = full([2, 4, 5], 255f);
        Assert.Equal(0f, DeepLabTrainingStep.Loss(logits, ignored).item<float>());
    }

    [Fact]
    public void TheHardestBackgroundPixelsAreLeftOutAndObjectPixelsNever()
    {
        using var scope = NewDisposeScope();
        // One image of 2x4 pixels, two labels. Background pixels with losses rising left to right; object pixels with the
        // largest losses of all, which must stay counted.
        float[] bgLogit = [3, 2, 1, 0, -1, -2, 0, 0];
        float[] objLogit = [0, 0, 0, 0, 0, 0, 5, 6];
        float[] labelValues = [0, 0, 0, 0, 0, 0, 1, 1];
        var logits = tensor(bgLogit.Concat(objLogit).ToArray(), [1, 2, 2, 4]);
        var labels = tensor(labelValues, [1, 2, 4]);
        double Ce(int i) => Math.Log(Math.Exp(bgLogit[i]) + Math.Exp(objLogit[i])) - (labelValues[i] == 0 ? bgLogit[i] : objLogit[i]);
        var losses = Enumerable.Range(0, 8).Select(Ce).ToArray();
        Assert.Equal(losses.Average(), DeepLabTrainingStep.Loss(logits, labels).item<float>(), 5);
        // 1/3 of the 6 background pixels: the two with the highest loss (pixels 4 and 5) go.
        double expected = new[] { 0, 1, 2, 3, 6, 7 }.Average(i => losses[i]);
        Assert.Equal(expected, DeepLabTrainingStep.Loss(logits, labels, 1.0 / 3).item<float>(), 5);
        // Less than one pixel's worth leaves the mean alone.
        Assert.Equal(losses.Average(), DeepLabTrainingStep.Loss(logits, labels, 0.1).item<float>(), 5);

        // The fraction ramps up over the first fifth of training.
        var options = new DeepLabTrainingOptions { IgnoreHardBackground = 0.1 };
        Assert.Equal(DeepLabTrainingOptions.DefaultIgnoreHardBackground, new DeepLabTrainingOptions().IgnoreHardBackground);
        Assert.Equal(0, options.IgnoredBackgroundAt(0, 100));
        Assert.Equal(0.05, options.IgnoredBackgroundAt(10, 100), 10);
        Assert.Equal(0.1, options.IgnoredBackgroundAt(20, 100), 10);
        Assert.Equal(0.1, options.IgnoredBackgroundAt(99, 100), 10);
        Assert.Equal(0, new DeepLabTrainingOptions { IgnoreHardBackground = 0 }.IgnoredBackgroundAt(50, 100));
    }

    [Fact]
    public void TrainingLearnsToSegmentColouredSquares()
    {
        // Red squares (class 1) and blue squares (class 2) on grey, 64 px: a few dozen steps should bring the loss well down.
        var samples = Enumerable.Range(0, 12).Select(i => Square(i, new Random(i))).ToList();
        using var net = GlobalGenerator.Seeded(5, () => DeepLabNetwork.Empty(TestBackbones.Tiny, new DeepLabShape(DeepLabVariant.V2, 8), 3));
        var losses = new List<double>();
        var options = new DeepLabTrainingOptions { Epochs = 12, BatchSize = 4, Crop = 64, LearningRate = 0.01, RandomScales = [1.0], Seed = 2 };
        DeepLabTrainer.Train(net, samples, options, CPU, new TrainingHooks(new Progress(p => losses.Add(p.Metrics.Loss))));
        Assert.Equal(36, losses.Count);
        Assert.True(losses.TakeLast(6).Average() < 0.5 * losses.Take(3).Average(), $"loss {losses.Take(3).Average():F3} -> {losses.TakeLast(6).Average():F3}");
        Assert.False(net.training);
        // Same seed, same run (the dropout masks come from the run's seed): the first steps' losses repeat exactly.
        using var again = GlobalGenerator.Seeded(5, () => DeepLabNetwork.Empty(TestBackbones.Tiny, new DeepLabShape(DeepLabVariant.V3, 8), 3));
        var repeated = new List<double>();
        DeepLabTrainer.Train(again, samples, options with { Epochs = 1 }, CPU, new TrainingHooks(new Progress(p => repeated.Add(p.Metrics.Loss))));
        using var first = GlobalGenerator.Seeded(5, () => DeepLabNetwork.Empty(TestBackbones.Tiny, new DeepLabShape(DeepLabVariant.V3, 8), 3));
        var original = new List<double>();
        DeepLabTrainer.Train(first, samples, options with { Epochs = 1 }, CPU, new TrainingHooks(new Progress(p => original.Add(p.Metrics.Loss))));
        Assert.Equal(original, repeated);

        var test = Square(99, new Random(99));
        var mask = Segmenter.Segment(net, test.Image!, SegmentationOptions.SingleScale, CPU).Mask;
        // The square is found (object pixels against object pixels) and mostly given its own class.
        var truth = test.Labels!.Values;
        int both = mask.Values.Zip(truth).Count(p => p.First > 0 && p.Second > 0), either = mask.Values.Zip(truth).Count(p => p.First > 0 || p.Second > 0);
        Assert.True(both > 0.5 * either, $"object IoU {both / (double)either:P0}");
        var inside = mask.Values.Where((v, i) => truth[i] > 0 && v > 0).ToList();
        Assert.True(inside.Count(v => v == truth.First(t => t > 0)) > inside.Count / 2, "the square's class");
    }

    [Theory]
    [InlineData(DeepLabVariant.V3)]
    [InlineData(DeepLabVariant.V3Plus)]
    public void AResumedRunRepeatsTheUninterruptedOne(DeepLabVariant variant)
    {
        // DeepLab-v3 has dropout: after a resume from the epoch-1 weights and optimiser state, epoch 2 must draw the same
        // batches and the same dropout masks, so its losses repeat those of the run that was not interrupted.
        var samples = Enumerable.Range(0, 8).Select(i => Square(i, new Random(i))).ToList();
        var shape = new DeepLabShape(variant, 16);
        var options = new DeepLabTrainingOptions { Epochs = 2, BatchSize = 4, Crop = 64, LearningRate = 0.01, RandomScales = [0.75, 1.0], Seed = 3 };
        using var whole = GlobalGenerator.Seeded(5, () => DeepLabNetwork.Empty(TestBackbones.Tiny, shape, 3));
        var losses = new List<double>();
        Dictionary<string, Tensor>? afterEpoch1 = null;
        byte[]? optimizerState = null;
        DeepLabTrainer.Train(whole, samples, options, CPU, new TrainingHooks(new Progress(p => losses.Add(p.Metrics.Loss)), (metrics, state) =>
        {
            if (metrics.Epoch != 1) return;
            afterEpoch1 = whole.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            optimizerState = state();
        }));
        Assert.Equal(4, losses.Count);

        using var resumed = GlobalGenerator.Seeded(6, () => DeepLabNetwork.Empty(TestBackbones.Tiny, shape, 3));
        resumed.load_state_dict(afterEpoch1!);
        var resumedLosses = new List<double>();
        DeepLabTrainer.Train(resumed, samples, options, CPU,
            new TrainingHooks(new Progress(p => resumedLosses.Add(p.Metrics.Loss)), StartEpoch: 1, OptimizerState: optimizerState));
        Assert.Equal(losses.Skip(2), resumedLosses);
        foreach (var t in afterEpoch1!.Values) t.Dispose();
    }

    [Fact]
    public void MasksThatDoNotFitAreNamed()
    {
        var good = Square(0, new Random(0));
        var small = new LabelledImage("small", good.Image!, new LabelMap(63, 64));
        var high = new LabelledImage("high", good.Image!, new LabelMap(64, 64, 7));
        using var net = GlobalGenerator.Seeded(5, () => DeepLabNetwork.Empty(TestBackbones.Tiny, new DeepLabShape(DeepLabVariant.V2, 16), 3));
        var options = new DeepLabTrainingOptions { Epochs = 1, BatchSize = 2, Crop = 64 };
        var e = Assert.Throws<InvalidDataException>(() => DeepLabTrainer.Train(net, [good, small], options, CPU));
        Assert.Contains("labels of small", e.Message);
        Assert.Contains("63x64", e.Message);
        e = Assert.Throws<InvalidDataException>(() => DeepLabTrainer.Train(net, [good, high], options, CPU));
        Assert.Contains("value 7", e.Message);
        Assert.Contains("2 classes", e.Message);
    }

    [Fact]
    public void InvalidOptionsAreNamed()
    {
        Assert.Equal("Epochs", Assert.Throws<InvalidOptionException>(() => new DeepLabTrainingOptions { Epochs = 0 }.Validate()).OptionName);
        Assert.Equal("RandomScales", Assert.Throws<InvalidOptionException>(() => new DeepLabTrainingOptions { RandomScales = [] }.Validate()).OptionName);
        Assert.Equal("IgnoreHardBackground", Assert.Throws<InvalidOptionException>(() => new DeepLabTrainingOptions { IgnoreHardBackground = 1 }.Validate()).OptionName);
        Assert.Equal("IgnoreHardBackground", Assert.Throws<InvalidOptionException>(() => new DeepLabTrainingOptions { IgnoreHardBackground = -0.1 }.Validate()).OptionName);
        Assert.Equal("BatchSize", Assert.Throws<InvalidOptionException>(() =>
            new DeepLabTrainingOptions { BatchSize = 1, Shape = new DeepLabShape(DeepLabVariant.V3) }.Validate()).OptionName);
        new DeepLabTrainingOptions { BatchSize = 1, Shape = new DeepLabShape(DeepLabVariant.V2) }.Validate(); // v2 has no batch norm in its head
        Assert.Equal("Scales", Assert.Throws<InvalidOptionException>(() => new SegmentationOptions { Scales = [0] }.Validate()).OptionName);
        Assert.Throws<ArgumentException>(() => DeepLabShape.Parse("v4", "8"));
        Assert.Throws<ArgumentException>(() => DeepLabShape.Parse("v2", "32"));
        Assert.Equal(new DeepLabShape(DeepLabVariant.V3, 16), DeepLabShape.Parse(" V3", "16"));
        Assert.Equal("BatchSize", Assert.Throws<InvalidOptionException>(() =>
            new DeepLabTrainingOptions { BatchSize = 1, Shape = new DeepLabShape(DeepLabVariant.V3Plus) }.Validate()).OptionName);
        var plus = DeepLabShape.Parse("v3+", "16");
        Assert.Equal((DeepLabVariant.V3Plus, "v3+"), (plus.Variant, plus.VariantName));
        Assert.Equal(plus, DeepLabShape.Parse("V3Plus", "16"));
        Assert.Equal(plus, DeepLabShape.Parse(plus.VariantName, "16")); // as a checkpoint records it
        // The reference's optimiser settings are the defaults.
        var d = new DeepLabTrainingOptions();
        Assert.Equal((0.9, 5e-4, 10, 321), (d.Momentum, d.WeightDecay, d.BatchSize, d.Crop));
        Assert.Equal(new DeepLabShape(DeepLabVariant.V3, 16), d.Shape); // what measured best here (README, "DeepLab")
    }

    private static LabelledImage Square(int index, Random rng)
    {
        const int size = 64;
        var px = new byte[size * size * 3];
        var mask = new byte[size * size];
        Array.Fill(px, (byte)128);
        int label = 1 + index % 2, side = rng.Next(22, 36), top = rng.Next(0, size - side), left = rng.Next(0, size - side);
        for (int y = top; y < top + side; y++)
            for (int x = left; x < left + side; x++)
            {
                int i = y * size + x;
                mask[i] = (byte)label;
                px[3 * i] = (byte)(label == 1 ? 230 : 20);
                px[3 * i + 1] = 20;
                px[3 * i + 2] = (byte)(label == 2 ? 230 : 20);
            }
        return new LabelledImage($"square{index}", new RgbImage(size, size, px), new LabelMap(size, size, mask));
    }

    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
