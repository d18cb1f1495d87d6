using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Cam;
using ReCam.MLNet;
using ReCam.MLNet.LoadCheck;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Fit and transform of the re-activation trainer: outputs beside the CAM maps, where the CAM model comes from, extraction weights, logging.</summary>
[Collection(CamModelCollection.Name)]
public sealed class ReactivationTests(CamModelFixture fixture)
{
    private const int Size = CamModelFixture.ImageSize;

    private static float[][] Column(IDataView data, string name) => data.GetColumn<float[]>(name).ToArray();

    [Fact]
    public void PipelineFitAddsReCamMapsBesideTheCamMaps()
    {
        var chain = fixture.Model.Append(fixture.ReCamModel); // not disposed here: it holds the fixture's transformers
        var output = chain.Transform(fixture.Data);
        var camClasses = output.GetColumn<uint[]>("CamClasses").ToArray();
        var reCamClasses = output.GetColumn<uint[]>("ReCamClasses").ToArray();
        var cam = Column(output, "Cam");
        var reCam = Column(output, "ReCam");
        var heights = output.GetColumn<int>("ReCamHeight").ToArray();
        var stride4 = Column(output, "ReCamStride4");
        var scores = Column(output, "ReCamScores");
        bool anyDifferent = false;
        for (int r = 0; r < fixture.Rows.Count; r++)
        {
            var expected = Enumerable.Range(0, 10).Where(c => fixture.Rows[r].Label[c] > 0).Select(c => (uint)c + 1).ToArray();
            Assert.Equal(expected, reCamClasses[r]);
            Assert.Equal(camClasses[r], reCamClasses[r]);
            Assert.Equal(Size, heights[r]);
            Assert.Equal(expected.Length * Size * Size, reCam[r].Length);
            Assert.Equal(expected.Length * (Size / 4) * (Size / 4), stride4[r].Length);
            Assert.All(reCam[r], v => Assert.InRange(v, 0f, 1f));
            // Maps are divided by (raw max + 1e-5): W1 ⊙ W2 has small raw values (max ~1e-3 here, raw maps would fail), so the
            // normalised maximum m / (m + 1e-5) can sit visibly below 1. With the classes ranked by W1 (the default) a class keeps
            // the extent's strength only where it ranks first, so its own maximum may be lower; the strongest of all stays ~1.
            float strongest = reCam[r].Max();
            Assert.True(strongest == 0f || strongest > 0.5f, $"ReCAM maps of row {r} are not max-normalised (max {strongest})");
            Assert.Equal(10, scores[r].Length);
            anyDifferent |= !cam[r].AsSpan().SequenceEqual(reCam[r]);
        }
        Assert.True(anyDifferent, "re-activation left every map identical to the CAM maps");

        var schema = output.Schema;
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["ReCamScores"].GetSlotNames(ref names);
        Assert.Equal(fixture.ClassNames, names.DenseValues().Select(n => n.ToString()));
        Assert.Equal(fixture.ClassNames, fixture.ReCamModel.ClassNames);
        Assert.Equal(WeightCombination.Product, fixture.ReCamModel.Combination);
        Assert.Equal((ReCamTrainingOptions.DefaultW2Gain, PixelClassSource.W1), (fixture.ReCamModel.W2Gain, fixture.ReCamModel.PixelClass));
        Assert.Equal(fixture.Model.LastTransformer.Scales, fixture.ReCamModel.Scales); // inherited from the CAM model
    }

    [Fact]
    public void TrainingProgressWithSceAccuracyGoesToTheMLContextLog()
    {
        _ = fixture.ReCamModel;
        string[] log;
        lock (fixture.Log) log = fixture.Log.ToArray();
        Assert.Contains(log, m => m.Contains("upstream ClassActivationMapTransformer ('Cam')", StringComparison.Ordinal));
        Assert.Contains(log, m => m.Contains("epoch 1/2 (head warm-up) step 2/4 loss", StringComparison.Ordinal) && m.Contains("sce-accuracy", StringComparison.Ordinal));
        Assert.Contains(log, m => m.Contains("epoch 2/2 step 4/4 loss", StringComparison.Ordinal) && m.Contains("images/s", StringComparison.Ordinal));
        Assert.Contains(log, m => m.Contains("epoch 2/2 done: mean loss", StringComparison.Ordinal) && m.Contains("sce-accuracy", StringComparison.Ordinal));
    }

