using ReCam.Data;
using Xunit;

namespace ReCam.Tests.Data;

public class ClassNamesTests
{
    [Fact]
    public void Voc20_IsTheAlphabeticalVocOrder()
    {
        Assert.Equal(20, ClassNames.Voc20.Count);
        Assert.Equal("aeroplane", ClassNames.Voc20[0]);
        Assert.Equal("person", ClassNames.Voc20[14]);
        Assert.Equal("tvmonitor", ClassNames.Voc20[19]);
        Assert.Equal(ClassNames.Voc20.Order(StringComparer.Ordinal), ClassNames.Voc20);
    }

    [Fact]
    public void ReadFile_TrimsAndSkipsBlankAndCommentLines()
    {
        using var dir = new TempDir();
        string path = dir.File("classes.txt", "# my classes\n  cat \n\n\tdog\n# trailing\nbird\n");
        Assert.Equal(["cat", "dog", "bird"], ClassNames.ReadFile(path));
    }

    [Fact]
    public void ReadFile_Duplicate_NamesFileAndLine()
    {
        using var dir = new TempDir();
        string path = dir.File("classes.txt", "cat\ndog\n\nCat\n");
        var e = Assert.Throws<InvalidDataException>(() => ClassNames.ReadFile(path));
        Assert.Contains(path + ":4", e.Message);
        Assert.Contains("'Cat'", e.Message);
        Assert.Contains("line 1", e.Message);
    }

    [Fact]
    public void ReadFile_EmptyList_NamesFile()
    {
        using var dir = new TempDir();
        string path = dir.File("classes.txt", "# nothing\n\n   \n");
        var e = Assert.Throws<InvalidDataException>(() => ClassNames.ReadFile(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("no class", e.Message);
    }

    [Fact]
    public void ReadFile_SeparatorInName_IsRejected()
    {
        using var dir = new TempDir();
        string path = dir.File("classes.txt", "cat\ncat;dog\n");
        var e = Assert.Throws<InvalidDataException>(() => ClassNames.ReadFile(path));
        Assert.Contains(path + ":2", e.Message);
    }

    [Fact]
    public void ReadFile_Missing_ThrowsFileNotFound()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "classes.txt");
        var e = Assert.Throws<FileNotFoundException>(() => ClassNames.ReadFile(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void IndexOf_IsCaseInsensitiveAndTrimmed()
    {
        Assert.Equal(14, ClassNames.IndexOf(ClassNames.Voc20, "  Person "));
        Assert.Equal(-1, ClassNames.IndexOf(ClassNames.Voc20, "unicorn"));
    }
}
