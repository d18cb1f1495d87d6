using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.MLNet;
using ReCam.MLNet.LoadCheck;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Fit and transform of the CAM estimator: outputs, annotations, laziness, labels, logging, seed, cancellation, device.</summary>
[Collection(CamModelCollection.Name)]
public sealed class ClassActivationMapTests(CamModelFixture fixture)
{
    private const int Size = CamModelFixture.ImageSize;

    [Fact]
    public void TransformAddsMapsOfTheLabelledClasses()
    {
        var output = fixture.Model.Transform(fixture.Data);
        var preview = output.Preview(maxRows: fixture.Rows.Count);
        Assert.Equal(fixture.Rows.Count, preview.RowView.Length);
        for (int r = 0; r < fixture.Rows.Count; r++)
        {
            var values = preview.RowView[r].Values.ToDictionary(kv => kv.Key, kv => kv.Value);
            var expected = Enumerable.Range(0, 10).Where(c => fixture.Rows[r].Label[c] > 0).Select(c => (uint)c + 1).ToArray();
            var keys = ((VBuffer<uint>)values["CamClasses"]).DenseValues().ToArray();
            Assert.Equal(expected, keys);
            Assert.NotEmpty(keys);
            Assert.Equal(Size, (int)values["CamHeight"]);
            Assert.Equal(Size, (int)values["CamWidth"]);
            Assert.Equal(Size / 4, (int)values["CamStride4Height"]);
            Assert.Equal(Size / 4, (int)values["CamStride4Width"]);
            var maps = ((VBuffer<float>)values["Cam"]).DenseValues().ToArray();
            var stride4 = ((VBuffer<float>)values["CamStride4"]).DenseValues().ToArray();
            Assert.Equal(keys.Length * Size * Size, maps.Length);
            Assert.Equal(keys.Length * (Size / 4) * (Size / 4), stride4.Length);
            Assert.All(maps, v => Assert.InRange(v, 0f, 1f));
            for (int k = 0; k < keys.Length; k++)
            {
                float max = maps.AsSpan(k * Size * Size, Size * Size).ToArray().Max();
                // m / (m + 1e-5): just below 1, lower for a weak map (raw maximum 0.001 gives 0.990).
                Assert.True(max == 0f || max > 0.99f, $"map {k} of row {r} is not max-normalised (max {max})");
            }
            var scores = ((VBuffer<float>)values["CamScores"]).DenseValues().ToArray();
            Assert.Equal(10, scores.Length);
            Assert.All(scores, v => Assert.InRange(v, 0f, 1f));
        }
    }

    [Fact]
    public void TransformIsLazyAndRunsTheNetworkOncePerRow()
    {
        var cam = fixture.Model.LastTransformer;
        var before = cam.WorkDone;
        var output = fixture.Model.Transform(fixture.Data);
        Assert.Equal(before, cam.WorkDone); // Transform alone computes nothing
        Assert.All(output.GetColumn<int>("CamHeight"), h => Assert.Equal(Size, h));
        Assert.Equal(before, cam.WorkDone); // sizes need no network pass

        var s = output.Schema;
        using (var cursor = output.GetRowCursor([s["Cam"], s["CamStride4"], s["CamClasses"], s["CamScores"]]))
        {
            var maps = cursor.GetGetter<VBuffer<float>>(s["Cam"]);
            var stride4 = cursor.GetGetter<VBuffer<float>>(s["CamStride4"]);
            var scores = cursor.GetGetter<VBuffer<float>>(s["CamScores"]);
            var classes = cursor.GetGetter<VBuffer<uint>>(s["CamClasses"]);
            VBuffer<float> f = default;
            VBuffer<uint> k = default;
            while (cursor.MoveNext())
            {
                maps(ref f);
                stride4(ref f);
                scores(ref f);
                classes(ref k);
                maps(ref f);
            }
        }
        var after = cam.WorkDone;
        Assert.Equal(fixture.Rows.Count, after.Scores - before.Scores);
        Assert.Equal(fixture.Rows.Count, after.Extractions - before.Extractions);
    }

    [Fact]
    public void ReadingOnlyPassThroughColumnsComputesNothing()
    {
        var cam = fixture.Model.LastTransformer;
        var before = cam.WorkDone;
        var paths = fixture.Model.Transform(fixture.Data).GetColumn<string>("ImagePath").ToArray(); // the image column is inactive here
        Assert.Equal(fixture.Rows.Select(r => r.ImagePath), paths);
        Assert.Equal(before, cam.WorkDone);
    }

