using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Cam;
using ReCam.Data;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.MLNet;

/// <summary>
/// Fits the multi-label CAM classifier (ReCAM's <c>train-cam</c>: ResNet backbone at output stride 16, global average
/// pooling, a 1×1 classifier, sigmoid cross-entropy, SGD with the poly schedule) on an image column and a multi-label
/// column, and returns a <see cref="ClassActivationMapTransformer"/> that adds class activation maps to each row.
/// Create it with <c>mlContext.Transforms.TrainClassActivationMaps(...)</c>.
/// </summary>
/// <remarks>
/// Training holds the decoded training images in memory (3 bytes per pixel). Rows without any positive label are skipped
/// (as the command line's train-cam does). Randomness (classifier initialisation, shuffling, augmentation) comes from the
/// <see cref="MLContext"/> seed unless <see cref="MapEstimatorOptions.Seed"/> is set (the same seed and data give the same model); the
/// device from <see cref="MLContext.GpuDeviceId"/> and <see cref="MLContext.FallbackToCpu"/>. Progress (epochs, loss,
/// images/s) goes to <see cref="MLContext.Log"/> and to an ML.NET progress channel.
/// </remarks>
public sealed class ClassActivationMapEstimator : IEstimator<ClassActivationMapTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>The defaults of <see cref="Options"/> and of the catalog's flat overload; the training ones are the core's.</summary>
    internal static class Defaults
    {
        public const string OutputColumnName = MapColumnNames.CamBaseName;
        public const string ImageColumnName = MapInputs.DefaultImageColumnName;
        public const string LabelColumnName = MapInputs.DefaultLabelColumnName;
        public const string Backbone = BackboneCatalog.DefaultName;
        public const int Epochs = CamTrainingOptions.DefaultEpochs;
        public const int BatchSize = TrainingOptions.DefaultBatchSize;
        public const int Crop = TrainingOptions.DefaultCrop;
        public const double WeightDecay = TrainingOptions.DefaultWeightDecay;
        public const double Momentum = TrainingOptions.DefaultMomentum;
        public const float PredictionThreshold = 0.5f;
    }

    /// <summary>Options of <see cref="ClassActivationMapEstimator"/>. Training defaults are those of the command line's train-cam.</summary>
    public sealed class Options : MapEstimatorOptions
    {
        /// <summary>Creates the options with the defaults.</summary>
        public Options() : base(Defaults.OutputColumnName)
        {
        }

        /// <summary>Class names (C of them); null = the label column's slot names or key values, else <c>class0</c>...</summary>
        public string[]? ClassNames;

        /// <summary>Backbone name: <c>resnet18-imagenet</c> (bundled ImageNet weights), <c>resnet18</c>, <c>resnet34</c>, <c>resnet50</c>, <c>resnet101</c>.</summary>
        public string Backbone = Defaults.Backbone;

        /// <summary>Initial backbone weights: an <c>.onnx</c> ResNet-18 or a PyTorch state dict <c>.pth</c>; null = the backbone's bundled weights (if any).</summary>
        public string? WeightsPath;

        /// <summary>Training epochs (official: 5).</summary>
        public int Epochs = Defaults.Epochs;

        /// <summary>
        /// Backbone learning rate; null = the backbone's default (<see cref="BackboneSpec.CamLearningRate"/>: the official 0.1 for the
        /// torchvision shapes, 0.05 for the bundled ResNet-18, with which the official rates diverge).
        /// </summary>
        public double? LearningRate;

        /// <summary>
        /// Classifier learning rate; null = the backbone's multiple of the backbone rate (<see cref="BackboneSpec.CamClassifierRateMultiplier"/>:
        /// the official 10, so 0.5 for the bundled ResNet-18).
        /// </summary>
        public double? ClassifierLearningRate;

        /// <summary>
        /// Steps over which the learning rates ramp up linearly (0 = the official schedule); null = the backbone's default
        /// (<see cref="BackboneSpec.CamWarmupSteps"/>: 18 for the bundled ResNet-18, none for the torchvision shapes).
        /// </summary>
        public int? WarmupSteps;

        /// <summary>Extraction scales (each with its horizontal flip); null = the official 1.0, 0.5, 1.5, 2.0.</summary>
        public double[]? Scales;

        /// <summary>
        /// Longest side of any image the backbone sees at transform time: larger images run at proportionally smaller scales,
        /// which bounds memory (about 1.5 GB for ResNet-18 at the default), and their maps still come out at the image's size.
        /// </summary>
        public int MaxInputSide = CamExtractor.DefaultMaxInputSide;

        /// <summary>At transform time without a label column: classes with probability above this are present.</summary>
        public float PredictionThreshold = Defaults.PredictionThreshold;

        /// <summary>The core training options these options describe.</summary>
        internal CamTrainingOptions ToTraining(int seed) =>
            Apply(new CamTrainingOptions { Epochs = Epochs, LearningRate = LearningRate, ClassifierLearningRate = ClassifierLearningRate, WarmupSteps = WarmupSteps }, seed);
    }

    internal ClassActivationMapEstimator(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        _env = env;
        _host = env.Register(nameof(ClassActivationMapEstimator));
        _options = options;
        CheckOptions();
    }

    /// <summary>The output column names this estimator's transformer will add.</summary>
    public MapColumnNames OutputColumns => _options.EffectiveOutputColumns;

    /// <summary>Checks the input schema and describes the output schema, without training.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type (ML.NET schema error).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        MapInputs.CheckImage(_host, inputSchema, _options.ImageColumnName);
        MapInputs.CheckLabel(_host, inputSchema, _options.LabelColumnName, _options.ClassNames?.Length);
        return MapColumns.OutputShape(inputSchema, OutputColumns, _options.ClassNames);
    }

    /// <summary>Trains the classifier on <paramref name="input"/> and returns the transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type or size (before any training).</exception>
    /// <exception cref="OperationCanceledException"><see cref="MapEstimatorOptions.CancellationToken"/> was cancelled.</exception>
    public ClassActivationMapTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int imageIndex = MapInputs.CheckImage(_host, input, _options.ImageColumnName);
        var labelColumn = input.Schema.GetColumnOrNull(_options.LabelColumnName)
            ?? throw MLNetBridge.SchemaMismatch(_host, MapInputs.LabelRole, _options.LabelColumnName);
        var label = MapInputs.CheckLabel(_host, labelColumn, _options.ClassNames?.Length);
        string[] classNames = _options.ClassNames ?? label.AnnotatedNames ?? ClassNames.Placeholders(label.ClassCount);
        var spec = BackboneCatalog.Get(_options.Backbone);

        using var ch = _host.Start("Training class activation maps");
        var samples = MapOptions.TrainingRows(_host, ch, input, imageIndex, label, _options, "Training the CAM classifier");
        int seed = _options.ResolveSeed(_env, _host);
        var device = MLNetBridge.SelectDevice(_env, ch);
        _options.ApplyThreads();
        var training = _options.ToTraining(seed);
        var (network, weightsSource) = CamNetwork.Create(spec, classNames.Length, _options.WeightsPath, seed);
        try
        {
            // W1 from a private generator: the model then depends on the seed only, whoever else uses torch's generator.
            network.InitializeClassifier(seed);
            network.to(device);
            ch.Info(MessageSensitivity.None,
                $"{samples.Count} images, {classNames.Length} classes, backbone {spec.Name} ({weightsSource}), {training.Epochs} epochs x " +
                $"{samples.Count / training.BatchSize} steps, batch {training.BatchSize}, crop {training.Crop}, lr {training.LearningRateFor(spec):G3}/" +
                $"{training.ClassifierLearningRateFor(spec):G3}, seed {seed}, device {device}.");
            using (var progress = new FitProgress(_host, ch, "Training class activation maps"))
                CamTrainer.Train(network, samples, training, device, progress.Hooks(_options.CancellationToken));
            var info = new MapModelInfo(classNames, spec, (_options.Scales ?? CamExtractor.DefaultScales).ToArray(), _options.PredictionThreshold,
                _options.ImageColumnName, _options.LabelColumnName, OutputColumns, _options.MaxInputSide);
            var transformer = new ClassActivationMapTransformer(_env, network, info, device);
            transformer.ChooseBackgroundThreshold(samples, ch);
            return transformer;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private void CheckOptions()
    {
        var o = _options;
        o.CheckShared(_host);
        MapOptions.CheckBackbone(_host, nameof(o.Backbone), o.Backbone);
        if (o.WeightsPath is not null && !File.Exists(o.WeightsPath))
            throw MLNetBridge.ParameterError(_host, nameof(o.WeightsPath), $"file not found: {o.WeightsPath}");
        MapOptions.CheckCore(_host, () => o.ToTraining(0).Validate());
        MapOptions.CheckCore(_host, () => CamExtractor.CheckScales(o.Scales ?? CamExtractor.DefaultScales));
        MapOptions.CheckCore(_host, () => CamExtractor.CheckMaxInputSide(o.MaxInputSide));
        MapOptions.CheckThreshold(_host, nameof(o.PredictionThreshold), o.PredictionThreshold);
        MapOptions.CheckNames(_host, nameof(o.ClassNames), o.ClassNames);
    }
}
