using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.MLNet;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>What a user gets for input the components cannot use: messages that say which row, file or column, and what to do.</summary>
[Collection(CamModelCollection.Name)]
public sealed class InputErrorsTests(CamModelFixture fixture)
{
    private ClassActivationMapEstimator Estimator(MLContext ml) => ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options
    {
        ClassNames = fixture.ClassNames, Epochs = 1, BatchSize = 8, Crop = CamModelFixture.ImageSize, Scales = [1.0],
    });

    [Fact]
    public void ACacheCheckpointAfterLoadImagesIsNamedInTheError()
    {
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.LoadImages("Image", "", "ImagePath").AppendCacheCheckpoint(ml).Append(Estimator(ml));
        var data = ml.Data.LoadFromEnumerable(fixture.Rows);
        pipeline.GetOutputSchema(SchemaShapes.FromSchema(data.Schema)); // the shape still has the image column
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        Assert.Contains("AppendCacheCheckpoint", e.Message);
        Assert.Contains("'Image'", e.Message);
    }

    [Fact]
    public void ACorruptImageIsNamedWithItsRowAndFile()
    {
        string corrupt = Path.Combine(fixture.Root, "corrupt-" + Guid.NewGuid().ToString("N") + ".jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0x00, 1, 2, 3]);
        var rows = fixture.Rows.Select((r, i) => new LabelledRow { ImagePath = i == 5 ? corrupt : r.ImagePath, Label = r.Label }).ToList();
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.LoadImages("Image", "", "ImagePath").Append(Estimator(ml));
        var e = Assert.ThrowsAny<InvalidOperationException>(() => pipeline.Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Row 5", e.Message);
        Assert.Contains(corrupt, e.Message);

        // At transform time the row is named too (the file is the user's own input there).
        var transformed = fixture.Model.Transform(ml.Data.LoadFromEnumerable(rows));
        var t = Assert.ThrowsAny<InvalidOperationException>(() => transformed.GetColumn<float[]>("Cam").ToArray());
        Assert.Contains("Row 5", t.Message + t.InnerException?.Message);
    }

    /// <summary>A row whose labels are class names.</summary>
    public sealed class NamedRow
    {
        public string ImagePath { get; set; } = "";

        public string[] Names { get; set; } = [];
    }

    [Fact]
    public void LabelsByNameTrainAndUnknownNamesAreAWarning()
    {
        var rows = fixture.Rows.Select((r, i) => new NamedRow
        {
            ImagePath = r.ImagePath,
            Names = fixture.ClassNames.Where((_, c) => r.Label[c] > 0).Concat(i == 0 ? ["unicorn"] : []).ToArray(),
        }).ToList();
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message);
        };
        // The class order is the key mapping's: built from the full class list, not from the names the data happens to use.
        var classes = ml.Data.LoadFromEnumerable(fixture.ClassNames.Select(n => new { Name = n }));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Names", keyData: classes)
            .Append(ml.Transforms.LoadImages("Image", "", "ImagePath"))
            .Append(ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options
            {
                Epochs = 1, BatchSize = 8, Crop = CamModelFixture.ImageSize, Scales = [1.0],
            }));
        using var model = pipeline.Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(fixture.ClassNames, model.LastTransformer.ClassNames);
        Assert.Contains(warnings, w => w.Contains("name no class") && w.Contains("'Label'"));
    }

    [Fact]
    public void ARowWhoseLabelNamesNoClassGetsThePredictedClasses()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { new LabelledRow { ImagePath = fixture.Rows[0].ImagePath, Label = new float[10] } };
        var output = fixture.Model.Transform(ml.Data.LoadFromEnumerable(rows));
        // The fixture's prediction threshold is 0: every class is predicted present.
        Assert.Equal(Enumerable.Range(1, 10).Select(k => (uint)k), output.GetColumn<uint[]>("CamClasses").Single());
    }
}
