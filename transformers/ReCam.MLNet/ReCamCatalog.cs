using Microsoft.ML;
using ReCam.Networks;

namespace ReCam.MLNet;

/// <summary>ReCam's extension methods on <see cref="TransformsCatalog"/> (<c>mlContext.Transforms</c>).</summary>
public static class ReCamCatalog
{
    /// <summary>
    /// Fits the multi-label CAM classifier on an image column and a multi-label column and returns an estimator whose
    /// transformer adds class activation maps to every row (columns listed in <see cref="CamColumnNames"/>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the full-resolution maps column; the other output names are derived from it
    /// (<c>Cam</c> → <c>CamClasses</c>, <c>CamScores</c>, <c>CamHeight</c>, <c>CamWidth</c>, <c>CamStride4</c>, ...).</param>
    /// <param name="imageColumnName">Image column, as produced by <c>LoadImages</c>.</param>
    /// <param name="labelColumnName">Multi-hot <c>Vector&lt;Single, C&gt;</c>/<c>Vector&lt;Boolean, C&gt;</c>, or a vector of keys, of the present classes.</param>
    /// <param name="classNames">Class names; null = the label column's slot names or key values.</param>
    /// <param name="backbone">Backbone name; the default ships with ImageNet weights.</param>
    /// <param name="epochs">Training epochs.</param>
    /// <param name="batchSize">Images per training step.</param>
    /// <param name="crop">Square training crop in pixels (about the image size for small images).</param>
    /// <param name="scales">Extraction scales; null = 1.0, 0.5, 1.5, 2.0.</param>
    public static ClassActivationMapEstimator TrainClassActivationMaps(this TransformsCatalog catalog,
        string outputColumnName = CamColumnNames.DefaultBaseName, string imageColumnName = "Image", string labelColumnName = "Label",
        string[]? classNames = null, string backbone = BackboneCatalog.DefaultName, int epochs = 5, int batchSize = 16, int crop = 512,
        double[]? scales = null)
    {
        var options = new ClassActivationMapEstimator.Options
        {
            OutputColumnName = outputColumnName, ImageColumnName = imageColumnName, LabelColumnName = labelColumnName, ClassNames = classNames,
            Backbone = backbone, Epochs = epochs, BatchSize = batchSize, Crop = crop,
        };
        if (scales is not null) options.Scales = scales;
        return new ClassActivationMapEstimator(MLNetBridge.Environment(catalog), options);
    }

    /// <summary>Fits the multi-label CAM classifier with full control over the options (see <see cref="ClassActivationMapEstimator.Options"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options.</param>
    public static ClassActivationMapEstimator TrainClassActivationMaps(this TransformsCatalog catalog, ClassActivationMapEstimator.Options options) =>
        new(MLNetBridge.Environment(catalog), options);
}
