using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.MLNet;
using ReCam.MLNet.LoadCheck;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>
/// The contract every ReCam ML.NET component passes, in the spirit of ML.NET's own estimator tests: the estimator's output
/// schema shape equals the fitted transformer's; input the component cannot use is refused by both with a schema error,
/// before any training; the fitted model, saved into a .zip and loaded in a second process, gives identical outputs.
/// Fitting is slow, so the caller passes the transformer its estimator fitted on <c>input</c>.
/// </summary>
internal static class EstimatorContract
{
    /// <summary>Checks the contract.</summary>
    /// <param name="estimator">The component's estimator, configured as for <paramref name="fitted"/>.</param>
    /// <param name="input">The data the estimator was fitted on (its input columns).</param>
    /// <param name="fitted">The transformer <paramref name="estimator"/> produced on <paramref name="input"/>.</param>
    /// <param name="invalidInput">Data whose schema lacks what the component needs.</param>
    /// <param name="pipeline">A saved-model pipeline from image paths that ends with <paramref name="fitted"/>.</param>
    /// <param name="pipelineInput">The schema <paramref name="pipeline"/> is saved with.</param>
    /// <param name="ml">The context to save with.</param>
    /// <param name="imagePaths">Images for the save/load comparison.</param>
    public static async Task CheckAsync(IEstimator<ITransformer> estimator, IDataView input, ITransformer fitted, IDataView invalidInput,
        ITransformer pipeline, DataViewSchema pipelineInput, MLContext ml, IReadOnlyList<string> imagePaths)
    {
        // 1. The estimator promises the schema the transformer delivers.
        var promised = estimator.GetOutputSchema(MLNetBridge.ShapeOf(input.Schema));
        var delivered = MLNetBridge.ShapeOf(fitted.GetOutputSchema(input.Schema));
        AssertSameShape(promised, delivered);

        // 2. Unusable input: a schema error (ArgumentOutOfRangeException, ML.NET's) from both sides, and from Fit before training.
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(MLNetBridge.ShapeOf(invalidInput.Schema)));
        Assert.Throws<ArgumentOutOfRangeException>(() => fitted.GetOutputSchema(invalidInput.Schema));
        Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(invalidInput));

        // 3. Save, load in a second process, same bytes out.
        string dir = Directory.CreateTempSubdirectory("recam-contract").FullName;
        try
        {
            string zip = Path.Combine(dir, "model.zip"), dump = Path.Combine(dir, "dump.bin");
            ml.Model.Save(pipeline, pipelineInput, zip);
            var rows = OutputDump.Rows(ml, imagePaths);
            byte[] expected = OutputDump.Dump(pipeline.Transform(rows), rows.Schema);
            await LoadCheckTool.RunAsync(new[] { zip, dump }.Concat(imagePaths));
            byte[] actual = File.ReadAllBytes(dump);
            Assert.Equal(expected.Length, actual.Length);
            Assert.True(expected.AsSpan().SequenceEqual(actual), "outputs of the model loaded in another process differ from the original's");

            // 4. What Fit chose besides the weights (the automatic background threshold, the settings) survives a load.
            using var loaded = (TransformerChain<ITransformer>)ml.Model.LoadReCamModel(zip, out _);
            Assert.Equal(fitted.GetType(), loaded.LastTransformer.GetType());
            Assert.Equal(FitChoices(fitted), FitChoices(loaded.LastTransformer));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>What Fit chose besides the weights, per component, as comparable text; the background threshold must be chosen.</summary>
    private static string FitChoices(ITransformer transformer)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        switch (transformer)
        {
            case MapTransformerBase maps:
                Assert.InRange(maps.BackgroundThreshold, 0.005f, 1f);
                return string.Create(c, $"{maps.BackgroundThreshold:R} {maps.MaxInputSide} {string.Join(",", maps.Scales)} {string.Join(",", maps.ClassNames)}");
            case MaskRefinerTransformer refiner:
                Assert.InRange(refiner.BackgroundThreshold, 0.005f, 1f);
                return string.Create(c, $"{refiner.BackgroundThreshold:R} {refiner.IrLabelThresholds} {refiner.Beta} {refiner.WalkRadius} {refiner.WalkSteps} " +
                    $"{string.Join(",", refiner.ClassNames)} {refiner.Backbone}");
            case DeepLabSegmentationTransformer segmenter:
                return string.Create(c, $"{segmenter.Variant} {segmenter.OutputStride} {string.Join(",", segmenter.Scales)} {segmenter.Flip} {segmenter.Crf} " +
                    $"{segmenter.MaxInputSide} {string.Join(",", segmenter.ClassNames)} {segmenter.Backbone}");
            default:
                throw new NotSupportedException($"{transformer.GetType().Name} is not a ReCam component; extend EstimatorContract.FitChoices.");
        }
    }

    private static void AssertSameShape(SchemaShape promised, SchemaShape delivered)
    {
        Assert.Equal(promised.Select(c => c.Name).Order(), delivered.Select(c => c.Name).Order());
        foreach (var p in promised)
        {
            Assert.True(MLNetBridge.TryFindColumn(delivered, p.Name, out var d));
            Assert.True(p.Kind == d.Kind && p.ItemType.Equals(d.ItemType) && p.IsKey == d.IsKey,
                $"column '{p.Name}': promised {p.Kind} {p.ItemType} key={p.IsKey}, delivered {d.Kind} {d.ItemType} key={d.IsKey}");
            Assert.Equal(p.Annotations.Select(a => (a.Name, a.Kind, a.ItemType.ToString())).Order(),
                d.Annotations.Select(a => (a.Name, a.Kind, a.ItemType.ToString())).Order());
        }
    }
}

