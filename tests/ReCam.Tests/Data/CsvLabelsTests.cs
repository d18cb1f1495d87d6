using ReCam.Data;
using Xunit;

namespace ReCam.Tests.Data;

public class CsvLabelsTests
{
    private static readonly string[] Classes = ["cat", "dog", "bird"];

    [Fact]
    public void Read_NamesIndicesSeparatorsAndQuotes()
    {
        using var dir = new TempDir();
        string path = dir.File("labels.csv",
            "image,labels\n# comment\n\nimg1,cat;DOG\nphotos/img2.jpg, bird | 0 \n\"a,b.png\",1;1\n");
        var labels = CsvLabels.Read(path, Classes);
        Assert.Equal(3, labels.Count);
        Assert.Equal([1f, 1f, 0f], labels["img1"]);
        Assert.Equal([1f, 0f, 1f], labels["photos/img2.jpg"]);
        Assert.Equal([0f, 1f, 0f], labels["a,b.png"]);
    }

    [Fact]
    public void Read_UnknownClass_NamesFileLineAndName()
    {
        using var dir = new TempDir();
        string path = dir.File("labels.csv", "image,labels\nimg1,cat\nimg2,cat;zebra\n");
        var e = Assert.Throws<InvalidDataException>(() => CsvLabels.Read(path, Classes));
        Assert.Contains(path + ":3", e.Message);
        Assert.Contains("'zebra'", e.Message);
    }

    [Fact]
    public void Read_IndexOutOfRange_IsRejected()
    {
        using var dir = new TempDir();
        string path = dir.File("labels.csv", "image,labels\nimg1,3\n");
        var e = Assert.Throws<InvalidDataException>(() => CsvLabels.Read(path, Classes));
        Assert.Contains(path + ":2", e.Message);
        Assert.Contains("out of range", e.Message);
    }

    [Fact]
    public void Read_EmptyLabelSet_ErrorsOrSkipsOnRequest()
    {
        using var dir = new TempDir();
        string path = dir.File("labels.csv", "image,labels\nimg1,cat\nimg2,\nimg3, ; \n");
        var e = Assert.Throws<InvalidDataException>(() => CsvLabels.Read(path, Classes));
        Assert.Contains(path + ":3", e.Message);
        Assert.Contains("no label", e.Message);
        var kept = CsvLabels.Read(path, Classes, skipUnlabelled: true);
        Assert.Equal(["img1"], kept.Keys);
    }

    [Fact]
    public void Read_BadHeader_DuplicateImage_ExtraColumn()
    {
        using var dir = new TempDir();
        string bad = dir.File("h.csv", "file,classes\nimg1,cat\n");
        Assert.Contains(bad + ":1", Assert.Throws<InvalidDataException>(() => CsvLabels.Read(bad, Classes)).Message);
        string dup = dir.File("d.csv", "image,labels\nimg1,cat\nimg1,dog\n");
        var e = Assert.Throws<InvalidDataException>(() => CsvLabels.Read(dup, Classes));
        Assert.Contains(dup + ":3", e.Message);
        Assert.Contains("line 2", e.Message);
        string extra = dir.File("x.csv", "image,labels\nimg1,cat,dog\n");
        Assert.Contains(extra + ":2", Assert.Throws<InvalidDataException>(() => CsvLabels.Read(extra, Classes)).Message);
        string empty = dir.File("e.csv", "\n\n");
        Assert.Contains(empty, Assert.Throws<InvalidDataException>(() => CsvLabels.Read(empty, Classes)).Message);
    }

    [Fact]
    public void Write_ThenRead_RoundTrips()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "out", "labels.csv");
        var labels = new Dictionary<string, float[]>
        {
            ["b.jpg"] = [0f, 1f, 1f],
            ["a,quoted\"name.png"] = [1f, 0f, 0f],
            ["#hash.png"] = [0f, 0f, 1f],
        };
        CsvLabels.Write(path, labels, Classes);
        Assert.StartsWith("image,labels\nb.jpg,dog;bird\n", File.ReadAllText(path));
        var back = CsvLabels.Read(path, Classes);
        Assert.Equal(labels.Keys.Order(), back.Keys.Order());
        foreach (var (k, v) in labels) Assert.Equal(v, back[k]);
        Assert.Throws<ArgumentException>(() => CsvLabels.Write(path, new Dictionary<string, float[]> { ["x"] = [1f] }, Classes));
    }
}
