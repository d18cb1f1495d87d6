using ReCam.Data;
using Xunit;

namespace ReCam.Tests.Data;

public class VocDatasetTests
{
    private static TempDir MakeVoc()
    {
        var dir = new TempDir();
        dir.File("ImageSets/Segmentation/train.txt", "2007_000032\n\n  2007_000039  \n2008_000123\n");
        dir.File("ImageSets/Segmentation/val.txt", "2011_003276\n");
        dir.File("JPEGImages/2007_000032.jpg", "x");
        dir.File("JPEGImages/2007_000039.png", "x");
        dir.File("JPEGImages/2008_000123.jpeg", "x");
        dir.File("SegmentationClass/2007_000032.png", "x");
        dir.File("SegmentationClassAug/2007_000032.png", "x");
        dir.File("SegmentationClassAug/2007_000039.png", "x");
        foreach (var (id, names) in new[] { ("2007_000032", "aeroplane,person"), ("2007_000039", "tvmonitor"),
                     ("2008_000123", "boat,chair,dog"), ("2011_003276", "person") })
            dir.File($"Annotations/{id}.xml", "<annotation>" + string.Concat(names.Split(',').Select(n => $"<object><name>{n}</name></object>")) + "</annotation>");
        return dir;
    }

    [Fact]
    public void ReadSplit_ImagePath_MaskPath()
    {
        using var dir = MakeVoc();
        var voc = new VocDataset(dir.Path, ClassNames.Voc20);
        Assert.Equal(["2007_000032", "2007_000039", "2008_000123"], voc.ReadSplit("train"));
        Assert.Equal(["2011_003276"], voc.ReadSplit("val.txt"));
        Assert.EndsWith(Path.Combine("JPEGImages", "2007_000032.jpg"), voc.ImagePath("2007_000032"));
        Assert.EndsWith(Path.Combine("JPEGImages", "2007_000039.png"), voc.ImagePath("2007_000039"));
        Assert.EndsWith(Path.Combine("JPEGImages", "2008_000123.jpeg"), voc.ImagePath("2008_000123"));
        Assert.EndsWith(Path.Combine("SegmentationClass", "2007_000032.png"), voc.MaskPath("2007_000032"));
        Assert.EndsWith(Path.Combine("SegmentationClassAug", "2007_000039.png"), voc.MaskPath("2007_000039"));
        Assert.Null(voc.MaskPath("2008_000123"));
    }

    [Fact]
    public void ReadSplit_Missing_NamesPathAndListsSplits()
    {
        using var dir = MakeVoc();
        var voc = new VocDataset(dir.Path, ClassNames.Voc20);
        var e = Assert.Throws<FileNotFoundException>(() => voc.ReadSplit("train_aug"));
        Assert.Contains(Path.Combine(dir.Path, "ImageSets", "Segmentation", "train_aug.txt"), e.Message);
        Assert.Contains("train, val", e.Message);
    }

    [Fact]
    public void Constructor_WithoutJpegImages_Throws()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DirectoryNotFoundException>(() => new VocDataset(dir.Path, ClassNames.Voc20));
        Assert.Contains("JPEGImages", e.Message);
    }

    [Fact]
    public void CheckImagesExist_ListsMissing()
    {
        using var dir = MakeVoc();
        var voc = new VocDataset(dir.Path, ClassNames.Voc20);
        voc.CheckImagesExist(voc.ReadSplit("train"));
        var e = Assert.Throws<FileNotFoundException>(() => voc.CheckImagesExist(["2007_000032", "2011_003276", "nope"]));
        Assert.Contains("2 image file(s) missing", e.Message);
        Assert.Contains("2011_003276.jpg", e.Message);
        Assert.Contains("nope.jpg", e.Message);
    }

    [Fact]
    public void LoadLabels_FromXmlNpyAndCsv_Agree()
    {
        using var dir = MakeVoc();
        var voc = new VocDataset(dir.Path, ClassNames.Voc20);
        string[] ids = ["2007_000032", "2007_000039", "2008_000123", "2011_003276"];
        var xml = voc.LoadLabels(ids);
        var npy = voc.LoadLabels(ids, Path.Combine(AppContext.BaseDirectory, "Fixtures", "Data", "cls_labels_p2.npy"));
        string csv = dir.File("labels.csv",
            "image,labels\n2007_000032.jpg,aeroplane;person\n2007_000039,19\n2008_000123,boat|chair|dog\n2011_003276.jpg,person\n");
        var fromCsv = voc.LoadLabels(ids, csv);
        foreach (string id in ids)
        {
            Assert.Equal(xml[id], npy[id]);
            Assert.Equal(xml[id], fromCsv[id]);
        }
        Assert.Equal(3f, xml["2008_000123"].Sum());
    }

    [Fact]
    public void LoadLabels_IdsMissingFromSource_AreNamed()
    {
        using var dir = MakeVoc();
        var voc = new VocDataset(dir.Path, ClassNames.Voc20);
        string npy = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Data", "cls_labels_p3.npy");
        var e = Assert.Throws<InvalidDataException>(() => voc.LoadLabels(["2007_000032", "2099_000001"], npy));
        Assert.Contains("2099_000001", e.Message);
        Assert.Contains("1 of 2", e.Message);
        Assert.Throws<ArgumentException>(() => voc.LoadLabels(["2007_000032"], Path.Combine(dir.Path, "labels.txt")));
        var wrongSize = new VocDataset(dir.Path, ["a", "b"]);
        Assert.Contains("20 values", Assert.Throws<InvalidDataException>(() => wrongSize.LoadLabels(["2007_000032"], npy)).Message);
    }
}
