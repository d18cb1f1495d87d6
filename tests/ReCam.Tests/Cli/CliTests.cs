using ReCam.Tests.Pipeline;
using Xunit;

namespace ReCam.Tests.Cli;

/// <summary>The recam program as scripts see it: its commands, option names, exit codes and errors.</summary>
[Collection(TinyScenesCollection.Name)]
public class CliTests(TinyScenes data)
{
    private static (int Code, string Output) Recam(params string[] args) => RecamProcess.Run(args);

    [Theory]
    [InlineData("train-cam", "--voc --coco --classes --work --split --backbone --weights --epochs --batch --crop --seed --threads --device")]
    [InlineData("make-coco-masks", "--coco --split --work --shard --force")]
    [InlineData("make-cam", "--voc --classes --work --split --backbone --weights --epochs --batch --crop --seed --threads --device --shard --scales --checkpoint")]
    [InlineData("eval-cam", "--voc --classes --work --split --epochs --batch --crop --seed --threads --threshold")]
    [InlineData("train-recam", "--voc --classes --work --split --epochs --batch --crop --seed --threads --checkpoint --lambda --w2-lr --head-warmup --preset")]
    [InlineData("make-recam", "--voc --classes --work --split --epochs --batch --crop --seed --threads --checkpoint --weights-combination --w2-gain --pixel-class --preset")]
    [InlineData("eval-recam", "--voc --classes --work --split --epochs --batch --crop --seed --threads --threshold")]
    [InlineData("run", "--steps --voc --classes --work --split --backbone --weights --epochs --batch --crop --seed --threads --device --w2-gain --pixel-class")]
    [InlineData("cam-to-ir-label", "--voc --classes --labels --work --split --seed --threads --device --crop --batch --epochs --maps --fg-threshold --bg-threshold --crf-sxy --crf-srgb --preset --shard")]
    [InlineData("make-advcam", "--voc --classes --labels --work --split --seed --threads --device --crop --batch --epochs --checkpoint --scales --max-input-side --shard --weights-combination --adv-iterations --adv-step-size --adv-mask-coefficient --adv-mask-threshold")]
    [InlineData("eval-advcam", "--voc --classes --work --split --epochs --batch --crop --seed --threads --threshold")]
    [InlineData("train-irn", "--voc --classes --labels --work --split --seed --threads --device --crop --batch --epochs --lr --backbone --weights")]
    [InlineData("make-sem-seg", "--voc --classes --labels --work --split --seed --threads --device --crop --batch --epochs --maps --sem-seg-threshold --beta --walk-steps --checkpoint --shard")]
    [InlineData("eval-sem-seg", "--voc --classes --labels --work --split --seed --threads --device --crop --batch --epochs")]
    [InlineData("train-deeplab", "--voc --classes --labels --work --split --seed --threads --device --crop --batch --epochs --lr --momentum --masks --deeplab --output-stride --head-lr-multiplier --weight-decay --random-scales --backbone --weights")]
    [InlineData("eval-deeplab", "--voc --classes --labels --work --split --seed --threads --device --crop --batch --epochs --checkpoint --shard --scales --no-flip --crf --max-input-side")]
    [InlineData("predict", "--model --input --out --shard --threads --device --force --scales --no-flip --crf --max-input-side")]
    [InlineData("make-scenes", "--voc --count --size --seed")]
    [InlineData("quickstart", "--work --count --size --epochs")]
    [InlineData("bench", "--backbone --size --batch --steps --images --refinement --advcam-images --adv-iterations --segmentation --deeplab --output-stride")]
    public void EveryCommandDocumentsItsOptions(string command, string options)
    {
        var (code, output) = Recam(command, "--help");
        Assert.Equal(0, code);
        foreach (string option in options.Split(' ')) Assert.Contains(option + " ", output);
    }

    [Fact]
    public void BenchPrintsEveryMeasurementOnTinyInputs()
    {
        var (code, output) = Recam("bench", "--size", "32", "--batch", "2", "--steps", "1", "--images", "1", "--classes", "3", "--keys", "1",
            "--advcam-images", "1", "--adv-iterations", "1");
        Assert.True(code == 0, output);
        foreach (string line in new[] { "train-cam step", "train-recam step", "train-irn step", "make-cam / make-recam", "make-advcam", "peak resident memory" })
            Assert.Contains(line, output);

        (code, output) = Recam("bench", "--segmentation", "--size", "32", "--batch", "2", "--steps", "1", "--images", "1", "--classes", "3",
            "--deeplab", "v3", "--output-stride", "16");
        Assert.True(code == 0, output);
        foreach (string line in new[] { "DeepLab-v3, output stride 16", "train-deeplab step", "single scale", "x flip", "peak resident memory", "PredictionEngine, 32x32 PNG bytes", "one engine per thread" })
            Assert.Contains(line, output);
    }

