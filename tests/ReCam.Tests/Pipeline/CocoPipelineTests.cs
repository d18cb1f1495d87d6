using System.Text.Json;
using ReCam.Cam;
using ReCam.Data;
using ReCam.Imaging;
using ReCam.Pipeline;
using Xunit;

namespace ReCam.Tests.Pipeline;

/// <summary>The tiny scenes rewritten in COCO layout (one RLE annotation per labelled class) run through the same steps.</summary>
[Collection(TinyScenesCollection.Name)]
public class CocoPipelineTests(TinyScenes data)
{
    [Fact]
    public void TheScenesInCocoLayoutGiveTheSameLabelsMasksAndMaps()
    {
        string coco = Path.Combine(data.Root, "coco-" + Guid.NewGuid().ToString("N"));
        var voc = new VocDataset(data.Voc, data.Set.ClassNames);
        var ids = voc.ReadSplit("train");
        var labels = voc.LoadLabels(ids);
        WriteCoco(coco, "train2014", voc, ids, labels);

        var settings = data.Settings with { VocRoot = null, CocoRoot = coco, Split = "train2014", WorkDir = Path.Combine(coco, "work") };
        var view = settings.OpenDataset();
        Assert.Equal(data.Set.ClassNames, view.ClassNames);
        Assert.Equal(ids, view.ReadSplit("train2014"));
        var cocoLabels = view.LoadLabels(ids);
        foreach (string id in ids) Assert.Equal(labels[id], cocoLabels[id]);

        Assert.Equal(ids.Count, MakeCocoMasksStep.Run(settings, new ListLogger()));
        foreach (string id in ids)
        {
            // COCO masks have no ignore value: VOC's ignore band becomes background.
            var expected = PngLabelReader.Read(voc.MaskPath(id)!).Values.Select(v => v == 255 ? (byte)0 : v).ToArray();
            Assert.Equal(expected, PngLabelReader.Read(view.MaskPath(id)!).Values);
        }

        // The same CAM extracts the same maps from the same images, and eval-cam finds the painted masks.
        Directory.CreateDirectory(new WorkFolder(settings.WorkDir).Models);
        var fast = new ExtractionOptions { Scales = [1.0] };
        var cocoRun = settings with { Checkpoint = new WorkFolder(data.Work).CamCheckpoint };
        Assert.Equal(ids.Count, MakeCamStep.Run(cocoRun, fast, new ListLogger()));
        var vocRun = data.Settings with { WorkDir = Path.Combine(coco, "voc-work"), Checkpoint = cocoRun.Checkpoint };
        MakeCamStep.Run(vocRun with { Shard = (0, 8) }, fast, new ListLogger());
        foreach (string id in ids.Where((_, i) => i % 8 == 0))
        {
            var a = CamMapsFile.Read(CamMapsFile.PathFor(new WorkFolder(cocoRun.WorkDir).Cams, id));
            var b = CamMapsFile.Read(CamMapsFile.PathFor(new WorkFolder(vocRun.WorkDir).Cams, id));
            Assert.Equal(b.Keys, a.Keys);
            Assert.Equal(b.HighRes, a.HighRes);
        }
        var report = EvalCamStep.Run(cocoRun, new EvaluationOptions(), new ListLogger());
        Assert.Equal(ids.Count, report.ImageCount);
        Assert.Equal(data.Set.ClassNames.Count + 1, report.Classes.Count);
        Assert.InRange(report.BestMeanIoU, 0.05, 1.0);
    }

    /// <summary>Writes <paramref name="ids"/> as a COCO split: images copied, one uncompressed-RLE annotation per labelled class
    /// (its pixels in the VOC mask), categories with gappy ids in reverse order.</summary>
    private static void WriteCoco(string root, string split, VocDataset voc, IReadOnlyList<string> ids, IReadOnlyDictionary<string, float[]> labels)
    {
        Directory.CreateDirectory(Path.Combine(root, split));
        Directory.CreateDirectory(Path.Combine(root, "annotations"));
        var images = new List<object>();
        var annotations = new List<object>();
        for (int n = 0; n < ids.Count; n++)
        {
            string id = ids[n], image = voc.ImagePath(id);
            File.Copy(image, Path.Combine(root, split, Path.GetFileName(image)));
            var mask = PngLabelReader.Read(voc.MaskPath(id)!);
            images.Add(new { id = 1000 + n, file_name = Path.GetFileName(image), width = mask.Width, height = mask.Height }); // listed in reverse below: the order must come from sorting
            for (int c = 0; c < labels[id].Length; c++)
                if (labels[id][c] > 0)
                    annotations.Add(new { id = annotations.Count + 1, image_id = 1000 + n, category_id = 2 * c + 1, iscrowd = 0,
                                          segmentation = new { size = new[] { mask.Height, mask.Width }, counts = ColumnMajorRuns(mask, (byte)(c + 1)) } });
        }
        var categories = voc.ClassNames.Select((name, c) => new { id = 2 * c + 1, name }).Reverse();
        File.WriteAllText(Path.Combine(root, "annotations", $"instances_{split}.json"),
            JsonSerializer.Serialize(new { images = images.AsEnumerable().Reverse(), annotations, categories }));
    }

    private static List<long> ColumnMajorRuns(LabelMap mask, byte value)
    {
        var runs = new List<long> { 0 };
        bool inside = false;
        for (int x = 0; x < mask.Width; x++)
            for (int y = 0; y < mask.Height; y++)
            {
                bool here = mask[x, y] == value;
                if (here != inside) { runs.Add(0); inside = here; }
                runs[^1]++;
            }
        return runs;
    }
}
