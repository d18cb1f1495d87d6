using System.Text.Json;
using ReCam.Data.Coco;
using ReCam.Imaging;
using ReCam.Pipeline;
using ReCam.Tests.Pipeline;
using Xunit;

namespace ReCam.Tests.Data;

public sealed class CocoDatasetTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "recam-coco-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>Three 6x4 images listed out of id order; categories 1, 3, 90 listed out of order (with gaps, as COCO's).</summary>
    private void WriteSmallSet(string split = "train2014", string imageFolder = "train2014")
    {
        Directory.CreateDirectory(Path.Combine(_root, "annotations"));
        Directory.CreateDirectory(Path.Combine(_root, imageFolder));
        foreach (long id in new long[] { 30, 10, 20 })
            PalettePngWriter.WriteRgb(Path.Combine(_root, imageFolder, FileName(id)), new RgbImage(6, 4));
        var json = new
        {
            info = new { description = "test" },
            images = new[] { Image(30), Image(10), Image(20) },
            annotations = new object[]
            {
                // image 10: a person rectangle, then a dog over part of it (painted later, so it wins), and a crowd region of cats.
                new { id = 1, image_id = 10, category_id = 1, iscrowd = 0, segmentation = new[] { new double[] { 0, 0, 4, 0, 4, 4, 0, 4 } } },
                new { id = 2, image_id = 10, category_id = 90, iscrowd = 0, segmentation = new[] { new double[] { 2, 0, 6, 0, 6, 2, 2, 2 } } },
                new { id = 3, image_id = 10, category_id = 3, iscrowd = 1, segmentation = (object)new { size = new[] { 4, 6 }, counts = new[] { 20, 4 } } },
                // image 30: a cat as compressed RLE: 5 zeros, 3 ones, 16 zeros; 16 has the sign bit of a group set, so it takes
                // two: 16 | 0x20 = 48 ('`'), then 0 ('0').
                new { id = 4, image_id = 30, category_id = 3, iscrowd = 0, segmentation = (object)new { size = new[] { 4, 6 }, counts = "53`0" } },
            },
            categories = new[] { new { id = 90, name = "dog" }, new { id = 1, name = "person" }, new { id = 3, name = "cat" } },
        };
        File.WriteAllText(Path.Combine(_root, "annotations", $"instances_{split}.json"), JsonSerializer.Serialize(json));

        static object Image(long id) => new { id, file_name = FileName(id), width = 6, height = 4, license = 1 };
    }

    private static string FileName(long id) => $"COCO_train2014_{id:D12}.png";

    private static string Id(long id) => Path.GetFileNameWithoutExtension(FileName(id));

    [Fact]
    public void ReadsSplitsInIdOrderClassesByCategoryIdAndLabelsWithCrowds()
    {
        WriteSmallSet();
        var coco = CocoDataset.Open(_root, "train2014");
        Assert.Equal(["person", "cat", "dog"], coco.ClassNames);
        var ids = coco.ReadSplit("train2014");
        Assert.Equal([Id(10), Id(20), Id(30)], ids);
        var labels = coco.LoadLabels(ids);
        Assert.Equal(new float[] { 1, 1, 1 }, labels[Id(10)]); // the crowd region's cat counts as a label
        Assert.Equal(new float[] { 0, 0, 0 }, labels[Id(20)]);
        Assert.Equal(new float[] { 0, 1, 0 }, labels[Id(30)]);
        Assert.Equal(Path.Combine(_root, "train2014", FileName(20)), coco.ImagePath(Id(20)));
        coco.CheckImagesExist(ids);
        Assert.Null(coco.MaskPath(Id(10)));
    }

    [Fact]
    public void ReadsTheOfficialLabelMatrixInImageIdOrder()
    {
        WriteSmallSet();
        var coco = CocoDataset.Open(_root, "train2014");
        var ids = coco.ReadSplit("train2014");
        // Rows follow the image ids 10, 20, 30; values are binarised with > 0 whatever the dtype.
        string floats = Path.Combine(_root, "train_labels.npy"), longs = Path.Combine(_root, "labels-i8.npy");
        ReCam.IO.NpyFormat.WriteFile(floats, new float[] { 0, 0.5f, 0, 1, 0, 0, 0, 0, -1 }, [3, 3]);
        ReCam.IO.NpyFormat.WriteFile(longs, new long[] { 0, 2, 0, 1, 0, 0, 0, 0, -1 }, [3, 3]);
        foreach (string file in new[] { floats, longs })
        {
            var labels = coco.LoadLabels(ids, file);
            Assert.Equal(new float[] { 0, 1, 0 }, labels[Id(10)]);
            Assert.Equal(new float[] { 1, 0, 0 }, labels[Id(20)]);
            Assert.Equal(new float[] { 0, 0, 0 }, labels[Id(30)]);
        }

        string wrong = Path.Combine(_root, "wrong.npy");
        ReCam.IO.NpyFormat.WriteFile(wrong, new float[8], [4, 2]);
        var e = Assert.Throws<InvalidDataException>(() => coco.LoadLabels(ids, wrong));
        Assert.Contains("4 x 2", e.Message);
        Assert.Contains("3 images and 3 categories", e.Message);
    }

    [Fact]
    public void ReadsFilesLargerThanOneReadBlock()
    {
        // A stream is parsed in blocks of a few kilobytes; regions must be read (and skipped) across block boundaries.
        Directory.CreateDirectory(Path.Combine(_root, "annotations"));
        var polygon = Enumerable.Range(0, 200).SelectMany(i => new double[] { 3 + 2 * Math.Cos(i * Math.PI / 100), 3 + 2 * Math.Sin(i * Math.PI / 100) }).ToArray();
        var json = new
        {
            images = Enumerable.Range(1, 400).Select(i => new { id = i, file_name = $"{i:D6}.jpg", width = 6, height = 6 }),
            annotations = Enumerable.Range(1, 400).Select(i => new
            {
                id = i, image_id = i, category_id = 1 + i % 2, iscrowd = 0,
                segmentation = i % 2 == 0 ? (object)new[] { polygon } : new { size = new[] { 6, 6 }, counts = "5j25" },
            }),
            categories = new[] { new { id = 1, name = "a" }, new { id = 2, name = "b" } },
        };
        string path = Path.Combine(_root, "annotations", "instances_big.json");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        Assert.True(new FileInfo(path).Length > 1 << 20);

        var coco = CocoDataset.Open(_root, "big");
        var labels = coco.LoadLabels(coco.ReadSplit("big"));
        Assert.Equal(new float[] { 0, 1 }, labels["000001"]);
        var annotations = CocoAnnotations.Read(path, withSegmentation: true);
        Assert.Equal(400, annotations.Annotations.Count);
        Assert.All(annotations.Annotations, a => Assert.NotNull(a.Segmentation));
        Assert.Equal(200, annotations.Annotations[1].Segmentation!.Polygons!.Single().Length / 2);
    }

    [Fact]
    public void FindsImagesUnderImagesFolderToo()
    {
        WriteSmallSet(imageFolder: Path.Combine("images", "train2014"));
        var coco = CocoDataset.Open(_root, "train2014");
        var ids = coco.ReadSplit("train2014");
        Assert.Equal(Path.Combine(_root, "images", "train2014", FileName(10)), coco.ImagePath(ids[0]));
        coco.CheckImagesExist(ids);
    }

    [Fact]
    public void MissingSplitsAndDanglingAnnotationsAreNamed()
    {
        WriteSmallSet();
        var missing = Assert.Throws<FileNotFoundException>(() => CocoDataset.Open(_root, "val2014"));
        Assert.Contains("instances_val2014.json", missing.Message);
        Assert.Contains("splits: train2014", missing.Message);

        string path = Path.Combine(_root, "annotations", "instances_train2014.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"image_id\":30", "\"image_id\":31", StringComparison.Ordinal));
        var dangling = Assert.Throws<InvalidDataException>(() => CocoDataset.Open(_root, "train2014"));
        Assert.Contains("annotation 4 refers to image 31", dangling.Message);
        Assert.Contains(path, dangling.Message);

        File.WriteAllText(path, "{\"images\": [");
        var truncated = Assert.Throws<InvalidDataException>(() => CocoDataset.Open(_root, "train2014"));
        Assert.Contains(path, truncated.Message);
    }

    [Fact]
    public void MakeCocoMasksPaintsNonCrowdAnnotationsInOrderAndResumes()
    {
        WriteSmallSet();
        var settings = new PipelineSettings { CocoRoot = _root, WorkDir = Path.Combine(_root, "work"), Split = "train2014" };
        Assert.Equal(3, MakeCocoMasksStep.Run(settings, new ListLogger()));
        Assert.Equal(0, MakeCocoMasksStep.Run(settings, new ListLogger()));

        var coco = CocoDataset.Open(_root, "train2014");
        coco.ReadSplit("train2014");
        var mask = PngLabelReader.Read(coco.MaskPath(Id(10))!);
        // person (1) fills columns 0..3; dog (3), painted after it, columns 2..5 of rows 0..1; the crowd cats are not painted.
        byte[] expected =
        [
            1, 1, 3, 3, 3, 3,
            1, 1, 3, 3, 3, 3,
            1, 1, 1, 1, 0, 0,
            1, 1, 1, 1, 0, 0,
        ];
        Assert.Equal(expected, mask.Values);
        Assert.All(PngLabelReader.Read(coco.MaskPath(Id(20))!).Values, v => Assert.Equal(0, v));
        // image 30: column-major pixels 5..7 are (x 1, y 1..3).
        var cat = PngLabelReader.Read(coco.MaskPath(Id(30))!);
        Assert.Equal(3, cat.Values.Count(v => v == 2));
        Assert.Equal(2, cat[1, 1]);
        Assert.Equal(2, cat[1, 3]);
    }

    [Fact]
    public void SettingsNeedExactlyOneDataset()
    {
        Assert.Throws<ArgumentException>(() => new PipelineSettings { WorkDir = _root }.Validate());
        Directory.CreateDirectory(_root);
        var both = Assert.Throws<ArgumentException>(() => new PipelineSettings { VocRoot = _root, CocoRoot = _root, WorkDir = _root }.Validate());
        Assert.Contains("--coco", both.Message);
        var voc = Assert.Throws<ArgumentException>(() => MakeCocoMasksStep.Run(new PipelineSettings { VocRoot = _root, WorkDir = _root }, new ListLogger()));
        Assert.Contains("--coco", voc.Message);
    }
}