    [Fact]
    public void ProductWithAllOnesW2GivesTheCamMaps()
    {
        // Official settings: bit for bit. Defaults (a W2 gain, pixel classes ranked by W1): an all-ones W2 has no learnt part to
        // scale, and W1 ranks the classes as the maps already do, so the maps agree to rounding (max·x/max need not be x exactly).
        foreach (var (settings, tolerance) in new[]
        {
            (new ReCamMapSettings(WeightCombination.Product, 1.0, PixelClassSource.Combined), 0f),
            (new ReCamMapSettings(WeightCombination.Product, ReCamTrainingOptions.DefaultW2Gain, PixelClassSource.W1), 1e-6f),
        })
        {
            var cam = fixture.Model.LastTransformer;
            var network = cam.CloneNetwork();
            var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount);
            using (torch.no_grad()) head.Weight.fill_(1f);
            var info = cam.Info with { Columns = MapColumnNames.FromBaseName("ReCam") };
            using var ones = new ReactivatedClassActivationMapTransformer(fixture.Ml, network, head, info, settings, torch.CPU);
            var output = ones.Transform(fixture.Model.Transform(fixture.Data));
            foreach (string column in new[] { "", "Stride4", "Scores" })
            {
                var expected = Column(output, "Cam" + column);
                var actual = Column(output, "ReCam" + column);
                for (int r = 0; r < expected.Length; r++)
                {
                    Assert.Equal(expected[r].Length, actual[r].Length);
                    float worst = expected[r].Zip(actual[r], (x, y) => Math.Abs(x - y)).DefaultIfEmpty(0f).Max();
                    Assert.True(worst <= tolerance, $"{settings}: ReCam{column} of row {r} differs from Cam{column} by {worst}");
                }
            }
        }
    }

    /// <summary>With only head warm-up (backbone and W1 untouched) and W1 maps, ReCAM maps equal the CAM maps bitwise.</summary>
    private void AssertWarmupOnlyW1EqualsCam(ReactivatedClassActivationMapTransformer reCam)
    {
        var output = reCam.Transform(fixture.Model.Transform(fixture.Data));
        var expected = Column(output, "Cam");
        var actual = Column(output, "ReCam");
        for (int r = 0; r < expected.Length; r++)
            Assert.True(expected[r].AsSpan().SequenceEqual(actual[r]), $"row {r}: W1 maps after head warm-up differ from the CAM maps");
    }

    private static void WarmupOnly(ReactivatedClassActivationMapEstimator.Options o)
    {
        o.HeadWarmupEpochs = 1;
        o.Epochs = 0;
        o.Combination = WeightCombination.W1;
        o.Scales = [1.0];
    }

    [Fact]
    public void ContinuesFromAGivenTransformerWithoutSharingIt()
    {
        var cam = fixture.Model.LastTransformer;
        var images = fixture.Model.First().Transform(fixture.Data); // LoadImages only: nothing upstream to find
        var reCam = fixture.ReCamEstimator(fixture.Ml, o =>
        {
            WarmupOnly(o);
            o.CamModel = cam;
        }).Fit(images);
        AssertWarmupOnlyW1EqualsCam(reCam);
        reCam.Dispose();
        Assert.True(reCam.IsDisposed);
        Assert.False(cam.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => reCam.Transform(images));
        Assert.Equal(fixture.Rows.Count, fixture.Model.Transform(fixture.Data).GetColumn<float[]>("Cam").Count()); // the CAM model still works
    }

    [Fact]
    public void ContinuesFromACamCheckpointFile()
    {
        var cam = fixture.Model.LastTransformer;
        string path = Path.Combine(Path.GetTempPath(), $"recam-cam-{Guid.NewGuid():N}.ckpt");
        try
        {
            using (var network = cam.CloneNetwork())
                Checkpoint.Save(path, network, new CheckpointInfo { Kind = "cam", Backbone = cam.Backbone, Classes = fixture.ClassNames, Epoch = 1, Epochs = 1 });
            using var reCam = fixture.ReCamEstimator(fixture.Ml, o =>
            {
                WarmupOnly(o);
                o.CamModelPath = path;
            }).Fit(fixture.Model.First().Transform(fixture.Data));
            Assert.Equal(fixture.ClassNames, reCam.ClassNames);
            Assert.Equal(0.5f, reCam.Threshold);
            AssertWarmupOnlyW1EqualsCam(reCam);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NoCamModelAnywhereGivesAClearError()
    {
        var images = fixture.Model.First().Transform(fixture.Data);
        var estimator = fixture.ReCamEstimator(fixture.Ml);
        var pipeline = fixture.Ml.Transforms.LoadImages("Image", "", "ImagePath").Append(estimator);
        var shape = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => pipeline.Fit(fixture.Data)); // schema propagation, before any training
        Assert.Contains("'Cam'", shape.Message);
        Assert.Contains("TrainClassActivationMaps", shape.Message);
        var fit = Assert.ThrowsAny<InvalidOperationException>(() => estimator.Fit(images));
        Assert.Contains("No CAM model to re-activate", fit.Message);
        Assert.Contains("Options.CamModel", fit.Message);
    }

    [Fact]
    public void LabelOfAnotherClassCountThanTheCamModelIsASchemaError()
    {
        var data = fixture.Ml.Data.LoadFromEnumerable(Enumerable.Range(0, 8).Select(i =>
            new ClassActivationMapTests.SevenLabels { ImagePath = fixture.Rows[i].ImagePath, Label = [1, 0, 0, 0, 0, 0, 0] }).ToList());
        var images = fixture.Ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(data).Transform(data);
        var e = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => fixture.ReCamEstimator(fixture.Ml, o => o.CamModel = fixture.Model.LastTransformer).Fit(images));
        Assert.Contains("label column 'Label'", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Vector<Single, 10>", e.Message);
        Assert.Contains("got Vector<Single, 7>", e.Message);
    }

    [Fact]
    public void SameSeedGivesTheSameModel()
    {
        var ml = new MLContext(seed: 1); // the fixture's seed
        using var again = fixture.ReCamEstimator(ml).Fit(fixture.Model.Transform(fixture.Data));
        var paths = fixture.Rows.Take(2).Select(r => r.ImagePath).ToArray();
        var cam = fixture.Model.Transform(OutputDump.Rows(fixture.Ml, paths));
        byte[] first = OutputDump.Dump(fixture.ReCamModel.Transform(cam), cam.Schema);
        byte[] second = OutputDump.Dump(again.Transform(cam), cam.Schema);
        Assert.True(first.AsSpan().SequenceEqual(second), "two re-activations with MLContext seed 1 differ");
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var estimator = fixture.ReCamEstimator(fixture.Ml, o => o.CancellationToken = cancelled.Token);
        Assert.ThrowsAny<OperationCanceledException>(() => estimator.Fit(fixture.Model.Transform(fixture.Data)));
    }
}
