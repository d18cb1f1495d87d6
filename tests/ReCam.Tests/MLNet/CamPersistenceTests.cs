using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using ReCam.MLNet;
using ReCam.MLNet.LoadCheck;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Save/load of the CAM transformer (also in a second process), PredictionEngine, disposal, damaged and newer models.</summary>
[Collection(CamModelCollection.Name)]
public sealed class CamPersistenceTests(CamModelFixture fixture)
{
    private const int Size = CamModelFixture.ImageSize;

    /// <summary>PredictionEngine output row.</summary>
    public sealed class CamPrediction
    {
        /// <summary>Present classes (keys).</summary>
        public uint[] CamClasses { get; set; } = [];

        /// <summary>Class probabilities.</summary>
        public float[] CamScores { get; set; } = [];

        /// <summary>Full-resolution maps.</summary>
        public float[] Cam { get; set; } = [];

        /// <summary>Image height.</summary>
        public int CamHeight { get; set; }

        /// <summary>Image width.</summary>
        public int CamWidth { get; set; }
    }

    [Fact]
    public void PredictionEngineMapsOneRow()
    {
        // ML.NET's PredictionEngine.Dispose also disposes the model it was created from, so this test uses its own copy.
        string zip = Path.Combine(Path.GetTempPath(), $"recam-engine-{Guid.NewGuid():N}.zip");
        try
        {
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            var ml = new MLContext(seed: 5);
            var model = ml.Model.Load(zip, out _);
            var engine = ml.Model.CreatePredictionEngine<LabelledRow, CamPrediction>(model);
            var row = fixture.Rows[0];
            var prediction = engine.Predict(row);
            var expected = Enumerable.Range(0, 10).Where(c => row.Label[c] > 0).Select(c => (uint)c + 1).ToArray();
            Assert.Equal(expected, prediction.CamClasses);
            Assert.Equal(Size, prediction.CamHeight);
            Assert.Equal(Size, prediction.CamWidth);
            Assert.Equal(expected.Length * Size * Size, prediction.Cam.Length);

            var viaDataView = fixture.Model.Transform(fixture.Ml.Data.LoadFromEnumerable(new[] { row }));
            Assert.Equal(viaDataView.GetColumn<float[]>("Cam").Single(), prediction.Cam);
            Assert.Equal(viaDataView.GetColumn<float[]>("CamScores").Single(), prediction.CamScores);
            Assert.Equal(prediction.Cam, engine.Predict(row).Cam); // the engine's row cache does not serve stale rows

            var cam = (ClassActivationMapTransformer)((TransformerChain<ITransformer>)model).LastTransformer;
            engine.Dispose();
            Assert.True(cam.IsDisposed);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void PredictionEngineThatDoesNotOwnTheModelLeavesItUsable()
    {
        var options = new PredictionEngineOptions { OwnsTransformer = false };
        var engine = fixture.Ml.Model.CreatePredictionEngine<LabelledRow, CamPrediction>(fixture.Model, options);
        Assert.Equal(Size, engine.Predict(fixture.Rows[2]).CamWidth);
        engine.Dispose();
        Assert.False(fixture.Model.LastTransformer.IsDisposed);
    }

    /// <summary>PredictionEngine input holding a decoded image (no file path, no label).</summary>
    public sealed class InMemoryImage
    {
        /// <summary>The image (ML.NET needs a declared size for an MLImage member; the transformer accepts any).</summary>
        [ImageType(Size, Size)]
        public MLImage Image { get; set; } = null!;
    }

    [Fact]
    public void PredictionEngineTakesAnInMemoryUnlabelledImage()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-inmemory-{Guid.NewGuid():N}.zip");
        try
        {
            // The CAM transformer alone (without LoadImages) saved and reloaded: its input is an MLImage column.
            var cam = fixture.Model.LastTransformer;
            var imageSchema = fixture.Model.Take(1).Single().GetOutputSchema(fixture.Data.Schema);
            fixture.Ml.Model.Save(cam, imageSchema, zip);
            var ml = new MLContext(seed: 2);
            using var model = ml.Model.Load(zip, out _) as IDisposable;
            var engine = ml.Model.CreatePredictionEngine<InMemoryImage, CamPrediction>((ITransformer)model!);
            using var image = MLImage.CreateFromFile(fixture.Rows[1].ImagePath);
            var prediction = engine.Predict(new InMemoryImage { Image = image });

            var viaFile = fixture.Model.Transform(OutputDump.Rows(fixture.Ml, [fixture.Rows[1].ImagePath]));
            Assert.Equal(viaFile.GetColumn<float[]>("CamScores").Single(), prediction.CamScores);
            Assert.Equal(viaFile.GetColumn<uint[]>("CamClasses").Single(), prediction.CamClasses);
            Assert.Equal(viaFile.GetColumn<float[]>("Cam").Single(), prediction.Cam);
            Assert.Equal(Size, prediction.CamHeight);
            engine.Dispose();
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void DisposeFreesTheNetworkAndBlocksFurtherUse()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-dispose-{Guid.NewGuid():N}.zip");
        try
        {
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            var loaded = (TransformerChain<ITransformer>)fixture.Ml.Model.Load(zip, out _);
            var cam = Assert.IsType<ClassActivationMapTransformer>(loaded.LastTransformer);
            var output = loaded.Transform(fixture.Data);
            Assert.Equal(fixture.Rows.Count, output.GetColumn<int>("CamHeight").Count());
            Assert.False(cam.IsDisposed);
            loaded.Dispose();
            Assert.True(cam.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => output.GetColumn<float[]>("Cam").First());
            Assert.Throws<ObjectDisposedException>(() => cam.Transform(fixture.Data));
            cam.Dispose(); // idempotent
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void TruncatedModelGivesAClearError()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-trunc-{Guid.NewGuid():N}.zip");
        try
        {
            // A cut file: ML.NET itself reports that the zip cannot be opened.
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            byte[] bytes = File.ReadAllBytes(zip);
            File.WriteAllBytes(zip, bytes[..(bytes.Length / 2)]);
            var cut = Assert.Throws<FormatException>(() => new MLContext(seed: 1).Model.Load(zip, out _));
            Assert.Contains("zip", cut.Message, StringComparison.OrdinalIgnoreCase);

            // A readable zip whose weights entry was cut: ReCam reports the damaged weights, first.
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            Assert.True(ModelZip.TruncateEntry(zip, "TorchWeights"), "no TorchWeights entry in the model");
            var damaged = Assert.Throws<FormatException>(() => new MLContext(seed: 1).Model.LoadReCamModel(zip, out _));
            Assert.Contains("do not match their SHA-256 digest", damaged.Message);
            Assert.Contains("TorchWeights", damaged.Message); // names the damaged entry
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void AlteredWeightsWithAValidZipAreRefused()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-flipped-{Guid.NewGuid():N}.zip");
        try
        {
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            Assert.True(ModelZip.FlipEntryBytes(zip, "TorchWeights", 64), "no TorchWeights entry in the model");
            // ML.NET's own Load wraps the error; LoadReCamModel throws it first.
            var wrapped = Assert.ThrowsAny<Exception>(() => new MLContext(seed: 1).Model.Load(zip, out _));
            Assert.Contains(Chain(wrapped), x => x.Message.Contains("do not match their SHA-256 digest", StringComparison.Ordinal));
            var e = Assert.Throws<FormatException>(() => new MLContext(seed: 1).Model.LoadReCamModel(zip, out _));
            Assert.Contains("do not match their SHA-256 digest", e.Message);
            Assert.Contains("TorchWeights", e.Message);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void ModelOfANewerFormatVersionGivesAClearError()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-newer-{Guid.NewGuid():N}.zip");
        try
        {
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            Assert.True(ModelZip.BumpComponentVersion(zip, "RECAMCAM", 0x00020001), "the CAM component was not found in the zip");
            var e = Assert.Throws<FormatException>(() => new MLContext(seed: 1).Model.LoadReCamModel(zip, out _));
            Assert.Contains("newer ReCam.MLNet", e.Message);
            Assert.Contains("0x00020001", e.Message);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void GpuRequestWithFallbackRunsOnTheCpuWithAWarning()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-fallback-{Guid.NewGuid():N}.zip");
        try
        {
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
            var warnings = new List<string>();
            ml.Log += (_, e) =>
            {
                if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.Message);
            };
            using var model = (TransformerChain<ITransformer>)ml.Model.Load(zip, out _);
            var cam = Assert.IsType<ClassActivationMapTransformer>(model.LastTransformer);
            Assert.Equal("cpu", cam.Device, ignoreCase: true);
            Assert.Contains(warnings, w => w.Contains("CUDA is not available", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(zip);
        }
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }
}
