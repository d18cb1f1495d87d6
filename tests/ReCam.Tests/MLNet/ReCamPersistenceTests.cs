using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.MLNet;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Save/load of the re-activated transformer: PredictionEngine, ownership, disposal, newer format versions.</summary>
[Collection(CamModelCollection.Name)]
public sealed class ReCamPersistenceTests(CamModelFixture fixture)
{
    private const int Size = CamModelFixture.ImageSize;

    /// <summary>PredictionEngine output row with both map sets.</summary>
    public sealed class BothMaps
    {
        /// <summary>CAM classes.</summary>
        public uint[] CamClasses { get; set; } = [];

        /// <summary>CAM maps.</summary>
        public float[] Cam { get; set; } = [];

        /// <summary>ReCAM classes.</summary>
        public uint[] ReCamClasses { get; set; } = [];

        /// <summary>ReCAM maps.</summary>
        public float[] ReCam { get; set; } = [];

        /// <summary>ReCAM scores.</summary>
        public float[] ReCamScores { get; set; } = [];

        /// <summary>Image width.</summary>
        public int ReCamWidth { get; set; }
    }

    private string SavePipeline()
    {
        string zip = Path.Combine(Path.GetTempPath(), $"recam-pipeline-{Guid.NewGuid():N}.zip");
        fixture.Ml.Model.Save(fixture.Model.Append(fixture.ReCamModel), fixture.Data.Schema, zip);
        return zip;
    }

    [Fact]
    public void PredictionEngineOnALoadedPipelineMapsOneRowAndOwnsTheModel()
    {
        string zip = SavePipeline();
        try
        {
            var ml = new MLContext(seed: 7);
            var model = (TransformerChain<ITransformer>)ml.Model.Load(zip, out _);
            var reCam = Assert.IsType<ReactivatedClassActivationMapTransformer>(model.LastTransformer);
            Assert.Equal(fixture.ReCamModel.Combination, reCam.Combination);
            Assert.Equal((fixture.ReCamModel.W2Gain, fixture.ReCamModel.PixelClass), (reCam.W2Gain, reCam.PixelClass));
            var engine = ml.Model.CreatePredictionEngine<LabelledRow, BothMaps>(model);
            var row = fixture.Rows[3];
            var prediction = engine.Predict(row);
            var expected = Enumerable.Range(0, 10).Where(c => row.Label[c] > 0).Select(c => (uint)c + 1).ToArray();
            Assert.Equal(expected, prediction.ReCamClasses);
            Assert.Equal(expected, prediction.CamClasses);
            Assert.Equal(Size, prediction.ReCamWidth);
            Assert.Equal(expected.Length * Size * Size, prediction.ReCam.Length);

            var original = fixture.Model.Append(fixture.ReCamModel).Transform(fixture.Ml.Data.LoadFromEnumerable(new[] { row }));
            Assert.Equal(original.GetColumn<float[]>("ReCam").Single(), prediction.ReCam);
            Assert.Equal(original.GetColumn<float[]>("ReCamScores").Single(), prediction.ReCamScores);
            Assert.Equal(original.GetColumn<float[]>("Cam").Single(), prediction.Cam);

            engine.Dispose();
            Assert.True(reCam.IsDisposed);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void PredictionEngineThatDoesNotOwnTheModelLeavesItUsable()
    {
        var chain = fixture.Model.Append(fixture.ReCamModel);
        var engine = fixture.Ml.Model.CreatePredictionEngine<LabelledRow, BothMaps>(chain, new PredictionEngineOptions { OwnsTransformer = false });
        Assert.Equal(Size, engine.Predict(fixture.Rows[1]).ReCamWidth);
        engine.Dispose();
        Assert.False(fixture.ReCamModel.IsDisposed);
        Assert.False(fixture.Model.LastTransformer.IsDisposed);
    }

    [Fact]
    public void DisposingTheLoadedPipelineFreesBothNetworks()
    {
        string zip = SavePipeline();
        try
        {
            var loaded = (TransformerChain<ITransformer>)new MLContext(seed: 1).Model.Load(zip, out _);
            var reCam = Assert.IsType<ReactivatedClassActivationMapTransformer>(loaded.LastTransformer);
            var cam = Assert.IsType<ClassActivationMapTransformer>(loaded.ElementAt(1));
            var output = loaded.Transform(fixture.Data);
            loaded.Dispose();
            Assert.True(reCam.IsDisposed);
            Assert.True(cam.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => output.GetColumn<float[]>("ReCam").First());
            reCam.Dispose(); // idempotent
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void ModelOfANewerFormatVersionGivesAClearError()
    {
        string zip = SavePipeline();
        try
        {
            Assert.True(ModelZip.BumpComponentVersion(zip, "RECAMREC", 0x00020001), "the ReCAM component was not found in the zip");
            var e = Assert.ThrowsAny<Exception>(() => new MLContext(seed: 1).Model.Load(zip, out _));
            string message = string.Join(" | ", Chain(e).Select(x => x.Message));
            Assert.Contains("re-activated class activation map model was saved by a newer ReCam.MLNet", message);
            Assert.Contains("0x00020001", message);
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
