using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ReCam.MLNet;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>The mask refiner: its output, laziness, input and option errors, and the whole pipeline in one Fit and one .zip.</summary>
[Collection(CamModelCollection.Name)]
public sealed class MaskRefinerTests(CamModelFixture fixture)
{
    private const int Size = CamModelFixture.ImageSize;

    [Fact]
    public void EveryRowGetsAMaskOfItsImageSizeWithOnlyItsClassesAndBackground()
    {
        var output = fixture.Model.Append(fixture.RefinerModel).Transform(fixture.Data);
        var masks = output.GetColumn<byte[]>("PseudoMask").ToList();
        var heights = output.GetColumn<int>("PseudoMaskHeight").ToList();
        var widths = output.GetColumn<int>("PseudoMaskWidth").ToList();
        Assert.Equal(fixture.Rows.Count, masks.Count);
        int objectPixels = 0;
        for (int i = 0; i < masks.Count; i++)
        {
            Assert.Equal((Size, Size), (heights[i], widths[i]));
            Assert.Equal(Size * Size, masks[i].Length);
            // The label column chose the maps' classes; the mask holds background and those classes only.
            var allowed = Enumerable.Range(0, 10).Where(c => fixture.Rows[i].Label[c] > 0).Select(c => (byte)(c + 1)).Append((byte)0).ToHashSet();
            Assert.All(masks[i], v => Assert.Contains(v, allowed));
            objectPixels += masks[i].Count(v => v != 0);
        }
        Assert.InRange(objectPixels, 1, masks.Count * Size * Size - 1); // neither all background nor all object
        Assert.Equal(fixture.ClassNames, fixture.RefinerModel.ClassNames);
        var (foreground, background) = fixture.RefinerModel.IrLabelThresholds;
        Assert.True(background < foreground, $"IR thresholds {foreground} / {background}");
    }

    [Fact]
    public void MasksAreMadeOnlyWhenReadAndOncePerRow()
    {
        var refiner = fixture.RefinerModel;
        var output = fixture.Model.Append(refiner).Transform(fixture.Data);
        long before = refiner.MasksMade;
        Assert.All(output.GetColumn<int>("PseudoMaskWidth"), w => Assert.Equal(Size, w));
        Assert.Equal(before, refiner.MasksMade); // the size needs no boundary network

        using var cursor = output.GetRowCursor(output.Schema.Where(c => c.Name.StartsWith("PseudoMask", StringComparison.Ordinal)));
        var mask = cursor.GetGetter<VBuffer<byte>>(output.Schema["PseudoMask"]);
        VBuffer<byte> first = default, second = default;
        int rows = 0;
        while (cursor.MoveNext())
        {
            mask(ref first);
            mask(ref second);
            Assert.Equal(first.DenseValues(), second.DenseValues());
            rows++;
        }
        // ML.NET may compute rows ahead on worker threads, but each row's mask is made once however often it is read.
        Assert.Equal(fixture.Rows.Count, rows);
        Assert.Equal(before + rows, refiner.MasksMade);
    }

