using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.MLNet;
using ReCam.MLNet.LoadCheck;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Fit, transform, save/load (also in a second process), PredictionEngine and disposal of the CAM transformer.</summary>
public sealed class ClassActivationMapTests(CamModelFixture fixture) : IClassFixture<CamModelFixture>
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
                Assert.True(max == 0f || max > 0.999f, $"map {k} of row {r} is not max-normalised (max {max})");
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
    public async Task SavedModelLoadsInAnotherProcessWithIdenticalOutputs()
    {
        string dir = Directory.CreateTempSubdirectory("recam-mlnet-save").FullName;
        try
        {
            string zip = Path.Combine(dir, "cam.zip"), dump = Path.Combine(dir, "dump.bin");
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            var paths = fixture.Rows.Take(4).Select(r => r.ImagePath).ToArray();
            byte[] expected = CamOutputDump.Dump(fixture.Model.Transform(CamOutputDump.Rows(fixture.Ml, paths)));

            string tool = typeof(ClassActivationMapTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(a => a.Key == "ReCamLoadCheckPath").Value!;
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { "exec", tool, zip, dump }.Concat(paths)) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"load-check failed ({process.ExitCode}): {await stderr} {await stdout}");

            byte[] actual = File.ReadAllBytes(dump);
            Assert.Equal(expected.Length, actual.Length);
            Assert.True(expected.AsSpan().SequenceEqual(actual), "outputs of the reloaded model differ from the original's");
            // Without labels the classes come from the classifier (threshold 0 here): the first image has maps to compare.
            Assert.InRange(BitConverter.ToInt32(expected, 0), 1, 10);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
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

            // A readable zip whose weights entry was cut: ReCam reports the damaged weights.
            fixture.Ml.Model.Save(fixture.Model, fixture.Data.Schema, zip);
            Assert.True(ModelZip.TruncateEntry(zip, "TorchWeights"), "no TorchWeights entry in the model");
            var damaged = Assert.ThrowsAny<Exception>(() => new MLContext(seed: 1).Model.Load(zip, out _));
            string message = string.Join(" | ", Chain(damaged).Select(x => x.Message));
            Assert.Contains("weights do not load", message);
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
            var e = Assert.ThrowsAny<Exception>(() => new MLContext(seed: 1).Model.Load(zip, out _));
            string message = string.Join(" | ", Chain(e).Select(x => x.Message));
            Assert.Contains("newer ReCam.MLNet", message);
            Assert.Contains("0x00020001", message);
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void SameSeedGivesTheSameModel()
    {
        var ml = new MLContext(seed: 1);
        using var again = fixture.Pipeline(ml).Fit(ml.Data.LoadFromEnumerable(fixture.Rows));
        var paths = fixture.Rows.Take(2).Select(r => r.ImagePath).ToArray();
        byte[] first = CamOutputDump.Dump(fixture.Model.Transform(CamOutputDump.Rows(fixture.Ml, paths)));
        byte[] second = CamOutputDump.Dump(again.Transform(CamOutputDump.Rows(ml, paths)));
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

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }
}