/// <summary>Every component runs the contract.</summary>
[Collection(CamModelCollection.Name)]
public sealed class EstimatorContractTests(CamModelFixture fixture)
{
    private string[] Images => fixture.Rows.Take(3).Select(r => r.ImagePath).ToArray();

    [Fact]
    public async Task TheCamExtractorKeepsTheContract()
    {
        var images = fixture.Model.Take(1).Single().Transform(fixture.Data);
        var estimator = fixture.Pipeline(fixture.Ml).LastEstimator;
        await EstimatorContract.CheckAsync(estimator, images, fixture.Model.LastTransformer, fixture.Data, fixture.Model, fixture.Data.Schema,
            fixture.Ml, Images);
    }

    [Fact]
    public async Task TheReactivationTrainerKeepsTheContract()
    {
        var cam = fixture.Model.Transform(fixture.Data);
        var chain = fixture.Model.Append(fixture.ReCamModel); // not disposed here: it holds the fixture's transformers
        await EstimatorContract.CheckAsync(fixture.ReCamEstimator(fixture.Ml), cam, fixture.ReCamModel, fixture.Data, chain, fixture.Data.Schema,
            fixture.Ml, Images);
    }

    [Fact]
    public async Task TheDeepLabSegmenterKeepsTheContract()
    {
        var masks = fixture.RefinerModel.Transform(fixture.Model.Transform(fixture.Data));
        var chain = fixture.Model.Append(fixture.RefinerModel).Append(fixture.SegmenterModel); // holds the fixture's transformers: not disposed
        await EstimatorContract.CheckAsync(fixture.SegmenterEstimator(fixture.Ml), masks, fixture.SegmenterModel, fixture.Data, chain, fixture.Data.Schema,
            fixture.Ml, Images);
    }

    [Fact]
    public async Task TheMaskRefinerKeepsTheContract()
    {
        var cam = fixture.Model.Transform(fixture.Data);
        var chain = fixture.Model.Append(fixture.RefinerModel); // not disposed here: it holds the fixture's transformers
        await EstimatorContract.CheckAsync(fixture.RefinerEstimator(fixture.Ml), cam, fixture.RefinerModel, fixture.Data, chain, fixture.Data.Schema,
            fixture.Ml, Images);
    }
}