    [Fact]
    public void MapsOfAnotherClassCountAreASchemaErrorNamingTheColumn()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Image", new ImageDataViewType());
        builder.AddColumn("CamClasses", new VectorDataViewType(new KeyDataViewType(typeof(uint), 5)));
        foreach (string maps in new[] { "Cam", "CamStride4" }) builder.AddColumn(maps, new VectorDataViewType(NumberDataViewType.Single));
        foreach (string size in new[] { "CamHeight", "CamWidth" }) builder.AddColumn(size, NumberDataViewType.Int32);
        var schema = builder.ToSchema();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.RefinerModel.GetOutputSchema(schema));
        Assert.Contains("CamClasses", e.Message);
        Assert.Contains("maps of 10 classes", e.Message);
    }

    [Fact]
    public void MapsOfAnotherImageSizeAreAnErrorNamingBothColumns()
    {
        // The image column is resized after the maps were made from the original: the maps no longer fit it.
        var resized = fixture.Ml.Transforms.ResizeImages("Image", 32, 32, "Image").Fit(fixture.Model.Transform(fixture.Data));
        var output = fixture.RefinerModel.Transform(resized.Transform(fixture.Model.Transform(fixture.Data)));
        var thrown = Assert.ThrowsAny<InvalidOperationException>(() => output.GetColumn<byte[]>("PseudoMask").First());
        var e = thrown;
        while (e.InnerException is InvalidOperationException inner) e = inner; // ML.NET's parallel cursor wraps the row's error
        Assert.Contains("'Cam'", e.Message);
        Assert.Contains("64x64", e.Message);
        Assert.Contains("32x32", e.Message);
        Assert.Contains("'Image'", e.Message);
    }

    [Theory]
    [InlineData("Crop", 62)]
    [InlineData("WalkSteps", -1)]
    [InlineData("TrainingRadius", 1)]
    [InlineData("BatchSize", 0)]
    [InlineData("UncertainMargin", 1)]
    public void InvalidOptionsNameTheField(string field, int value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.RefinerEstimator(fixture.Ml, o =>
        {
            switch (field)
            {
                case "Crop": o.Crop = value; break;
                case "WalkSteps": o.WalkSteps = value; break;
                case "TrainingRadius": o.TrainingRadius = value; break;
                case "UncertainMargin": o.UncertainMargin = value; break;
                default: o.BatchSize = value; break;
            }
        }));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void ConfidentThresholdsInTheWrongOrderNameTheBackgroundOne()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.RefinerEstimator(fixture.Ml, o =>
        {
            o.ConfidentForegroundThreshold = 0.1;
            o.ConfidentBackgroundThreshold = 0.3;
        }));
        Assert.Equal("ConfidentBackgroundThreshold", e.ParamName);
    }

    [Fact]
    public void FitWithFewerRowsThanABatchSaysSoBeforeTraining()
    {
        var e = Assert.ThrowsAny<InvalidOperationException>(() =>
            fixture.RefinerEstimator(fixture.Ml, o => o.BatchSize = 32).Fit(fixture.Model.Transform(fixture.Data)));
        Assert.Contains("at least one batch (32)", e.Message);
        Assert.Contains("has 16", e.Message);
    }

    [Fact]
    public void ACancelledFitStopsBeforeTraining()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            fixture.RefinerEstimator(fixture.Ml, o => o.CancellationToken = cancelled.Token).Fit(fixture.Model.Transform(fixture.Data)));
    }

    [Fact]
    public void AlteredBoundaryWeightsAreRefusedNamingTheEntry()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-refiner-{Guid.NewGuid():N}.zip");
        try
        {
            fixture.Ml.Model.Save(fixture.Model.Append(fixture.RefinerModel), fixture.Data.Schema, zip);
            Assert.True(ModelZip.FlipEntryBytes(zip, "BoundaryWeights", 64), "no BoundaryWeights entry in the model");
            var e = Assert.Throws<FormatException>(() => new MLContext(seed: 1).Model.LoadReCamModel(zip, out _));
            Assert.Contains("mask refiner", e.Message);
            Assert.Contains("BoundaryWeights", e.Message);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Theory]
    [InlineData(RefinerModelInfo.MaskCrfVersion, 0, 0.25f, true)]
    [InlineData(RefinerModelInfo.UncertainMarginVersion, 1, 0.25f, false)] // before the mask CRF: no trailing bool
    [InlineData(RefinerModelInfo.UncertainMarginVersion - 1, 5, 0f, false)] // before the margin: no trailing float32 either
    public void ModelsOfEarlierFormatsReadWithTheDefaultsOfWhatTheyLack(uint version, int bytesLacking, float margin, bool maskCrf)
    {
        var info = fixture.RefinerModel.Info with { UncertainMargin = 0.25f, MaskCrf = true };
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) info.Write(w);
        byte[] written = stream.ToArray()[..^bytesLacking];
        static Exception Corrupt(string m) => new FormatException(m);

        var read = RefinerModelInfo.Read(new BinaryReader(new MemoryStream(written)), version, Corrupt);

        Assert.Equal((margin, maskCrf), (read.UncertainMargin, read.MaskCrf));
        Assert.Equal(info.ClassNames, read.ClassNames);
        Assert.Equal(info.Backbone.Name, read.Backbone.Name);
        Assert.Equal(info.MapsColumns, read.MapsColumns);
        Assert.Equal(info.Columns, read.Columns);
        Assert.Equal(
            (info.BackgroundThreshold, info.Beta, info.WalkRadius, info.WalkSteps, info.MapsExponent, info.ConfidentForeground, info.ConfidentBackground),
            (read.BackgroundThreshold, read.Beta, read.WalkRadius, read.WalkSteps, read.MapsExponent, read.ConfidentForeground, read.ConfidentBackground));
        // The same bytes read as the current format are damaged (cut short), not silently read with defaults.
        if (bytesLacking > 0)
            Assert.Throws<EndOfStreamException>(() => RefinerModelInfo.Read(new BinaryReader(new MemoryStream(written)), RefinerModelInfo.MaskCrfVersion, Corrupt));
    }

    [Fact]
    public void CamThenReCamThenRefinerFitInOneFitAndSaveInOneZip()
    {
        var ml = new MLContext(seed: 5);
        var pipeline = fixture.Pipeline(ml)
            .Append(fixture.ReCamEstimator(ml))
            .Append(ml.Transforms.RefineMasks(new MaskRefinerEstimator.Options
            {
                Epochs = 1, BatchSize = 8, Crop = Size, TrainingRadius = 5, UncertainMargin = 0.2f, MaskCrf = true,
            }));
        string zip = Path.Combine(Path.GetTempPath(), $"recam-three-{Guid.NewGuid():N}.zip");
        using var model = pipeline.Fit(fixture.Data);
        try
        {
            // The refiner read the ReCAM maps and took the ReCAM transformer's automatic threshold.
            var reCam = model.OfType<ReactivatedClassActivationMapTransformer>().Single();
            Assert.Equal(reCam.BackgroundThreshold, model.LastTransformer.BackgroundThreshold);
            Assert.Equal("ReCam", model.LastTransformer.MapsColumns.Maps);

            var expected = model.Transform(fixture.Data).GetColumn<byte[]>("PseudoMask").ToList();
            // The margin leaves the uncertain pixels unlabelled (255); the saved model keeps it, so the loaded one does too.
            Assert.Equal(0.2f, model.LastTransformer.UncertainMargin);
            Assert.Contains(expected, m => m.Contains(ReCam.Refinement.PseudoMask.IgnoreLabel));
            Assert.Contains(expected, m => m.Any(v => v != ReCam.Refinement.PseudoMask.IgnoreLabel));
            ml.Model.Save(model, fixture.Data.Schema, zip);
            using var loaded = (TransformerChain<ITransformer>)new MLContext(seed: 9).Model.LoadReCamModel(zip, out _);
            Assert.Equal(
                [typeof(ClassActivationMapTransformer), typeof(ReactivatedClassActivationMapTransformer), typeof(MaskRefinerTransformer)],
                loaded.Skip(1).Select(t => t.GetType()));
            var actual = loaded.Transform(fixture.Data).GetColumn<byte[]>("PseudoMask").ToList();
            Assert.Equal(expected, actual);
            Assert.Equal(0.2f, ((MaskRefinerTransformer)loaded.LastTransformer).UncertainMargin);
            Assert.True(((MaskRefinerTransformer)loaded.LastTransformer).MaskCrf);
        }
        finally
        {
            File.Delete(zip);
        }
    }
}
