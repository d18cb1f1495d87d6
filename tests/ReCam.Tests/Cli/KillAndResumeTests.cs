using System.Diagnostics;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Pipeline;
using ReCam.Tests.Pipeline;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Cli;

/// <summary>
/// Each step of the recam program killed with SIGKILL part-way, then run again: it resumes, leaves no temporary file, and ends
/// with exactly the outputs of an uninterrupted run; and two uninterrupted runs with the same seed and thread count agree bit for bit.
/// </summary>
[Collection(TinyScenesCollection.Name)]
public sealed class KillAndResumeTests(TinyScenes data)
{
    private string NewWork(string name) => Path.Combine(data.Root, $"{name}-{Guid.NewGuid():N}");

    private string[] TrainCam(string work) =>
        ["train-cam", "--voc", data.Voc, "--work", work, "--seed", "1", "--epochs", "3", "--batch", "8", "--crop", "64", "--lr", "0.01", "--threads", "1"];

    private string[] TrainReCam(string work) =>
        ["train-recam", "--voc", data.Voc, "--work", work, "--checkpoint", new WorkFolder(data.Work).CamCheckpoint, "--seed", "1", "--epochs", "2",
         "--head-warmup", "1", "--batch", "8", "--crop", "64", "--w2-lr", "0.05", "--threads", "1"];

    private string[] MakeCam(string work) =>
        ["make-cam", "--voc", data.Voc, "--work", work, "--checkpoint", new WorkFolder(data.Work).CamCheckpoint, "--scales", "1.0,0.5", "--threads", "1"];

    [Fact]
    public void TrainCamKilledAfterAnEpochEndsWithTheWeightsOfAnUninterruptedRun()
    {
        string a = NewWork("cam-a"), b = NewWork("cam-b"), c = NewWork("cam-c");
        Assert.Equal(0, Run(TrainCam(a)).Code);
        Assert.Equal(0, Run(TrainCam(b)).Code);
        AssertSameWeights(new WorkFolder(a).CamCheckpoint, new WorkFolder(b).CamCheckpoint, "two runs with the same seed");

        var work = new WorkFolder(c);
        KillWhen(TrainCam(c), () => File.Exists(work.CamEpochCheckpoint(1)), () => !File.Exists(work.CamCheckpoint));
        var (code, output) = Run(TrainCam(c));
        Assert.Equal(0, code);
        Assert.Contains("resuming after epoch", output);
        AssertNoTemporaries(c);
        AssertSameWeights(new WorkFolder(a).CamCheckpoint, work.CamCheckpoint, "the killed and resumed run");
    }

    [Fact]
    public void TrainReCamKilledAfterAnEpochEndsWithTheWeightsOfAnUninterruptedRun()
    {
        string a = NewWork("recam-a"), c = NewWork("recam-c");
        Assert.Equal(0, Run(TrainReCam(a)).Code);
        var work = new WorkFolder(c);
        KillWhen(TrainReCam(c), () => File.Exists(work.EpochCheckpoint("recam", 1)), () => !File.Exists(work.ReCamCheckpoint));
        var (code, output) = Run(TrainReCam(c));
        Assert.Equal(0, code);
        Assert.Contains("resuming after epoch", output);
        AssertNoTemporaries(c);
        AssertSameWeights(new WorkFolder(a).ReCamCheckpoint, work.ReCamCheckpoint, "the killed and resumed run");
    }

    private string[] TrainIrn(string work) =>
        ["train-irn", "--voc", data.Voc, "--work", work, "--seed", "1", "--epochs", "3", "--batch", "8", "--crop", "80", "--threads", "1"];

    // A work folder holding IR labels made from blurred-mask maps (no CAM training needed).
    private string WorkWithIrLabels(string name)
    {
        string work = NewWork(name);
        var folder = new WorkFolder(work);
        Directory.CreateDirectory(folder.Cams);
        CamMapsFile.RecordClasses(folder.Cams, data.Set.ClassNames);
        foreach (string id in data.Set.TrainIds)
            CamMapsFile.Write(CamMapsFile.PathFor(folder.Cams, id),
                Refinement.CamToIrLabelStepTests.MapsFromMask(PngLabelReader.Read(Path.Combine(data.Voc, "SegmentationClass", id + ".png"))));
        CamToIrLabelStep.Run(data.Settings with { WorkDir = work, Split = "train" }, new IrLabelOptions(), new ListLogger());
        return work;
    }

