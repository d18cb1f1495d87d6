using ReCam.Data;
using ReCam.Scenes;
using SkiaSharp;
using Xunit;

namespace ReCam.Tests.Data;

/// <summary>
/// Needs the Fashion-MNIST files (`apt-get install dataset-fashion-mnist`, or RECAM_FASHION_MNIST). When they are
/// absent these tests fail with the loader's message; they never skip.
/// </summary>
public class SceneGeneratorTests
{
    private static readonly Lazy<FashionMnist> Source = new(() => FashionMnist.LoadTrain());

    private static readonly SceneOptions Small = new() { Count = 6, ImageSize = 64, Seed = 7, ValFraction = 0.34 };

    private sealed class CountingProgress : IProgress<int>
    {
        public int Max;
        public int Calls;
        public void Report(int value) { Interlocked.Increment(ref Calls); InterlockedMax(value); }
        private void InterlockedMax(int v) { int m; while (v > (m = Max) && Interlocked.CompareExchange(ref Max, v, m) != m) { } }
    }

    private static Dictionary<string, byte[]> AllFiles(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);

    [Fact]
    public void FashionMnist_TrainSplitLoads()
    {
        var fm = Source.Value;
        Assert.Equal(60000, fm.Count);
        Assert.Equal(784, fm.Image(59999).Length);
        Assert.Equal(9, fm.Label(0)); // the first training item is an ankle boot
        Assert.Equal(6000, Enumerable.Range(0, fm.Count).Count(i => fm.Label(i) == 3));
    }

    [Fact]
    public void FashionMnist_MissingFiles_TellHowToInstall()
    {
        string dir = Path.Combine(Path.GetTempPath(), "no-fashion-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.LoadTrain(dir));
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.Contains(Path.Combine(dir, FashionMnist.TrainImagesFile), e.Message);
        Assert.Contains(FashionMnist.EnvironmentVariable, e.Message);
    }

    [Fact]
    public void Generate_IsDeterministicInTheSeed()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        using var c = new TempDir();
        var progress = new CountingProgress();
        SceneGenerator.Generate(a.Path, Small, Source.Value, progress);
        SceneGenerator.Generate(b.Path, Small, Source.Value);
        SceneGenerator.Generate(c.Path, Small with { Seed = 8 }, Source.Value);
        Assert.Equal((6, 6), (progress.Max, progress.Calls));
        var fa = AllFiles(a.Path);
        var fb = AllFiles(b.Path);
        var fc = AllFiles(c.Path);
        Assert.Equal(6 * 3 + 4, fa.Count);
        Assert.Equal(fa.Keys.Order(), fb.Keys.Order());
        foreach (var (name, bytes) in fa) Assert.True(bytes.AsSpan().SequenceEqual(fb[name]), $"{name} differs between runs");
        for (int i = 0; i < 6; i++)
        {
            string jpg = Path.Combine("JPEGImages", SceneGenerator.SceneId(i) + ".jpg");
            Assert.False(fa[jpg].AsSpan().SequenceEqual(fc[jpg]), $"{jpg} is the same for seeds 7 and 8");
        }
    }

    [Fact]
    public void Generate_WritesACompleteVocLayoutWithConsistentLabels()
    {
        using var dir = new TempDir();
        var set = SceneGenerator.Generate(dir.Path, Small, Source.Value);
        Assert.Equal(["scene_000000", "scene_000001", "scene_000002", "scene_000003"], set.TrainIds);
        Assert.Equal(["scene_000004", "scene_000005"], set.ValIds);

        var classes = ClassNames.ReadFile(Path.Combine(dir.Path, SceneGenerator.ClassesFile));
        Assert.Equal(FashionMnist.ClassNames, classes);
        var voc = new VocDataset(dir.Path, classes);
        Assert.Equal(set.TrainIds, voc.ReadSplit("train"));
        Assert.Equal(set.ValIds, voc.ReadSplit("val"));
        var ids = voc.ReadSplit("trainval");
        Assert.Equal(6, ids.Count);
        voc.CheckImagesExist(ids);
        var labels = voc.LoadLabels(ids);
        foreach (string id in ids)
        {
            using (var bitmap = SKBitmap.Decode(voc.ImagePath(id)))
                Assert.Equal((64, 64), (bitmap.Width, bitmap.Height));
            var mask = MiniPng.Read(voc.MaskPath(id) ?? throw new Xunit.Sdk.XunitException($"no mask for {id}"));
            Assert.Equal((64, 64, 3), (mask.Width, mask.Height, mask.ColourType));
            float[] v = labels[id];
            Assert.True(v.Sum() >= 1, $"{id} has no label");
            var inMask = mask.Values.Where(x => x is not (0 or 255)).Select(x => x - 1).Distinct().Order().ToArray();
            var inXml = Enumerable.Range(0, 10).Where(k => v[k] == 1f).ToArray();
            Assert.Equal(inXml, inMask);
            Assert.Contains((byte)0, mask.Values);
            Assert.Contains((byte)255, mask.Values);
            foreach (int k in inXml) Assert.True(mask.Values.Count(x => x == k + 1) >= 20, $"{id}: class {k} has < 20 pixels");
        }
    }

    [Fact]
    public void Generate_MakesMultiObjectAndConfusableScenes()
    {
        using var dir = new TempDir();
        var options = new SceneOptions { Count = 60, ImageSize = 48, Seed = 1, ValFraction = 0 };
        var set = SceneGenerator.Generate(dir.Path, options, Source.Value);
        Assert.Empty(set.ValIds);
        var voc = new VocDataset(dir.Path, FashionMnist.ClassNames);
        var labels = voc.LoadLabels(set.TrainIds);
        int[] counts = labels.Values.Select(v => (int)v.Sum()).ToArray();
        Assert.All(counts, n => Assert.InRange(n, 1, 3));
        Assert.True(counts.Count(n => n >= 2) >= 15, $"only {counts.Count(n => n >= 2)} of 60 scenes hold 2+ classes");
        int[] tops = [0, 2, 4, 6];
        int[] shoes = [5, 7, 9];
        int confusable = labels.Values.Count(v => tops.Count(k => v[k] == 1f) >= 2 || shoes.Count(k => v[k] == 1f) >= 2);
        Assert.True(confusable >= 5, $"only {confusable} of 60 scenes mix confusable classes");
        var perClass = Enumerable.Range(0, 10).Select(k => labels.Values.Count(v => v[k] == 1f)).ToArray();
        Assert.All(perClass, n => Assert.True(n > 0, "every class appears at least once in 60 scenes"));
    }

    [Fact]
    public void Generate_RejectsBadOptions()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ArgumentException>(() =>
            SceneGenerator.Generate(dir.Path, Small with { MinObjects = 3, MaxObjects = 2 }, Source.Value));
        Assert.Contains("MinObjects", e.Message);
    }
}
