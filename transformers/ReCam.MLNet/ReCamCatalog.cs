using Microsoft.ML;
using ReCam.Networks;

namespace ReCam.MLNet;

/// <summary>ReCam's extension methods on <see cref="TransformsCatalog"/> (<c>mlContext.Transforms</c>) and <see cref="ModelOperationsCatalog"/> (<c>mlContext.Model</c>).</summary>
public static class ReCamCatalog
{
    /// <summary>
    /// Fits the multi-label CAM classifier on an image column and a multi-label column and returns an estimator whose
    /// transformer adds class activation maps to every row (columns listed in <see cref="MapColumnNames"/>).
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
        string outputColumnName = ClassActivationMapEstimator.Defaults.OutputColumnName, string imageColumnName = ClassActivationMapEstimator.Defaults.ImageColumnName,
        string labelColumnName = ClassActivationMapEstimator.Defaults.LabelColumnName, string[]? classNames = null,
        string backbone = ClassActivationMapEstimator.Defaults.Backbone, int epochs = ClassActivationMapEstimator.Defaults.Epochs,
        int batchSize = ClassActivationMapEstimator.Defaults.BatchSize, int crop = ClassActivationMapEstimator.Defaults.Crop, double[]? scales = null)
    {
        var options = new ClassActivationMapEstimator.Options
        {
            OutputColumnName = outputColumnName, ImageColumnName = imageColumnName, LabelColumnName = labelColumnName, ClassNames = classNames,
            Backbone = backbone, Epochs = epochs, BatchSize = batchSize, Crop = crop, Scales = scales,
        };
        return new ClassActivationMapEstimator(MLNetBridge.Environment(catalog), options);
    }

    /// <summary>Fits the multi-label CAM classifier with full control over the options (see <see cref="ClassActivationMapEstimator.Options"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options.</param>
    public static ClassActivationMapEstimator TrainClassActivationMaps(this TransformsCatalog catalog, ClassActivationMapEstimator.Options options) =>
        new(MLNetBridge.Environment(catalog), options);

    /// <summary>
    /// Re-activates a fitted CAM model with BCE + λ·SCE (ReCAM) and returns an estimator whose transformer adds ReCAM maps to every
    /// row, with the CAM extractor's column layout under the base name <paramref name="outputColumnName"/>. This overload continues
    /// from the CAM transformer that produced its input: append it right after <see cref="TrainClassActivationMaps(TransformsCatalog, string, string, string, string[], string, int, int, int, double[])"/>.
    /// To start from a fitted transformer or a checkpoint file instead, use the <see cref="ReactivatedClassActivationMapEstimator.Options"/> overload.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the full-resolution ReCAM maps column; the other output names are derived from it
    /// (<c>ReCam</c> → <c>ReCamClasses</c>, <c>ReCamScores</c>, <c>ReCamHeight</c>, <c>ReCamWidth</c>, <c>ReCamStride4</c>, ...).</param>
    /// <param name="imageColumnName">Image column, as produced by <c>LoadImages</c>.</param>
    /// <param name="labelColumnName">Multi-hot <c>Vector&lt;Single, C&gt;</c>/<c>Vector&lt;Boolean, C&gt;</c>, or a vector of keys, of the present classes.</param>
    /// <param name="camColumnName">Maps column of the upstream CAM transformer to continue from.</param>
    /// <param name="lambda">λ, the weight of the softmax cross-entropy term.</param>
    /// <param name="epochs">Joint re-activation epochs.</param>
    /// <param name="headWarmupEpochs">Epochs that train W2 alone first.</param>
    /// <param name="batchSize">Images per training step.</param>
    /// <param name="crop">Square training crop in pixels (use about the image size for small images).</param>
    /// <param name="combination">Classifier weight of the emitted maps (default W1 ⊙ W2).</param>
    /// <param name="scales">Extraction scales; null = the CAM transformer's.</param>
    public static ReactivatedClassActivationMapEstimator ReactivateClassActivationMaps(this TransformsCatalog catalog,
        string outputColumnName = ReactivatedClassActivationMapEstimator.Defaults.OutputColumnName,
        string imageColumnName = ClassActivationMapEstimator.Defaults.ImageColumnName, string labelColumnName = ClassActivationMapEstimator.Defaults.LabelColumnName,
        string camColumnName = ReactivatedClassActivationMapEstimator.Defaults.CamColumnName, double lambda = ReactivatedClassActivationMapEstimator.Defaults.Lambda,
        int epochs = ReactivatedClassActivationMapEstimator.Defaults.Epochs, int headWarmupEpochs = ReactivatedClassActivationMapEstimator.Defaults.HeadWarmupEpochs,
        int batchSize = ClassActivationMapEstimator.Defaults.BatchSize, int crop = ClassActivationMapEstimator.Defaults.Crop,
        WeightCombination combination = ReactivatedClassActivationMapEstimator.Defaults.Combination, double[]? scales = null)
    {
        var options = new ReactivatedClassActivationMapEstimator.Options
        {
            OutputColumnName = outputColumnName, ImageColumnName = imageColumnName, LabelColumnName = labelColumnName, CamColumnName = camColumnName,
            Lambda = lambda, Epochs = epochs, HeadWarmupEpochs = headWarmupEpochs, BatchSize = batchSize, Crop = crop, Combination = combination, Scales = scales,
        };
        return new ReactivatedClassActivationMapEstimator(MLNetBridge.Environment(catalog), options);
    }

    /// <summary>
    /// Re-activates a CAM model with full control over the options, including where the CAM model comes from
    /// (<see cref="ReactivatedClassActivationMapEstimator.Options.CamModel"/>, <see cref="ReactivatedClassActivationMapEstimator.Options.CamModelPath"/>,
    /// or the upstream CAM transformer).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options.</param>
    public static ReactivatedClassActivationMapEstimator ReactivateClassActivationMaps(this TransformsCatalog catalog,
        ReactivatedClassActivationMapEstimator.Options options) => new(MLNetBridge.Environment(catalog), options);

    /// <summary>
    /// Refines seed maps into pseudo masks (IRNet): Fit derives IR labels from the maps of the CAM or ReCAM transformer before
    /// it (dense CRF) and trains a boundary network on them; the transformer adds a pseudo mask to every row (columns listed
    /// in <see cref="PseudoMaskColumnNames"/>). Append it after <see cref="ReactivateClassActivationMaps(TransformsCatalog, string, string, string, string, double, int, int, int, int, WeightCombination, double[])"/>
    /// (or after <see cref="TrainClassActivationMaps(TransformsCatalog, string, string, string, string[], string, int, int, int, double[])"/> with <paramref name="mapsColumnName"/> <c>Cam</c>).
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Name of the pseudo-mask column; <c>PseudoMask</c> → also <c>PseudoMaskHeight</c>, <c>PseudoMaskWidth</c>.</param>
    /// <param name="imageColumnName">Image column the maps were made from.</param>
    /// <param name="mapsColumnName">Base name of the seed-map columns (<c>ReCam</c> or <c>Cam</c>).</param>
    /// <param name="epochs">Boundary-network epochs; null = at least 3 and enough for 200 steps.</param>
    /// <param name="batchSize">Images per training step.</param>
    /// <param name="crop">Square training crop in pixels, a multiple of 4 (about the image size for small images).</param>
    public static MaskRefinerEstimator RefineMasks(this TransformsCatalog catalog, string outputColumnName = MaskRefinerEstimator.Defaults.OutputColumnName,
        string imageColumnName = ClassActivationMapEstimator.Defaults.ImageColumnName, string mapsColumnName = MaskRefinerEstimator.Defaults.MapsColumnName,
        int? epochs = null, int batchSize = ClassActivationMapEstimator.Defaults.BatchSize, int crop = ClassActivationMapEstimator.Defaults.Crop)
    {
        var options = new MaskRefinerEstimator.Options
        {
            OutputColumnName = outputColumnName, ImageColumnName = imageColumnName, MapsColumnName = mapsColumnName, Epochs = epochs,
            BatchSize = batchSize, Crop = crop,
        };
        return new MaskRefinerEstimator(MLNetBridge.Environment(catalog), options);
    }

    /// <summary>Refines seed maps into pseudo masks with full control over the options (see <see cref="MaskRefinerEstimator.Options"/>).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="options">The options.</param>
    public static MaskRefinerEstimator RefineMasks(this TransformsCatalog catalog, MaskRefinerEstimator.Options options) =>
        new(MLNetBridge.Environment(catalog), options);

    /// <summary>
    /// Trains a DeepLab segmentation network on images and masks (the paper's fourth stage): after <c>RefineMasks</c> in the
    /// same pipeline its pseudo masks and class names are used; or give a column of label PNG paths and the class names.
    /// The fitted transformer reads only the image column.
    /// </summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="outputColumnName">Name of the predicted-mask column (base of the other output names).</param>
    /// <param name="imageColumnName">Image column (<c>MLImage</c>).</param>
    /// <param name="maskColumnName">Mask column: the refiner's <c>PseudoMask</c>, or a <c>String</c> column of label PNG paths.</param>
    /// <param name="classNames">Class names (mask value c + 1 = class c); null = those of the mask refiner upstream.</param>
    /// <param name="epochs">Epochs; null = the command line's default.</param>
    /// <param name="batchSize">Images per training step.</param>
    /// <param name="crop">Square training crop in pixels (about the image size for small images).</param>
    public static DeepLabSegmentationTrainer DeepLabSegmentation(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string outputColumnName = SegmentationColumnNames.DefaultBaseName, string imageColumnName = ClassActivationMapEstimator.Defaults.ImageColumnName,
        string maskColumnName = PseudoMaskColumnNames.DefaultBaseName, string[]? classNames = null, int? epochs = null,
        int batchSize = ClassActivationMapEstimator.Defaults.BatchSize, int crop = ClassActivationMapEstimator.Defaults.Crop) =>
        new(MLNetBridge.Environment(catalog), new DeepLabSegmentationTrainer.Options
        {
            OutputColumnName = outputColumnName, ImageColumnName = imageColumnName, MaskColumnName = maskColumnName, ClassNames = classNames,
            Epochs = epochs, BatchSize = batchSize, Crop = crop,
        });

    /// <summary>Trains a DeepLab segmentation network with full control over the options (see <see cref="DeepLabSegmentationTrainer.Options"/>).</summary>
    /// <param name="catalog">The multiclass classification trainers (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="options">The options.</param>
    public static DeepLabSegmentationTrainer DeepLabSegmentation(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        DeepLabSegmentationTrainer.Options options) => new(MLNetBridge.Environment(catalog), options);

    /// <summary>
    /// Loads a model saved with <c>mlContext.Model.Save</c>, as <see cref="ModelOperationsCatalog.Load(string, out DataViewSchema)"/>
    /// does; when a ReCam component of the model is damaged, altered or of a newer format, the exception thrown is ReCam's own
    /// <see cref="FormatException"/> naming the component, entry and remedy, where <c>Load</c> wraps it in two
    /// "Error during class instantiation" layers per nesting level.
    /// </summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="filePath">The <c>.zip</c> model.</param>
    /// <param name="inputSchema">The input schema saved with the model.</param>
    /// <returns>The loaded transformer chain.</returns>
    public static ITransformer LoadReCamModel(this ModelOperationsCatalog catalog, string filePath, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        DataViewSchema? schema = null;
        var model = ModelErrors.Unwrapped(() => catalog.Load(filePath, out schema));
        inputSchema = schema!;
        return model;
    }

    /// <summary>
    /// Loads a model from <paramref name="stream"/>, as <see cref="ModelOperationsCatalog.Load(Stream, out DataViewSchema)"/>
    /// does, with ReCam's load errors thrown as they are (see <see cref="LoadReCamModel(ModelOperationsCatalog, string, out DataViewSchema)"/>).
    /// </summary>
    /// <param name="catalog">The model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="stream">A readable, seekable stream holding the <c>.zip</c> model.</param>
    /// <param name="inputSchema">The input schema saved with the model.</param>
    /// <returns>The loaded transformer chain.</returns>
    public static ITransformer LoadReCamModel(this ModelOperationsCatalog catalog, Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        DataViewSchema? schema = null;
        var model = ModelErrors.Unwrapped(() => catalog.Load(stream, out schema));
        inputSchema = schema!;
        return model;
    }
}