    [Fact]
    public void TrainIrnKilledAfterAnEpochEndsWithTheWeightsOfAnUninterruptedRun()
    {
        string a = WorkWithIrLabels("irn-a"), c = WorkWithIrLabels("irn-c");
        Assert.Equal(0, Run(TrainIrn(a)).Code);
        var work = new WorkFolder(c);
        KillWhen(TrainIrn(c), () => File.Exists(work.EpochCheckpoint("irn", 1)), () => !File.Exists(work.Checkpoint("irn")));
        var (code, output) = Run(TrainIrn(c));
        Assert.Equal(0, code);
        Assert.Contains("resuming after epoch", output);
        AssertNoTemporaries(c);
        AssertSameWeights(new WorkFolder(a).Checkpoint("irn"), work.Checkpoint("irn"), "the killed and resumed run");
    }

    [Fact]
    public void MakeCamKilledMidwayEndsWithTheMapsOfAnUninterruptedRun()
    {
        string a = NewWork("maps-a"), b = NewWork("maps-b"), c = NewWork("maps-c");
        Assert.Equal(0, Run(MakeCam(a)).Code);
        Assert.Equal(0, Run(MakeCam(b)).Code);
        var expected = Files(new WorkFolder(a).Cams);
        Assert.Equal(24 + 2, expected.Count); // one maps file per training image, classes.txt and threshold.json
        Assert.Equal(expected, Files(new WorkFolder(b).Cams));

        string cams = new WorkFolder(c).Cams;
        int Done() => Directory.Exists(cams) ? Directory.EnumerateFiles(cams, "*.npz").Count() : 0;
        KillWhen(MakeCam(c), () => Done() >= 3, () => Done() < 24);
        var (code, output) = Run(MakeCam(c));
        Assert.Equal(0, code);
        Assert.Contains("of 24 images to do", output);
        AssertNoTemporaries(c);
        Assert.Equal(expected, Files(cams));
    }

    private static void AssertSameWeights(string expectedPath, string actualPath, string what)
    {
        var expected = WeightsOf(expectedPath);
        var actual = WeightsOf(actualPath);
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (name, values) in expected)
            Assert.True(values.AsSpan().SequenceEqual(actual[name]), $"{name} differs: {what} is not bit-identical");
    }

    private static SortedDictionary<string, float[]> WeightsOf(string checkpoint)
    {
        var info = Checkpoint.ReadInfo(checkpoint);
        var result = new SortedDictionary<string, float[]>(StringComparer.Ordinal);
        if (info.Kind == "recam")
        {
            var (network, head, _) = Checkpoint.LoadReCamNetwork(checkpoint);
            using (network)
            using (head)
            {
                Add(result, "network.", network);
                Add(result, "head.", head);
            }
        }
        else if (info.Kind == TrainIrnStep.Kind)
        {
            var (network, _) = TrainIrnStep.Load(checkpoint);
            using (network) Add(result, "", network);
        }
        else
        {
            var (network, _) = Checkpoint.LoadCamNetwork(checkpoint);
            using (network) Add(result, "", network);
        }
        return result;
    }

    private static void Add(SortedDictionary<string, float[]> into, string prefix, nn.Module module)
    {
        foreach (var (name, t) in module.state_dict())
            if (t.dtype == ScalarType.Float32) into[prefix + name] = t.detach().cpu().contiguous().data<float>().ToArray();
    }

    private static SortedDictionary<string, string> Files(string folder) => new(
        Directory.EnumerateFiles(folder).ToDictionary(p => Path.GetFileName(p), p => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p)))),
        StringComparer.Ordinal);

    private static void AssertNoTemporaries(string work) =>
        Assert.Empty(Directory.EnumerateFiles(work, "*.tmp", SearchOption.AllDirectories));

    // Starts the program, polls until `reached`, then kills it with SIGKILL; `early` must still hold at that moment, or the
    // run finished before the kill and the test would prove nothing.
    private static void KillWhen(string[] args, Func<bool> reached, Func<bool> early)
    {
        using var process = Process.Start(RecamProcess.Start(args))!;
        process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        while (!reached())
        {
            Assert.False(process.HasExited, "the step ended before the moment to kill it");
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(5), "the step did not reach the moment to kill it");
            Thread.Sleep(10);
        }
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        Assert.True(early(), "the step had already finished when it was killed");
    }

    private static (int Code, string Output) Run(string[] args) => RecamProcess.Run(args);
}
