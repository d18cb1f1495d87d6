using System.Security.Cryptography;
using ReCam.Pipeline;
using ReCam.Tests.Pipeline;
using Xunit;

namespace ReCam.Tests.Cli;

/// <summary>
/// Runs the recam program on every case of <see cref="BadInputCorpus"/>: exit code 2, one message naming the culprit and no
/// stack trace, no file read-modified or written outside the work folder, nothing in the work folder lost or left half-written.
/// </summary>
[Collection(TinyScenesCollection.Name)]
public sealed class BadInputCorpusTests(TinyScenes data)
{
    private static readonly object Gate = new();
    private static string? _base;

    public static TheoryData<string> CaseNames => [.. BadInputCorpus.Cases.Select(c => c.Name)];

    // The base every case copies: the tiny data set with a one-image split, and a work folder with the trained checkpoint and
    // the maps of that image.
    private string Base()
    {
        lock (Gate)
        {
            if (_base is not null) return _base;
            string root = Path.Combine(data.Root, "corpus-base");
            var folder = new CaseFolder(root);
            CopyDirectory(data.Voc, folder.Voc);
            folder.WriteSplit("one", BadInputCorpus.Good);
            Directory.CreateDirectory(Path.Combine(folder.Work, "models"));
            File.Copy(new WorkFolder(data.Work).CamCheckpoint, folder.Checkpoint);
            MakeCamStep.Run(data.Settings with { VocRoot = folder.Voc, WorkDir = folder.Work, Split = "one" }, new ExtractionOptions { Scales = [1.0] }, new ListLogger());
            Corpus.BaseVoc = folder.Voc;
            return _base = root;
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void EveryBadInputIsAClearErrorThatLosesNothing(string name)
    {
        var bad = BadInputCorpus.Cases.Single(c => c.Name == name);
        var folder = new CaseFolder(Path.Combine(data.Root, "corpus", name));
        string baseRoot = Base();
        if (Directory.Exists(folder.Root)) Directory.Delete(folder.Root, recursive: true);
        CopyDirectory(Path.Combine(baseRoot, "voc"), folder.Voc);
        CopyDirectory(Path.Combine(baseRoot, "work"), folder.Work);
        Directory.CreateDirectory(folder.Elsewhere);
        bad.Setup?.Invoke(folder);

        var outside = Snapshot(folder.Root, exclude: folder.Work);
        var work = Snapshot(folder.Work, exclude: null);
        string[] args = bad.Args.Select(a => a.Replace("{voc}", folder.Voc).Replace("{work}", folder.Work).Replace("{root}", folder.Root)
            .Replace("{ckpt}", folder.Checkpoint)).ToArray();
        var (code, output) = Recam(args);

        Assert.True(bad.ExitCode == code, $"exit {code}, expected {bad.ExitCode}; output:\n{output}");
        Assert.True(output.Contains(bad.Culprit, StringComparison.Ordinal), $"the error does not name '{bad.Culprit}':\n{output}");
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.Equal(outside, Snapshot(folder.Root, exclude: folder.Work)); // nothing outside the work folder written or changed
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Elsewhere));
        var after = Snapshot(folder.Work, exclude: null);
        foreach (var (path, digest) in work)
            Assert.True(after.TryGetValue(path, out var now) && now == digest, $"{path} was lost or changed");
        Assert.DoesNotContain(after.Keys, p => p.EndsWith(".tmp", StringComparison.Ordinal)); // nothing half-written left

        Directory.Delete(folder.Root, recursive: true);
    }

    private static SortedDictionary<string, string> Snapshot(string root, string? exclude)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(root)) return files;
        foreach (string path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            if (exclude is not null && (path + "/").StartsWith(exclude + "/", StringComparison.Ordinal)) continue;
            files[Path.GetRelativePath(root, path)] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
        }
        return files;
    }

    // The test host's own torch threads share the cores.
    private static (int Code, string Output) Recam(string[] args) =>
        RecamProcess.Run(args, new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" });

    private static void CopyDirectory(string from, string to)
    {
        foreach (string dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