    [Fact]
    public void BenchTimesTheStepsOwnCodeOnADatasetAndMeasuresTheYardstick()
    {
        // make-cam on real images: a RESULT line (work, backbone, median seconds, peak MiB, timed images) and the profile.
        var (code, output) = Recam("bench", "--voc", data.Voc, "--work", "make-cam", "--images", "2");
        Assert.True(code == 0, output);
        var result = output.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal)).Split(' ');
        Assert.Equal(["RESULT", "make-cam", "resnet18-imagenet"], result[..3]);
        Assert.InRange(double.Parse(result[3], System.Globalization.CultureInfo.InvariantCulture), 1e-4, 60);
        Assert.InRange(double.Parse(result[4], System.Globalization.CultureInfo.InvariantCulture), 50, 20_000);
        Assert.Equal("2", result[5].Trim());
        Assert.Contains("profile (mean per image): decode", output);
        Assert.Contains("network", output);

        (code, output) = Recam("bench", "--voc", data.Voc, "--work", "train-recam", "--batch", "2", "--steps", "1", "--size", "32");
        Assert.True(code == 0, output);
        Assert.Contains("RESULT train-recam resnet18-imagenet ", output);

        (code, output) = Recam("bench", "--voc", data.Voc, "--work", "make-everything");
        Assert.Equal(2, code);
        Assert.Contains("make-everything", output);

        (code, output) = Recam("bench", "--peak");
        Assert.True(code == 0, output);
        var peaks = output.Split('\n').Where(l => l.StartsWith("PEAK ", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToList();
        Assert.Contains(peaks, p => p[1] == "matmul_2048" && p[2] == "fp32");
        Assert.Equal(5, peaks.Count(p => p[2] == "fp32"));
        Assert.All(peaks, p => Assert.True(double.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture) > 0.1, string.Join(' ', p)));
    }

    [Fact]
    public void EvalCamRunsFromTheCommandLineAndBadInputGivesAClearError()
    {
        var (code, output) = Recam("eval-cam", "--voc", data.Voc, "--work", Path.Combine(data.Root, "cli-empty"));
        Assert.Equal(2, code);
        Assert.Contains("make-cam", output);
        Assert.DoesNotContain("   at ", output); // a message, not a stack trace

        (code, output) = Recam("train-cam", "--voc", Path.Combine(data.Root, "no-such-folder"));
        Assert.Equal(2, code);
        Assert.Contains("no-such-folder", output);

        (code, output) = Recam("train-cam", "--work", Path.Combine(data.Root, "cli-no-data"));
        Assert.Equal(2, code);
        Assert.Contains("--voc", output);
        Assert.Contains("--coco", output);

        (code, output) = Recam("make-coco-masks", "--coco", data.Voc, "--split", "train2014");
        Assert.Equal(2, code);
        Assert.Contains("no annotations folder", output);
        Assert.DoesNotContain("   at ", output);

        (code, output) = Recam("make-cam", "--voc", data.Voc, "--work", data.Work, "--shard", "3/2");
        Assert.Equal(2, code);
        Assert.Contains("--shard", output);
    }

    [Fact]
    public void AnUnwritableWorkFolderAndAnIdLeavingTheDatasetAreErrorsNotTraces()
    {
        // A work "folder" that is a file: writing the maps fails with an I/O error, reported as one line with exit 2.
        string file = Path.Combine(data.Root, "not-a-folder-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(file, "x");
        var (code, output) = Recam("make-cam", "--voc", data.Voc, "--work", file, "--checkpoint", new ReCam.Pipeline.WorkFolder(data.Work).CamCheckpoint,
            "--scales", "1.0");
        Assert.Equal(2, code);
        Assert.Contains(file, output);
        Assert.DoesNotContain("   at ", output);

        // A split that names a file outside the dataset.
        string split = "evil-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(Path.Combine(data.Voc, "ImageSets", "Segmentation", split + ".txt"), "../../elsewhere/evil\n");
        (code, output) = Recam("make-cam", "--voc", data.Voc, "--work", Path.Combine(data.Root, "evil-work"), "--split", split);
        Assert.Equal(2, code);
        Assert.Contains("not a plain file name", output);
        Assert.False(Directory.Exists(Path.Combine(data.Root, "evil-work", "cams")));
    }
}
