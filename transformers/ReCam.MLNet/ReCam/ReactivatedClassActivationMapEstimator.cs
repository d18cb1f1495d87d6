using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Cam;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;

namespace ReCam.MLNet;

/// <summary>
/// Re-activates a fitted CAM model (ReCAM's <c>train-recam</c>): a second classifier W2 is trained on class features pooled with
/// each class's soft mask, under L = BCE + λ·SCE (softmax cross-entropy), which also updates W1 and the backbone; returns a
/// <see cref="ReactivatedClassActivationMapTransformer"/> that adds ReCAM maps to each row (same columns as the CAM transformer,
/// base name <c>ReCam</c>). Create it with <c>mlContext.Transforms.ReactivateClassActivationMaps(...)</c>.
/// </summary>
/// <remarks>
/// <para>The CAM model it continues from (any CAM model: ReCAM is plug-and-play), first match wins:</para>
/// <list type="number">
/// <item><description><see cref="Options.CamModel"/>: a fitted <see cref="ClassActivationMapTransformer"/> (its network is copied; the
/// CAM transformer stays usable and is disposed separately);</description></item>
/// <item><description><see cref="Options.CamModelPath"/>: a checkpoint written by the command line's train-cam (or train-recam), or an
/// official PyTorch state dict such as <c>res50_cam.pth</c> (<c>.pth</c>/<c>.pt</c>; then <see cref="Options.Backbone"/> is required);</description></item>
/// <item><description>otherwise the CAM transformer that produced the input data: append this estimator after
/// <c>TrainClassActivationMaps</c> in the same pipeline (its maps column, <see cref="Options.CamColumnName"/>, selects it when there are several).</description></item>
/// </list>
/// <para>Training holds the decoded training images in memory; rows without a positive label are skipped. Randomness comes from
/// the <see cref="MLContext"/> seed unless <see cref="MapEstimatorOptions.Seed"/> is set; the device from <see cref="MLContext.GpuDeviceId"/> and
/// <see cref="MLContext.FallbackToCpu"/>. Progress (epochs, loss, BCE, SCE, SCE accuracy, images/s) goes to <see cref="MLContext.Log"/>
/// and to an ML.NET progress channel.</para>
/// </remarks>
public sealed partial class ReactivatedClassActivationMapEstimator : IEstimator<ReactivatedClassActivationMapTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>The defaults of <see cref="Options"/> and of the catalog's flat overload; the training ones are the core's.</summary>
    internal static class Defaults
    {
        public const string OutputColumnName = MapColumnNames.ReCamBaseName;
        public const string CamColumnName = MapColumnNames.CamBaseName;
        public const double Lambda = ReCamTrainingOptions.DefaultLambda;
        public const double LearningRate = ReCamTrainingOptions.DefaultLearningRate;
        public const double HeadLearningRate = ReCamTrainingOptions.DefaultHeadLearningRate;
        public const int HeadWarmupEpochs = ReCamTrainingOptions.DefaultHeadWarmupEpochs;
        public const bool BackgroundClass = ReCamTrainingOptions.DefaultBackgroundClass;
        public const HeadInitialization HeadInit = ReCamTrainingOptions.DefaultHeadInit;
        public const int Epochs = ReCamTrainingOptions.DefaultEpochs;
        public const WeightCombination Combination = ReCamTrainingOptions.DefaultCombination;
        public const double W2Gain = ReCamTrainingOptions.DefaultW2Gain;
        public const PixelClassSource PixelClass = ReCamTrainingOptions.DefaultPixelClass;
    }

    /// <summary>Options of <see cref="ReactivatedClassActivationMapEstimator"/>. Training defaults are those of the command line's train-recam.</summary>
    public sealed class Options : MapEstimatorOptions
    {
        /// <summary>Creates the options with the defaults.</summary>
        public Options() : base(Defaults.OutputColumnName)
        {
        }

        /// <summary>A fitted CAM model to re-activate (copied, not shared). Takes precedence over <see cref="CamModelPath"/>.</summary>
        public ClassActivationMapTransformer? CamModel;

        /// <summary>A CAM checkpoint written by the command line's train-cam, or a PyTorch state dict (<c>.pth</c>/<c>.pt</c>, needs <see cref="Backbone"/>).</summary>
        public string? CamModelPath;

        /// <summary>Backbone of a PyTorch <see cref="CamModelPath"/> (for example <c>resnet50</c> for the official <c>res50_cam.pth</c>).</summary>
        public string? Backbone;

        /// <summary>Class names; null = those of the CAM model (for a <c>.pth</c>: the label column's slot names or key values, else <c>class0</c>...).</summary>
        public string[]? ClassNames;

        /// <summary>When neither <see cref="CamModel"/> nor <see cref="CamModelPath"/> is set: the maps column of the upstream CAM transformer to continue from.</summary>
        public string CamColumnName = Defaults.CamColumnName;

        /// <summary>
        /// λ, the weight of the softmax cross-entropy term (official: 1.0 VOC, 0.1 COCO). It scales W2's step too: lower
        /// <see cref="HeadLearningRate"/> by the same factor when raising it.
        /// </summary>
        public double Lambda = Defaults.Lambda;

        /// <summary>Backbone learning rate.</summary>
        public double LearningRate = Defaults.LearningRate;

        /// <summary>W1 (CAM classifier) learning rate.</summary>
        public double ClassifierLearningRate = Defaults.LearningRate;

        /// <summary>W2 (re-activation head) learning rate.</summary>
        public double HeadLearningRate = Defaults.HeadLearningRate;

        /// <summary>Epochs that train W2 alone (backbone and W1 fixed) before the joint epochs; 0 = official.</summary>
        public int HeadWarmupEpochs = Defaults.HeadWarmupEpochs;

        /// <summary>
        /// Adds a background row to the re-activation softmax during training (our extension, default true; official
        /// false): features pooled outside the present classes' masks are classified as background. The fitted model
        /// keeps W2 only.
        /// </summary>
        public bool BackgroundClass = Defaults.BackgroundClass;

        /// <summary>How W2 starts: ones (default: W1⊙W2 starts as CAM), zeros, or random (official, seeded).</summary>
        public HeadInitialization HeadInit = Defaults.HeadInit;

        /// <summary>Joint re-activation epochs (official: 4). May be 0 when <see cref="HeadWarmupEpochs"/> is not.</summary>
        public int Epochs = Defaults.Epochs;

        /// <summary>Classifier weight of the emitted maps: <see cref="WeightCombination.Product"/> (W1 ⊙ W2, official VOC), W1 (official COCO), W2 or Sum.</summary>
        public WeightCombination Combination = Defaults.Combination;

        /// <summary>
        /// Gain on what the softmax cross-entropy taught W2, applied when the maps are made: W2 becomes m + g·(W2 − m), m its mean
        /// over the classes (official: 1, W2 as trained). See the README's ReCAM defaults for the evidence behind the default.
        /// </summary>
        public double W2Gain = Defaults.W2Gain;

        /// <summary>
        /// Which classifier ranks the classes at each pixel of the maps: W1 (default, our extension; the foreground's extent stays
        /// <see cref="Combination"/>'s) or the combined weight itself (official). Ignored when <see cref="Combination"/> is W1.
        /// </summary>
        public PixelClassSource PixelClass = Defaults.PixelClass;

        /// <summary>Extraction scales (each with its flip); null = the CAM transformer's scales (1.0, 0.5, 1.5, 2.0 for a checkpoint).</summary>
        public double[]? Scales;

        /// <summary>
        /// Longest side of any image the backbone sees at transform time (larger images run at proportionally smaller scales, which
        /// bounds memory); null = the CAM transformer's (<see cref="CamExtractor.DefaultMaxInputSide"/> for a checkpoint).
        /// </summary>
        public int? MaxInputSide;

        /// <summary>At transform time without a label column: classes above this probability are present; null = the CAM transformer's (0.5 for a checkpoint).</summary>
        public float? PredictionThreshold;

        /// <summary>The core training options these options describe.</summary>
        internal ReCamTrainingOptions ToTraining(int seed) => Apply(new ReCamTrainingOptions
        {
            Epochs = Epochs, HeadWarmupEpochs = HeadWarmupEpochs, Lambda = Lambda, LearningRate = LearningRate, ClassifierLearningRate = ClassifierLearningRate,
            HeadLearningRate = HeadLearningRate, Combination = Combination, HeadInit = HeadInit, BackgroundClass = BackgroundClass,
            W2Gain = W2Gain, PixelClass = PixelClass,
        }, seed);
    }

    internal ReactivatedClassActivationMapEstimator(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        _env = env;
        _host = env.Register(nameof(ReactivatedClassActivationMapEstimator));
        _options = options;
        CheckOptions();
    }

    /// <summary>The output column names this estimator's transformer will add.</summary>
    public MapColumnNames OutputColumns => _options.EffectiveOutputColumns;

    private bool FromUpstream => _options.CamModel is null && _options.CamModelPath is null;

    private const string UpstreamRole = "CAM maps (no CAM model given: append after TrainClassActivationMaps, or set Options.CamModel or Options.CamModelPath)";

    /// <summary>Checks the input schema and describes the output schema, without training.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type (ML.NET schema error).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        MapInputs.CheckImage(_host, inputSchema, _options.ImageColumnName);
        MapInputs.CheckLabel(_host, inputSchema, _options.LabelColumnName, _options.CamModel?.ClassNames.Count ?? _options.ClassNames?.Length);
        if (FromUpstream && !MLNetBridge.TryFindColumn(inputSchema, _options.CamColumnName, out _))
            throw MLNetBridge.SchemaMismatch(_host, UpstreamRole, _options.CamColumnName);
        return MapColumns.OutputShape(inputSchema, OutputColumns, _options.ClassNames);
    }

    /// <summary>Re-activates the CAM model on <paramref name="input"/> and returns the transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type or size (before any training).</exception>
    /// <exception cref="FileNotFoundException"><see cref="Options.CamModelPath"/> does not exist.</exception>
    /// <exception cref="InvalidDataException"><see cref="Options.CamModelPath"/> is not a readable CAM model.</exception>
    /// <exception cref="OperationCanceledException"><see cref="MapEstimatorOptions.CancellationToken"/> was cancelled.</exception>
    public ReactivatedClassActivationMapTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int imageIndex = MapInputs.CheckImage(_host, input, _options.ImageColumnName);
        var labelColumn = input.Schema.GetColumnOrNull(_options.LabelColumnName)
            ?? throw MLNetBridge.SchemaMismatch(_host, MapInputs.LabelRole, _options.LabelColumnName);
        var labelShape = MapInputs.CheckLabel(_host, labelColumn, null);

        using var ch = _host.Start("Re-activating class activation maps");
        var source = ResolveSource(input, labelShape);
        ReCamHead? head = null;
        try
        {
            var network = source.Network;
            var label = MapInputs.CheckLabel(_host, labelColumn, network.ClassCount);
            var samples = MapOptions.TrainingRows(_host, ch, input, imageIndex, label, _options, "Re-activation");
            int seed = _options.ResolveSeed(_env, _host);
            var device = MLNetBridge.SelectDevice(_env, ch);
            _options.ApplyThreads();
            var training = _options.ToTraining(seed);
            head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount, training.BackgroundClass);
            head.Initialize(training.HeadInit, seed);
            network.to(device);
            head.to(device);
            ch.Info(MessageSensitivity.None,
                $"{samples.Count} images, {source.ClassNames.Length} classes, CAM model: {source.Description}; λ {training.Lambda}, " +
                $"lr {training.LearningRate:G3}/{training.ClassifierLearningRate:G3}/{training.HeadLearningRate:G3}, {training.HeadWarmupEpochs} head warm-up + " +
                $"{training.Epochs} epochs x {samples.Count / training.BatchSize} steps, batch {training.BatchSize}, crop {training.Crop}, maps {training.Combination} (W2 gain {training.W2Gain}, pixel classes {training.PixelClass}), " +
                $"seed {seed}, device {device}.");
            if (ReCamTrainer.LambdaScalesHeadStep(training) is { } lambdaWarning) ch.Warning(lambdaWarning);
            using (var progress = new FitProgress(_host, ch, "Re-activating class activation maps"))
            {
                ReCamTrainer.Train(network, head, samples, training, device, progress.Hooks(_options.CancellationToken));
                if (ReCamTrainer.HeadNearChance(progress.LastEpoch?.Accuracy ?? double.NaN, head, training) is { } warning) ch.Warning(warning);
            }
            if (head.HasBackgroundClass)
            {
                var trained = head;
                head = trained.WithoutBackgroundClass();
                trained.Dispose();
            }

            var info = new MapModelInfo(source.ClassNames, network.Spec, (_options.Scales ?? source.Scales).ToArray(),
                _options.PredictionThreshold ?? source.Threshold, _options.ImageColumnName, _options.LabelColumnName, OutputColumns,
                _options.MaxInputSide ?? source.MaxInputSide);
            var transformer = new ReactivatedClassActivationMapTransformer(_env, network, head, info, new ReCamMapSettings(training.Combination, training.W2Gain, training.PixelClass), device);
            transformer.ChooseBackgroundThreshold(samples, ch);
            return transformer;
        }
        catch
        {
            source.Network.Dispose();
            head?.Dispose();
            throw;
        }
    }

    private void CheckOptions()
    {
        var o = _options;
        o.CheckShared(_host);
        MapOptions.CheckColumns(_host, (nameof(o.CamColumnName), o.CamColumnName));
        if (o.CamModel is { IsDisposed: true }) throw MLNetBridge.ParameterError(_host, nameof(o.CamModel), "the CAM transformer has been disposed");
        if (o.CamModel is null && o.CamModelPath is { } path)
        {
            if (!File.Exists(path)) throw MLNetBridge.ParameterError(_host, nameof(o.CamModelPath), $"file not found: {path}");
            if (Checkpoint.IsPyTorchFile(path) && string.IsNullOrWhiteSpace(o.Backbone))
                throw MLNetBridge.ParameterError(_host, nameof(o.Backbone), $"is required to read the PyTorch state dict {path} (for example resnet50 for res50_cam.pth)");
        }
        if (o.Backbone is not null) MapOptions.CheckBackbone(_host, nameof(o.Backbone), o.Backbone);
        MapOptions.CheckCore(_host, () => o.ToTraining(0).Validate());
        if (o.Scales is not null) MapOptions.CheckCore(_host, () => CamExtractor.CheckScales(o.Scales));
        if (o.MaxInputSide is { } side) MapOptions.CheckCore(_host, () => CamExtractor.CheckMaxInputSide(side));
        if (o.PredictionThreshold is { } t) MapOptions.CheckThreshold(_host, nameof(o.PredictionThreshold), t);
        MapOptions.CheckNames(_host, nameof(o.ClassNames), o.ClassNames);
    }
}
