using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Imaging;
using ReCam.MLNet;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>The DeepLab segmenter: outputs, laziness, a scoring-only model, prediction engines on several threads, errors, the four stages in one Fit.</summary>
[Collection(CamModelCollection.Name)]
public sealed class SegmenterTests(CamModelFixture fixture)
{
    private const int Size = CamModelFixture.ImageSize;

    /// <summary>Input row of a scoring-only model: an image path, nothing else.</summary>
    public sealed class ImageRow
    {
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Training rows with masks as label PNG paths.</summary>
    public sealed class MaskRow
    {
        public string ImagePath { get; set; } = "";

        public string MaskPath { get; set; } = "";
    }

    [Fact]
    public void EveryRowGetsAMaskOfItsImageSizeAndAreasThatSumToOne()
    {
        var segmenter = fixture.SegmenterModel;
        Assert.Equal(fixture.ClassNames, segmenter.ClassNames);
        var output = fixture.Model.Append(fixture.RefinerModel).Append(segmenter).Transform(fixture.Data);
        var masks = output.GetColumn<byte[]>("PredictedMask").ToList();
        var areas = output.GetColumn<float[]>("PredictedMaskAreas").ToList();
        Assert.Equal(fixture.Rows.Count, masks.Count);
        for (int i = 0; i < masks.Count; i++)
        {
            Assert.Equal(Size * Size, masks[i].Length);
            Assert.All(masks[i], v => Assert.InRange(v, 0, fixture.ClassNames.Length));
            Assert.Equal(fixture.ClassNames.Length + 1, areas[i].Length);
            Assert.Equal(1f, areas[i].Sum(), 1e-4f);
            for (int label = 0; label <= fixture.ClassNames.Length; label++)
                Assert.Equal(masks[i].Count(v => v == label) / (float)(Size * Size), areas[i][label], 1e-6f);
        }
        Assert.Equal(("v3", 16), (segmenter.Variant, segmenter.OutputStride));
    }

    [Fact]
    public void TheSizeColumnsRunNoNetworkAndEachRowIsSegmentedOnce()
    {
        var segmenter = fixture.SegmenterModel;
        var output = segmenter.Transform(fixture.Ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(fixture.Data).Transform(fixture.Data));
        long before = segmenter.ImagesSegmented;
        Assert.All(output.GetColumn<int>("PredictedMaskHeight"), h => Assert.Equal(Size, h));
        Assert.Equal(before, segmenter.ImagesSegmented);
        using var cursor = output.GetRowCursor(output.Schema.Where(c => c.Name.StartsWith("PredictedMask", StringComparison.Ordinal)));
        var mask = cursor.GetGetter<VBuffer<byte>>(output.Schema["PredictedMask"]);
        var areas = cursor.GetGetter<VBuffer<float>>(output.Schema["PredictedMaskAreas"]);
        VBuffer<byte> m = default;
        VBuffer<float> a = default;
        int rows = 0;
        while (cursor.MoveNext())
        {
            mask(ref m);
            areas(ref a);
            mask(ref m);
            rows++;
        }
        Assert.Equal(before + rows, segmenter.ImagesSegmented);
    }

