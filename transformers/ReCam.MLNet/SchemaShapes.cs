using Microsoft.ML;

namespace ReCam.MLNet;

/// <summary>Helpers for checking a pipeline against data before fitting it.</summary>
public static class SchemaShapes
{
    /// <summary>
    /// The <see cref="SchemaShape"/> of <paramref name="schema"/>, as ML.NET derives it (its own factory is not public): pass it to
    /// any estimator's <see cref="IEstimator{TTransformer}.GetOutputSchema"/>, for example
    /// <c>pipeline.GetOutputSchema(SchemaShapes.FromSchema(data.Schema))</c>, to get the schema errors before training. A shape
    /// carries no vector sizes: a label vector of the wrong length passes it, and <c>Fit</c> reports it before any training.
    /// </summary>
    public static SchemaShape FromSchema(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return MLNetBridge.ShapeOf(schema);
    }
}
