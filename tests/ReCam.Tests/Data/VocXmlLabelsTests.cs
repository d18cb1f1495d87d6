using ReCam.Data;
using Xunit;

namespace ReCam.Tests.Data;

public class VocXmlLabelsTests
{
    private static string Xml(params string[] objectNames) =>
        "<annotation><filename>x.jpg</filename><size><width>10</width><height>10</height><depth>3</depth></size>"
        + string.Concat(objectNames.Select(n =>
            $"<object><name>{n}</name><difficult>1</difficult><truncated>1</truncated>"
            + "<part><name>head</name></part></object>"))
        + "</annotation>";

    [Fact]
    public void Read_CollectsEveryObjectIncludingDifficult()
    {
        using var dir = new TempDir();
        dir.File("Annotations/2007_000032.xml", Xml("aeroplane", "person", " Person ", "AEROPLANE"));
        dir.File("Annotations/2007_000039.xml", Xml("tvmonitor"));
        var labels = VocXmlLabels.Read(Path.Combine(dir.Path, "Annotations"), ["2007_000032", "2007_000039"], ClassNames.Voc20);
        Assert.Equal(2, labels.Count);
        float[] a = labels["2007_000032"];
        Assert.Equal(20, a.Length);
        Assert.Equal(2f, a.Sum());
        Assert.Equal(1f, a[0]);
        Assert.Equal(1f, a[14]);
        Assert.Equal([19], Enumerable.Range(0, 20).Where(c => labels["2007_000039"][c] == 1f));
    }

    [Fact]
    public void Read_UnknownClass_NamesFileAndClass()
    {
        using var dir = new TempDir();
        string xml = dir.File("Annotations/img1.xml", Xml("cat", "unicorn"));
        var e = Assert.Throws<InvalidDataException>(() =>
            VocXmlLabels.Read(Path.Combine(dir.Path, "Annotations"), ["img1"], ClassNames.Voc20));
        Assert.Contains(xml, e.Message);
        Assert.Contains("'unicorn'", e.Message);
        Assert.Contains("tvmonitor", e.Message); // lists the known classes
    }

    [Fact]
    public void Read_MissingXml_ThrowsFileNotFoundNamingIt()
    {
        using var dir = new TempDir();
        dir.File("Annotations/a.xml", Xml("cat"));
        var e = Assert.Throws<FileNotFoundException>(() =>
            VocXmlLabels.Read(Path.Combine(dir.Path, "Annotations"), ["a", "b"], ClassNames.Voc20));
        Assert.Contains(Path.Combine(dir.Path, "Annotations", "b.xml"), e.Message);
    }

    [Fact]
    public void Read_MalformedXml_NamesFile()
    {
        using var dir = new TempDir();
        string xml = dir.File("Annotations/bad.xml", "<annotation><object><name>cat</name></annotation>");
        var e = Assert.Throws<InvalidDataException>(() => VocXmlLabels.ReadFile(xml, ClassNames.Voc20));
        Assert.Contains(xml, e.Message);
    }
}
