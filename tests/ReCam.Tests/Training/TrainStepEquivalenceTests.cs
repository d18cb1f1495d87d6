using System.IO.Compression;
using System.Text;
using ReCam.Imaging;
using ReCam.IO;
using ReCam.Networks;
using ReCam.Tests.Networks;
using ReCam.Training;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ReCam.Tests.Training;

/// <summary>
/// train-cam against an independent PyTorch reference of the official step (Fixtures/Training/make_fixtures.py): the same
/// weights and batch give the same loss, the same gradient of every parameter and the same weights after one and ten SGD
/// steps at the official rates (0.1 backbone, 1.0 classifier); and the augmentation with the same draws gives the same crop.
/// </summary>
public sealed class TrainStepEquivalenceTests(ITestOutputHelper output)
{
    private const int Classes = 5;

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Training", name);

    [Fact]
    public void TenOfficialStepsAtLearningRate01MatchPyTorch()
    {
        var reference = ReadNpz(Fixture("train_step.npz"));
        using var network = new CamNetwork(TestBackbones.Tiny, Classes);
        using (no_grad())
        {
            foreach (var (name, t) in network.state_dict())
                if (t.dtype == ScalarType.Float32) t.copy_(tensor(Formula(name, t.shape), t.shape));
        }
        var (images, labels) = Batch();
        var options = new CamTrainingOptions { LearningRate = 0.1 };
        using var step = new CamTrainingStep(network, options);
        var parameters = network.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        Assert.Equal(reference.Keys.Count(k => k.StartsWith("grad1/", StringComparison.Ordinal)), parameters.Count);

        var losses = new List<double>();
        double worst = 0;
        for (int t = 0; t < 10; t++)
        {
            using var scope = NewDisposeScope();
            losses.Add(step.Run(images, labels, t, 10).Loss);
            if (t == 0)
                foreach (var (name, p) in parameters) worst = Math.Max(worst, Compare(reference["grad1/" + name], p.grad!, $"gradient of {name} at step 1", 2e-4));
            if (t is 0 or 9)
                foreach (var (name, p) in parameters)
                    worst = Math.Max(worst, Compare(reference[(t == 0 ? "after1/" : "after10/") + name], p, $"{name} after step {t + 1}", 2e-5));
        }
        var expected = reference["loss"];
        for (int t = 0; t < 10; t++)
            Assert.True(Math.Abs(expected[t] - losses[t]) <= 1e-5, $"loss at step {t + 1}: {losses[t]} vs PyTorch {expected[t]}");
        output.WriteLine($"losses {string.Join(", ", losses.Select(l => l.ToString("F6")))}; worst relative difference {worst:E2}");
    }

    [Fact]
    public void TheAugmentationWithTheSameDrawsMatchesTheOfficialOne()
    {
        var image = ImageDecoder.LoadRgb(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Imaging", "src_rgb_37x29.png"));
        var augmentation = new ClassificationAugmentation(32, 16, 64, InputNormalization.Torchvision);
        string[] lines = File.ReadAllLines(Fixture("augment.tsv"));
        Assert.Equal(4, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            int[] d = lines[i].Split('\t').Select(int.Parse).ToArray();
            var draw = new AugmentationDraw(d[0], d[1] == 1, d[2], d[3], d[4], d[5]);
            var ours = new float[3 * 32 * 32];
            augmentation.Apply(image, draw, ours);
            using var file = File.OpenRead(Fixture($"augment_{i}.npy"));
            float[] expected = NpyFormat.Read<float>(file, out int[] shape, $"augment_{i}.npy");
            Assert.Equal([3, 32, 32], shape);
            for (int k = 0; k < expected.Length; k++)
                Assert.True(Math.Abs(expected[k] - ours[k]) <= 1e-5f, $"case {i} ({lines[i]}), value {k}: {ours[k]} vs {expected[k]}");
        }
    }

    // |ours − reference| of [sum, Σ|x|, eight sampled values], relative to the mean |x| (Σ|x| / n for the samples).
    private static double Compare(double[] reference, Tensor actual, string what, double tolerance)
    {
        var v = actual.detach().cpu().flatten().to(float64).data<double>().ToArray();
        int n = v.Length;
        double[] ours = [v.Sum(), v.Sum(Math.Abs), .. Enumerable.Range(0, 7).Select(k => v[Math.Min(n - 1, k * n / 7)]), v[n - 1]];
        double scale = Math.Max(reference[1], 1e-12);
        double worst = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double relative = Math.Abs(ours[i] - reference[i]) / (i < 2 ? scale : scale / n);
            worst = Math.Max(worst, relative);
            Assert.True(relative <= tolerance, $"{what}: summary value {i} is {ours[i]:G9}, PyTorch {reference[i]:G9} (relative {relative:E2})");
        }
        return worst;
    }

    // The fixture script's formula of a parameter's values from its name (FNV-1a hash → frequency and phase of a sine).
    private static float[] Formula(string name, long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        uint h = 0x811C9DC5;
        foreach (byte b in Encoding.UTF8.GetBytes(name)) h = (h ^ b) * 0x01000193;
        double a = 0.5 + h % 1000 / 1000.0, phase = (h >> 10) % 628 / 100.0;
        string leaf = name[(name.LastIndexOf('.') + 1)..];
        double fanIn = shape.Skip(1).Aggregate(1L, (x, y) => x * y);
        var values = new float[n];
        for (long i = 0; i < n; i++)
        {
            double s = Math.Sin(a * (i + 1) + phase);
            values[i] = (float)(leaf switch
            {
                "running_mean" => 0.1 * s,
                "running_var" => 1.0 + 0.5 * s * s,
                "bias" => 0.1 * s,
                _ when shape.Length == 1 => 1.0 + 0.2 * s,
                _ => s * Math.Sqrt(2.0 / fanIn) * (name.StartsWith("classifier", StringComparison.Ordinal) ? 0.5 : 1.0),
            });
        }
        return values;
    }

    private static (Tensor Images, Tensor Labels) Batch()
    {
        var images = new float[4 * 3 * 64 * 64];
        int i = 0;
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 64; y++)
                    for (int x = 0; x < 64; x++)
                        images[i++] = (float)(1.5 * Math.Sin(0.05 * x * (c + 1) + 0.07 * y + 0.9 * b));
        float[] labels = [1, 0, 0, 1, 0, /**/ 0, 1, 0, 0, 0, /**/ 0, 0, 1, 1, 1, /**/ 1, 0, 0, 0, 1];
        return (tensor(images, [4, 3, 64, 64]), tensor(labels, [4, Classes]));
    }

    private static Dictionary<string, double[]> ReadNpz(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var result = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries)
        {
            using var s = entry.Open();
            result[entry.FullName[..^".npy".Length]] = NpyFormat.Read<double>(s, out _, entry.FullName);
        }
        return result;
    }
}
