using ReCam.Data;
using Xunit;

namespace ReCam.Tests.Data;

public class ImageIdsTests
{
    [Theory]
    [InlineData("2007_000032", true)]
    [InlineData("scene_000001", true)]
    [InlineData("img with space.v2", true)]
    [InlineData("../../elsewhere/evil", false)]
    [InlineData("..", false)]
    [InlineData(".", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("a/b", false)]
    [InlineData("a\\b", false)]
    [InlineData("C:evil", false)]
    [InlineData("bell\u0007", false)]
    [InlineData("", false)]
    public void OnlyPlainFileNamesAreIds(string id, bool valid) => Assert.Equal(valid, ImageIds.IsValid(id));

    [Fact]
    public void EveryReaderRefusesAnIdThatLeavesItsFolder()
    {
        string root = Directory.CreateTempSubdirectory("recam-ids").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "ImageSets", "Segmentation"));
            Directory.CreateDirectory(Path.Combine(root, "JPEGImages"));
            File.WriteAllText(Path.Combine(root, "ImageSets", "Segmentation", "train.txt"), "ok_1\n../../elsewhere/evil\n");
            var dataset = new VocDataset(root, ["cat", "dog"]);
            var e = Assert.Throws<InvalidDataException>(() => dataset.ReadSplit("train"));
            Assert.Contains("train.txt:2", e.Message);
            Assert.Contains("../../elsewhere/evil", e.Message);

            string csv = Path.Combine(root, "labels.csv");
            File.WriteAllText(csv, "image,labels\nok_1,cat\nphotos/..,dog\n");
            var c = Assert.Throws<InvalidDataException>(() => dataset.LoadLabels(["ok_1"], csv));
            Assert.Contains("labels.csv:3", c.Message);

            var m = Assert.Throws<InvalidDataException>(() => ReCam.Cam.CamMapsFile.PathFor(root, "../evil"));
            Assert.Contains("../evil", m.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