    [Fact]
    public void KeyTypedLabelsChooseTheClassesAtTransformTime()
    {
        var ml = fixture.Ml;
        var rows = fixture.Rows.Take(3).Select(r => new TaggedRow
        {
            ImagePath = r.ImagePath,
            Tags = Enumerable.Range(0, 10).Where(c => r.Label[c] > 0).Select(c => fixture.ClassNames[c]).ToArray(),
        }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var keyData = ml.Data.LoadFromEnumerable(fixture.ClassNames.Select(n => new TagRow { Tag = n }));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label", "Tags", keyData: keyData).Fit(data).Transform(data);
        var classes = fixture.Model.Transform(keyed).GetColumn<uint[]>("CamClasses").ToList();
        for (int r = 0; r < rows.Count; r++)
        {
            var expected = Enumerable.Range(0, 10).Where(c => fixture.Rows[r].Label[c] > 0).Select(c => (uint)c + 1).ToArray();
            Assert.Equal(expected, classes[r]);
        }
    }

    [Fact]
    public void FitsOnKeyTypedLabelsAndTakesTheClassNamesFromTheKeyValues()
    {
        var ml = new MLContext(seed: 4);
        var rows = fixture.Rows.Take(8).Select(r => new TaggedRow
        {
            ImagePath = r.ImagePath,
            Tags = Enumerable.Range(0, 10).Where(c => r.Label[c] > 0).Select(c => fixture.ClassNames[c]).ToArray(),
        }).ToList();
        var keyData = ml.Data.LoadFromEnumerable(fixture.ClassNames.Select(n => new TagRow { Tag = n }));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Tags", keyData: keyData)
            .Append(ml.Transforms.LoadImages("Image", "", "ImagePath"))
            .Append(ml.Transforms.TrainClassActivationMaps(epochs: 1, batchSize: 8, crop: Size, scales: [1.0]));
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = pipeline.Fit(data);
        Assert.Equal(fixture.ClassNames, model.LastTransformer.ClassNames);
        var classes = model.Transform(data).GetColumn<uint[]>("CamClasses").ToList();
        for (int r = 0; r < rows.Count; r++)
            Assert.Equal(Enumerable.Range(0, 10).Where(c => fixture.Rows[r].Label[c] > 0).Select(c => (uint)c + 1), classes[r]);
    }

    [Fact]
    public void TransformerRejectsALabelColumnOfAnotherClassCount()
    {
        var ml = fixture.Ml;
        var data = ml.Data.LoadFromEnumerable(new[] { new SevenLabels { ImagePath = fixture.Rows[0].ImagePath } });
        var e = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => fixture.Model.GetOutputSchema(data.Schema));
        Assert.Contains("label column 'Label'", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Vector<Single, 10>", e.Message);
        Assert.Contains("got Vector<Single, 7>", e.Message);
    }

    [Fact]
    public void OutputColumnsCarryClassNames()
    {
        var schema = fixture.Model.GetOutputSchema(fixture.Data.Schema);
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["CamScores"].GetSlotNames(ref names);
        Assert.Equal(fixture.ClassNames, names.DenseValues().Select(n => n.ToString()));
        schema["CamClasses"].GetKeyValues(ref names);
        Assert.Equal(fixture.ClassNames, names.DenseValues().Select(n => n.ToString()));
        Assert.Equal(new KeyDataViewType(typeof(uint), 10), ((VectorDataViewType)schema["CamClasses"].Type).ItemType);
        Assert.Equal(NumberDataViewType.Int32, schema["CamHeight"].Type);
    }

    [Fact]
    public void TrainingProgressGoesToTheMLContextLog()
    {
        string[] log;
        lock (fixture.Log) log = fixture.Log.ToArray();
        Assert.Contains(log, m => m.Contains("epoch 1/1 step 2/2 loss", StringComparison.Ordinal) && m.Contains("images/s", StringComparison.Ordinal));
        Assert.Contains(log, m => m.Contains("epoch 1/1 done: mean loss", StringComparison.Ordinal));
    }

    [Fact]
    public void SameSeedGivesTheSameModel()
    {
        var ml = new MLContext(seed: 1);
        using var again = fixture.Pipeline(ml).Fit(ml.Data.LoadFromEnumerable(fixture.Rows));
        var paths = fixture.Rows.Take(2).Select(r => r.ImagePath).ToArray();
        var rows = OutputDump.Rows(fixture.Ml, paths);
        byte[] first = OutputDump.Dump(fixture.Model.Transform(rows), rows.Schema);
        byte[] second = OutputDump.Dump(again.Transform(rows), rows.Schema);
        Assert.True(first.AsSpan().SequenceEqual(second), "two fits with MLContext seed 1 differ");
    }

    [Fact]
    public void CancellationStopsTraining()
    {
        var ml = new MLContext(seed: 1);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => fixture.Pipeline(ml, cancelled.Token).Fit(ml.Data.LoadFromEnumerable(fixture.Rows)));
    }

    [Fact]
    public void GpuRequestWithoutCudaAndWithoutFallbackFails()
    {
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
        var e = Assert.ThrowsAny<InvalidOperationException>(() => fixture.Pipeline(ml).Fit(ml.Data.LoadFromEnumerable(fixture.Rows)));
        Assert.Contains("GpuDeviceId", e.Message);
    }

    /// <summary>Row with class names as tags.</summary>
    public sealed class TaggedRow
    {
        /// <summary>Absolute image path.</summary>
        public string ImagePath { get; set; } = "";

        /// <summary>Names of the present classes.</summary>
        public string[] Tags { get; set; } = [];
    }

    /// <summary>One class name (key dictionary row).</summary>
    public sealed class TagRow
    {
        /// <summary>Class name.</summary>
        public string Tag { get; set; } = "";
    }

    /// <summary>Row whose label has the wrong class count.</summary>
    public sealed class SevenLabels
    {
        /// <summary>Absolute image path.</summary>
        public string ImagePath { get; set; } = "";

        /// <summary>Seven-class label.</summary>
        [VectorType(7)]
        public float[] Label { get; set; } = new float[7];
    }
}