    [Fact]
    public void AScoringOnlyModelServesImagesFromSeveralThreadsWithTheSameMasks()
    {
        var ml = new MLContext(seed: 1);
        var serving = ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(ml.Data.LoadFromEnumerable(new List<ImageRow>()))
            .Append(fixture.SegmenterModel);
        string zip = Path.Combine(Path.GetTempPath(), $"recam-segmenter-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(serving, ml.Data.LoadFromEnumerable(new List<ImageRow>()).Schema, zip);
            var rows = fixture.Rows.Take(6).Select(r => new ImageRow { ImagePath = r.ImagePath }).ToList();
            var reference = fixture.SegmenterModel.Transform(fixture.Ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(fixture.Data)
                .Transform(ml.Data.LoadFromEnumerable(rows))).GetColumn<byte[]>("PredictedMask").ToList();

            var loaded = new MLContext(seed: 2).Model.LoadReCamModel(zip, out var schema);
            Assert.Equal(["ImagePath"], schema.Select(c => c.Name));
            var results = new byte[rows.Count][];
            // As ASP.NET apps use it: an engine per request, several requests at once on one shared model (which the engines do
            // not own: by default disposing an engine disposes the model, and ours frees its network).
            Parallel.For(0, rows.Count, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
            {
                using var engine = new MLContext(seed: 3).Model.CreatePredictionEngine<ImageRow, SegmenterPrediction>(loaded,
                    new PredictionEngineOptions { OwnsTransformer = false });
                var p = engine.Predict(rows[i]);
                Assert.Equal((Size, Size), (p.PredictedMaskHeight, p.PredictedMaskWidth));
                results[i] = p.PredictedMask;
            });
            for (int i = 0; i < rows.Count; i++) Assert.Equal(reference[i], results[i]);
            (loaded as IDisposable)?.Dispose();
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void MasksFromPngPathsTrainAV3PlusThatRoundTripsAndBadMasksAreNamed()
    {
        string dir = Directory.CreateTempSubdirectory("recam-seg-masks").FullName;
        try
        {
            var voc = Path.GetDirectoryName(Path.GetDirectoryName(fixture.Rows[0].ImagePath))!;
            var rows = fixture.Rows.Select(r => new MaskRow
            {
                ImagePath = r.ImagePath, MaskPath = Path.Combine(voc, "SegmentationClass", Path.GetFileNameWithoutExtension(r.ImagePath) + ".png"),
            }).ToList();
            var ml = new MLContext(seed: 4);
            var load = ml.Transforms.LoadImages("Image", "", "ImagePath");
            var options = new DeepLabSegmentationTrainer.Options
            {
                MaskColumnName = "MaskPath", Variant = ReCam.Networks.DeepLabVariant.V3Plus, OutputStride = 16, Epochs = 1, BatchSize = 8, Crop = Size, Scales = [1.0],
                Flip = false, LearningRate = 0.001,
            };
            // No refiner upstream and no class names: said before any work.
            var noNames = Assert.Throws<ArgumentOutOfRangeException>(() => load.Append(ml.MulticlassClassification.Trainers.DeepLabSegmentation(options))
                .Fit(ml.Data.LoadFromEnumerable(rows)));
            Assert.Equal("ClassNames", noNames.ParamName);

            options.ClassNames = fixture.ClassNames;
            using (var model = load.Append(ml.MulticlassClassification.Trainers.DeepLabSegmentation(options)).Fit(ml.Data.LoadFromEnumerable(rows)))
            {
                var data = ml.Data.LoadFromEnumerable(rows);
                Assert.All(model.Transform(data).GetColumn<int>("PredictedMaskWidth"), w => Assert.Equal(Size, w));
                // The decoder's head is saved and read back by its name: the same masks from the loaded model.
                string zip = Path.Combine(dir, "v3plus.zip");
                ml.Model.Save(model, data.Schema, zip);
                var loaded = new MLContext(seed: 5).Model.LoadReCamModel(zip, out _);
                Assert.Equal("v3+", model.LastTransformer.Variant);
                Assert.Equal(model.Transform(data).GetColumn<byte[]>("PredictedMask"), loaded.Transform(data).GetColumn<byte[]>("PredictedMask"));
                (loaded as IDisposable)?.Dispose();
            }

            string small = Path.Combine(dir, "small.png");
            PalettePngWriter.Write(small, new LabelMap(Size / 2, Size));
            rows[3].MaskPath = small;
            var e = Assert.ThrowsAny<InvalidOperationException>(() =>
                load.Append(ml.MulticlassClassification.Trainers.DeepLabSegmentation(options)).Fit(ml.Data.LoadFromEnumerable(rows)));
            Assert.Contains("small.png", e.Message);
            Assert.Contains($"{Size / 2}x{Size}", e.Message);
            Assert.Contains("Row 3", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AMaskColumnOfTheWrongTypeIsASchemaErrorNamingIt()
    {
        var input = fixture.Model.Transform(fixture.Data); // has Image, and "Cam" maps (Vector<Single>) but no pseudo mask
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.SegmenterEstimator(fixture.Ml, o => o.MaskColumnName = "Cam")
            .GetOutputSchema(MLNetBridge.ShapeOf(input.Schema)));
        Assert.Contains("Cam", e.Message);
        Assert.Contains("Vector<Byte>", e.Message);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.SegmenterEstimator(fixture.Ml).Fit(input));
        Assert.Contains("PseudoMask", missing.Message);
    }

    [Theory]
    [InlineData("OutputStride", 12)]
    [InlineData("BatchSize", 1)]
    [InlineData("Crop", 8)]
    [InlineData("Scales", 0)]
    [InlineData("IgnoreHardBackground", 1)]
    public void InvalidOptionsNameTheField(string field, int value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.SegmenterEstimator(fixture.Ml, o =>
        {
            switch (field)
            {
                case "OutputStride": o.OutputStride = value; break;
                case "BatchSize": o.BatchSize = value; break; // v3's batch norms need two images
                case "Crop": o.Crop = value; break;
                case "IgnoreHardBackground": o.IgnoreHardBackground = value; break;
                default: o.Scales = []; break;
            }
        }));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void TheFourStagesFitInOneFitAndSaveInOneZip()
    {
        var ml = new MLContext(seed: 6);
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        ml.Log += (_, e) => messages.Enqueue(e.Message);
        var pipeline = fixture.Pipeline(ml)
            .Append(fixture.ReCamEstimator(ml))
            .Append(ml.Transforms.RefineMasks(new MaskRefinerEstimator.Options { Epochs = 1, BatchSize = 8, Crop = Size, TrainingRadius = 5 }))
            .Append(fixture.SegmenterEstimator(ml));
        string zip = Path.Combine(Path.GetTempPath(), $"recam-four-{Guid.NewGuid():N}.zip");
        using var model = pipeline.Fit(fixture.Data);
        try
        {
            Assert.Equal(fixture.ClassNames, model.LastTransformer.ClassNames);
            // The segmenter started from the re-activated classifier's backbone, the closest one upstream.
            Assert.Contains(messages, m => m.Contains($"(the backbone of the upstream {nameof(ReactivatedClassActivationMapTransformer)})", StringComparison.Ordinal));
            var expected = model.Transform(fixture.Data).GetColumn<byte[]>("PredictedMask").ToList();
            ml.Model.Save(model, fixture.Data.Schema, zip);
            using var loaded = (TransformerChain<ITransformer>)new MLContext(seed: 9).Model.LoadReCamModel(zip, out _);
            Assert.Equal(
                [typeof(ClassActivationMapTransformer), typeof(ReactivatedClassActivationMapTransformer), typeof(MaskRefinerTransformer), typeof(DeepLabSegmentationTransformer)],
                loaded.Skip(1).Select(t => t.GetType()));
            Assert.Equal(expected, loaded.Transform(fixture.Data).GetColumn<byte[]>("PredictedMask").ToList());
        }
        finally
        {
            File.Delete(zip);
        }
    }
}
