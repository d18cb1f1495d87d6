using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
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
/// <see cref="MLContext"/> seed unless <see cref="Options.Seed"/> is set (the same seed and data give the same model); the device from <see cref="MLContext.GpuDeviceId"/>
/// and <see cref="MLContext.FallbackToCpu"/>. Progress (epochs, loss, images/s) goes to <see cref="MLContext.Log"/>.
/// </remarks>
public sealed class ClassActivationMapEstimator : IEstimator<ClassActivationMapTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>Options of <see cref="ClassActivationMapEstimator"/>. Defaults are the official ReCAM VOC settings.</summary>
    public sealed class Options
    {
        /// <summary>Name of the full-resolution maps column, and base of the other output names (see <see cref="CamColumnNames"/>).</summary>
        public string OutputColumnName = CamColumnNames.DefaultBaseName;

        /// <summary>Output names; null = derived from <see cref="OutputColumnName"/> by <see cref="CamColumnNames.FromBaseName"/>.</summary>
        public CamColumnNames? OutputColumns;

        /// <summary>Image column (<c>MLImage</c>, as produced by <c>LoadImages</c>).</summary>
        public string ImageColumnName = "Image";

        /// <summary>
        /// Image-level labels: <c>Vector&lt;Single, C&gt;</c> or <c>Vector&lt;Boolean, C&gt;</c> multi-hot (value &gt; 0 = present), or a
        /// vector of <c>Key&lt;UInt32, C&gt;</c> listing the present classes (for example from <c>MapValueToKey</c>), or a single key.
        /// Also read at transform time when present, to choose the classes whose maps are extracted.
        /// </summary>
        public string LabelColumnName = "Label";

        /// <summary>Class names (C of them); null = the label column's slot names or key values, else <c>class0</c>...</summary>
        public string[]? ClassNames;

        /// <summary>Backbone name: <c>resnet18-imagenet</c> (bundled ImageNet weights), <c>resnet18</c>, <c>resnet34</c>, <c>resnet50</c>, <c>resnet101</c>.</summary>
        public string Backbone = BackboneCatalog.DefaultName;

        /// <summary>Initial backbone weights: an <c>.onnx</c> ResNet-18 or a PyTorch state dict <c>.pth</c>; null = the backbone's bundled weights (if any).</summary>
        public string? WeightsPath;

        /// <summary>Training epochs (official: 5).</summary>
        public int Epochs = 5;

        /// <summary>Images per step (official: 16). Needs at least this many labelled rows.</summary>
        public int BatchSize = 16;

        /// <summary>Square training crop in pixels (official: 512; use about the image size for small images).</summary>
        public int Crop = 512;

        /// <summary>Smallest long side of the random training resize; null = 0.625 × <see cref="Crop"/> (320 for 512).</summary>
        public int? ResizeLongMin;

        /// <summary>Largest long side of the random training resize; null = 1.25 × <see cref="Crop"/> (640 for 512).</summary>
        public int? ResizeLongMax;

        /// <summary>
        /// Backbone learning rate; null = the backbone's default (<see cref="BackboneSpec.CamLearningRate"/>: the official
        /// 0.1 for the torchvision shapes, 0.01 for the bundled ResNet-18, with which 0.1 diverges).
        /// </summary>
        public double? LearningRate;

        /// <summary>Classifier learning rate; null = ten times the backbone's (official: 1.0).</summary>
        public double? ClassifierLearningRate;

        /// <summary>L2 weight decay (official: 1e-4).</summary>
        public double WeightDecay = 1e-4;

        /// <summary>SGD momentum (default 1e-4 reproduces the official optimizer's quirk).</summary>
        public double Momentum = 1e-4;

        /// <summary>Extraction scales (each with its horizontal flip); official: 1.0, 0.5, 1.5, 2.0.</summary>
        public double[] Scales = [1.0, 0.5, 1.5, 2.0];

        /// <summary>At transform time without a label column: classes with probability above this are present.</summary>
        public float PredictionThreshold = 0.5f;

        /// <summary>Seed of this estimator; null = the <see cref="MLContext"/>'s seed (random if the context has none).</summary>
        public int? Seed;

        /// <summary>Stops training between steps (Fit then throws <see cref="OperationCanceledException"/>).</summary>
        public CancellationToken CancellationToken;
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
    public CamColumnNames OutputColumns => _options.OutputColumns ?? CamColumnNames.FromBaseName(_options.OutputColumnName);

    /// <summary>Checks the input schema and describes the output schema, without training.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type (ML.NET schema error).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CamInputs.CheckImage(_host, inputSchema, _options.ImageColumnName);
        CamInputs.CheckLabel(_host, inputSchema, _options.LabelColumnName, _options.ClassNames?.Length);
        return CamInputs.OutputShape(inputSchema, OutputColumns);
    }

    /// <summary>Trains the classifier on <paramref name="input"/> and returns the transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type or size (before any training).</exception>
    /// <exception cref="OperationCanceledException"><see cref="Options.CancellationToken"/> was cancelled.</exception>
    public ClassActivationMapTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int imageIndex = CamInputs.CheckImage(_host, input.Schema, _options.ImageColumnName);
        var labelColumn = input.Schema.GetColumnOrNull(_options.LabelColumnName)
            ?? throw MLNetBridge.SchemaMismatch(_host, CamInputs.LabelRole, _options.LabelColumnName);
        var label = CamInputs.CheckLabel(_host, labelColumn, _options.ClassNames?.Length);
        string[] classNames = _options.ClassNames ?? label.AnnotatedNames ?? Enumerable.Range(0, label.ClassCount).Select(i => $"class{i}").ToArray();
        var spec = BackboneCatalog.Get(_options.Backbone);

        using var ch = _host.Start("Training class activation maps");
        var samples = CamInputs.ReadTrainingSamples(_host, ch, input, imageIndex, label, _options.CancellationToken);
        if (samples.Count < _options.BatchSize)
            throw MLNetBridge.Error(_host, $"Training the CAM classifier needs at least one batch ({_options.BatchSize}) of rows with a positive label " +
                $"in column '{label.Name}'; the data has {samples.Count}. Lower BatchSize or add data.");

        int seed = _options.Seed ?? MLNetBridge.ContextSeed(_env) ?? _host.Rand.Next();
        var device = MLNetBridge.SelectDevice(_env, ch);
        double learningRate = _options.LearningRate ?? spec.CamLearningRate;
        var training = new CamTrainingOptions
        {
            Epochs = _options.Epochs, BatchSize = _options.BatchSize, Crop = _options.Crop, ResizeLong = ResizeRange(), LearningRate = learningRate,
            ClassifierLearningRate = _options.ClassifierLearningRate ?? 10 * learningRate, WeightDecay = _options.WeightDecay, Momentum = _options.Momentum, Seed = seed,
        };
        ReCam.Pipeline.Compute.Seed(seed); // a backbone without pretrained weights is initialised from torch's global generator
        var (resnet, weightsSource) = BackboneCatalog.Create(spec, _options.WeightsPath);
        var network = new CamNetwork(resnet, classNames.Length);
        try
        {
            network.InitializeClassifier(seed);
            network.to(device);
            long steps = samples.Count / _options.BatchSize;
            ch.Info(MessageSensitivity.None,
                $"{samples.Count} images, {classNames.Length} classes, backbone {spec.Name} ({weightsSource}), {_options.Epochs} epochs x {steps} steps, " +
                $"batch {_options.BatchSize}, crop {_options.Crop}, seed {seed}, device {device}.");
            var watch = Stopwatch.StartNew();
            double lossSum = 0;
            int lossCount = 0;
            var progress = new ReCam.Pipeline.SyncProgress<TrainingProgress>(p =>
            {
                lossSum += p.Loss;
                lossCount++;
                if (p.Step % 10 == 0 || p.Step % steps == 0)
                    ch.Info(MessageSensitivity.None, $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} {p.ImagesPerSecond:F1} images/s");
            });
            CamTrainer.Train(network, samples, spec.Normalization, training, device, 0, epoch =>
            {
                ch.Info(MessageSensitivity.None, $"epoch {epoch}/{_options.Epochs} done: mean loss {lossSum / Math.Max(1, lossCount):F4}");
                lossSum = 0;
                lossCount = 0;
            }, progress, _options.CancellationToken);
            ch.Info(MessageSensitivity.None, $"training done in {watch.Elapsed.TotalSeconds:F1} s.");
            var info = new CamModelInfo(classNames, spec.Name, spec.Block, spec.Layers.ToArray(), spec.Normalization, _options.Scales.ToArray(),
                _options.PredictionThreshold, _options.ImageColumnName, _options.LabelColumnName, OutputColumns);
            return new ClassActivationMapTransformer(_env, network, info, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private (int Min, int Max)? ResizeRange()
    {
        if (_options.ResizeLongMin is null && _options.ResizeLongMax is null) return null;
        var (min, max) = ClassificationAugmentation.DefaultResizeLong(_options.Crop);
        return (_options.ResizeLongMin ?? min, _options.ResizeLongMax ?? max);
    }

    private void CheckOptions()
    {
        var o = _options;
        if (string.IsNullOrWhiteSpace(o.OutputColumnName)) throw MLNetBridge.ParameterError(_host, nameof(o.OutputColumnName), "must not be empty");
        if (string.IsNullOrWhiteSpace(o.ImageColumnName)) throw MLNetBridge.ParameterError(_host, nameof(o.ImageColumnName), "must not be empty");
        if (string.IsNullOrWhiteSpace(o.LabelColumnName)) throw MLNetBridge.ParameterError(_host, nameof(o.LabelColumnName), "must not be empty");
        try
        {
            BackboneCatalog.Get(o.Backbone);
        }
        catch (ArgumentException e)
        {
            throw MLNetBridge.ParameterError(_host, nameof(o.Backbone), e.Message);
        }
        if (o.WeightsPath is not null && !File.Exists(o.WeightsPath))
            throw MLNetBridge.ParameterError(_host, nameof(o.WeightsPath), $"file not found: {o.WeightsPath}");
        if (o.Epochs < 1) throw MLNetBridge.ParameterError(_host, nameof(o.Epochs), $"must be at least 1 (got {o.Epochs})");
        if (o.BatchSize < 1) throw MLNetBridge.ParameterError(_host, nameof(o.BatchSize), $"must be at least 1 (got {o.BatchSize})");
        if (o.Crop < 16) throw MLNetBridge.ParameterError(_host, nameof(o.Crop), $"must be at least 16 pixels (got {o.Crop})");
        if (ResizeRange() is var (rmin, rmax) && (rmin < 1 || rmax < rmin))
            throw MLNetBridge.ParameterError(_host, nameof(o.ResizeLongMin), $"the resize range {rmin}..{rmax} is invalid");
        if (o.LearningRate < 0 || o.ClassifierLearningRate < 0 || o.WeightDecay < 0 || o.Momentum < 0)
            throw MLNetBridge.ParameterError(_host, nameof(o.LearningRate), "learning rates, weight decay and momentum must be non-negative");
        if (o.Scales is null || o.Scales.Length == 0 || o.Scales.Any(s => !(s > 0)))
            throw MLNetBridge.ParameterError(_host, nameof(o.Scales), "needs at least one positive scale");
        if (!(o.PredictionThreshold is >= 0 and < 1))
            throw MLNetBridge.ParameterError(_host, nameof(o.PredictionThreshold), $"must be in [0, 1) (got {o.PredictionThreshold})");
        if (o.ClassNames is { } names && (names.Length == 0 || names.Any(string.IsNullOrEmpty) || names.Distinct().Count() != names.Length))
            throw MLNetBridge.ParameterError(_host, nameof(o.ClassNames), "must be non-empty, distinct names");
        var all = OutputColumns.All;
        if (all.Distinct(StringComparer.Ordinal).Count() != all.Count)
            throw MLNetBridge.ParameterError(_host, nameof(o.OutputColumns), "output column names must be distinct");
    }
}
