using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.Networks;
using ReCam.Training;
using TorchSharp;
using static TorchSharp.torch;

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
/// the <see cref="MLContext"/> seed unless <see cref="Options.Seed"/> is set; the device from <see cref="MLContext.GpuDeviceId"/> and
/// <see cref="MLContext.FallbackToCpu"/>. Progress (epochs, loss, BCE, SCE, SCE accuracy, images/s) goes to <see cref="MLContext.Log"/>.</para>
/// </remarks>
public sealed partial class ReactivatedClassActivationMapEstimator : IEstimator<ReactivatedClassActivationMapTransformer>
{
    /// <summary>The default base name of the output columns.</summary>
    public const string DefaultBaseName = "ReCam";

    private static readonly ReCamTrainingOptions Defaults = new();

    private readonly IHostEnvironment _env;
    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>Options of <see cref="ReactivatedClassActivationMapEstimator"/>. Training defaults are those of the command line's train-recam.</summary>
    public sealed class Options
    {
        /// <summary>Name of the full-resolution ReCAM maps column, and base of the other output names (see <see cref="CamColumnNames"/>).</summary>
        public string OutputColumnName = DefaultBaseName;

        /// <summary>Output names; null = derived from <see cref="OutputColumnName"/> by <see cref="CamColumnNames.FromBaseName"/>.</summary>
        public CamColumnNames? OutputColumns;

        /// <summary>Image column (<c>MLImage</c>, as produced by <c>LoadImages</c>).</summary>
        public string ImageColumnName = "Image";

        /// <summary>Image-level labels, encoded as for <see cref="ClassActivationMapEstimator.Options.LabelColumnName"/>; C must match the CAM model's.</summary>
        public string LabelColumnName = "Label";

        /// <summary>A fitted CAM model to re-activate (copied, not shared). Takes precedence over <see cref="CamModelPath"/>.</summary>
        public ClassActivationMapTransformer? CamModel;

        /// <summary>A CAM checkpoint written by the command line's train-cam, or a PyTorch state dict (<c>.pth</c>/<c>.pt</c>, needs <see cref="Backbone"/>).</summary>
        public string? CamModelPath;

        /// <summary>Backbone of a PyTorch <see cref="CamModelPath"/> (for example <c>resnet50</c> for the official <c>res50_cam.pth</c>).</summary>
        public string? Backbone;

        /// <summary>Class names; null = those of the CAM model (for a <c>.pth</c>: the label column's slot names or key values, else <c>class0</c>...).</summary>
        public string[]? ClassNames;

        /// <summary>When neither <see cref="CamModel"/> nor <see cref="CamModelPath"/> is set: the maps column of the upstream CAM transformer to continue from.</summary>
        public string CamColumnName = CamColumnNames.DefaultBaseName;

        /// <summary>λ, the weight of the softmax cross-entropy term (official: 1.0 VOC, 0.1 COCO).</summary>
        public double Lambda = Defaults.Lambda;

        /// <summary>Backbone learning rate.</summary>
        public double LearningRate = Defaults.LearningRate;

        /// <summary>W1 (CAM classifier) learning rate.</summary>
        public double ClassifierLearningRate = Defaults.ClassifierLearningRate;

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

        /// <summary>Images per step (official VOC: 16). Needs at least this many labelled rows.</summary>
        public int BatchSize = Defaults.BatchSize;

        /// <summary>Square training crop in pixels (official: 512; use about the image size for small images).</summary>
        public int Crop = Defaults.Crop;

        /// <summary>Smallest long side of the random training resize; null = 0.625 × <see cref="Crop"/>.</summary>
        public int? ResizeLongMin;

        /// <summary>Largest long side of the random training resize; null = 1.25 × <see cref="Crop"/>.</summary>
        public int? ResizeLongMax;

        /// <summary>L2 weight decay of every group.</summary>
        public double WeightDecay = Defaults.WeightDecay;

        /// <summary>SGD momentum (default 1e-4 reproduces the official optimizer's quirk).</summary>
        public double Momentum = Defaults.Momentum;

        /// <summary>Classifier weight of the emitted maps: <see cref="WeightCombination.Product"/> (W1 ⊙ W2, official VOC), W1 (official COCO), W2 or Sum.</summary>
        public WeightCombination Combination = Defaults.Combination;

        /// <summary>Extraction scales (each with its flip); null = the CAM transformer's scales (1.0, 0.5, 1.5, 2.0 for a checkpoint).</summary>
        public double[]? Scales;

        /// <summary>At transform time without a label column: classes above this probability are present; null = the CAM transformer's (0.5 for a checkpoint).</summary>
        public float? PredictionThreshold;

        /// <summary>Seed of this estimator; null = the <see cref="MLContext"/>'s seed (random if the context has none).</summary>
        public int? Seed;

        /// <summary>Stops training between steps (Fit then throws <see cref="OperationCanceledException"/>).</summary>
        public CancellationToken CancellationToken;
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
    public CamColumnNames OutputColumns => _options.OutputColumns ?? CamColumnNames.FromBaseName(_options.OutputColumnName);

    private bool FromUpstream => _options.CamModel is null && _options.CamModelPath is null;

    /// <summary>Checks the input schema and describes the output schema, without training.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type (ML.NET schema error).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CamInputs.CheckImage(_host, inputSchema, _options.ImageColumnName);
        CamInputs.CheckLabel(_host, inputSchema, _options.LabelColumnName, _options.CamModel?.ClassNames.Count ?? _options.ClassNames?.Length);
        if (FromUpstream && !MLNetBridge.TryFindColumn(inputSchema, _options.CamColumnName, out _))
            throw MLNetBridge.SchemaMismatch(_host, UpstreamRole, _options.CamColumnName);
        return CamInputs.OutputShape(inputSchema, OutputColumns);
    }

    private const string UpstreamRole = "CAM maps (no CAM model given: append after TrainClassActivationMaps, or set Options.CamModel or Options.CamModelPath)";

    /// <summary>Re-activates the CAM model on <paramref name="input"/> and returns the transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type or size (before any training).</exception>
    /// <exception cref="FileNotFoundException"><see cref="Options.CamModelPath"/> does not exist.</exception>
    /// <exception cref="InvalidDataException"><see cref="Options.CamModelPath"/> is not a readable CAM model.</exception>
    /// <exception cref="OperationCanceledException"><see cref="Options.CancellationToken"/> was cancelled.</exception>
    public ReactivatedClassActivationMapTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int imageIndex = CamInputs.CheckImage(_host, input.Schema, _options.ImageColumnName);
        var labelColumn = input.Schema.GetColumnOrNull(_options.LabelColumnName)
            ?? throw MLNetBridge.SchemaMismatch(_host, CamInputs.LabelRole, _options.LabelColumnName);
        var labelShape = CamInputs.CheckLabel(_host, labelColumn, null);

        using var ch = _host.Start("Re-activating class activation maps");
        var source = ResolveSource(input, labelShape);
        ReCamHead? head = null;
        try
        {
            var label = CamInputs.CheckLabel(_host, labelColumn, source.Network.ClassCount);
            var samples = CamInputs.ReadTrainingSamples(_host, ch, input, imageIndex, label, _options.CancellationToken);
            if (samples.Count < _options.BatchSize)
                throw MLNetBridge.Error(_host, $"Re-activation needs at least one batch ({_options.BatchSize}) of rows with a positive label " +
                    $"in column '{label.Name}'; the data has {samples.Count}. Lower BatchSize or add data.");

            int seed = _options.Seed ?? MLNetBridge.ContextSeed(_env) ?? _host.Rand.Next();
            var device = MLNetBridge.SelectDevice(_env, ch);
            var training = TrainingOptions(seed);
            head = new ReCamHead(source.Network.Backbone.OutputChannels, source.Network.ClassCount, _options.BackgroundClass);
            if (_options.HeadInit == HeadInitialization.Random) InitializeHead(head, seed);
            else head.Initialize(_options.HeadInit);
            source.Network.to(device);
            head.to(device);
            long steps = samples.Count / _options.BatchSize;
            ch.Info(MessageSensitivity.None,
                $"{samples.Count} images, {source.ClassNames.Length} classes, CAM model: {source.Description}; λ {training.Lambda}, " +
                $"lr {training.LearningRate:G3}/{training.ClassifierLearningRate:G3}/{training.HeadLearningRate:G3}, {training.HeadWarmupEpochs} head warm-up + " +
                $"{training.Epochs} epochs x {steps} steps, batch {training.BatchSize}, crop {training.Crop}, maps {training.Combination}, seed {seed}, device {device}.");
            Train(source.Network, head, samples, source.Normalization, training, device, ch);
            if (head.HasBackgroundClass)
            {
                var trained = head;
                head = trained.WithoutBackgroundClass();
                trained.Dispose();
            }

            var info = new CamModelInfo(source.ClassNames, source.Backbone, source.Block, source.Layers, source.Normalization,
                (_options.Scales ?? source.Scales).ToArray(), _options.PredictionThreshold ?? source.Threshold, _options.ImageColumnName,
                _options.LabelColumnName, OutputColumns);
            return new ReactivatedClassActivationMapTransformer(_env, source.Network, head, info, _options.Combination, device);
        }
        catch
        {
            source.Network.Dispose();
            head?.Dispose();
            throw;
        }
    }

    private void Train(CamNetwork network, ReCamHead head, List<TrainingSample> samples, InputNormalization normalization,
        ReCamTrainingOptions training, Device device, IChannel ch)
    {
        var watch = Stopwatch.StartNew();
        var sums = new Dictionary<string, double>();
        int count = 0;
        var progress = new ReCam.Pipeline.SyncProgress<TrainingProgress>(p =>
        {
            count++;
            sums["loss"] = sums.GetValueOrDefault("loss") + p.Loss;
            foreach (string k in new[] { "bce", "sce", "accuracy" }) sums[k] = sums.GetValueOrDefault(k) + p.Metrics[k];
            long perEpoch = p.TotalSteps / p.Epochs;
            if (p.Step % 10 == 0 || p.Step % perEpoch == 0)
                ch.Info(MessageSensitivity.None,
                    $"epoch {p.Epoch}/{p.Epochs}{(p.Metrics["warmup"] > 0 ? " (head warm-up)" : "")} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} " +
                    $"(bce {p.Metrics["bce"]:F4}, sce {p.Metrics["sce"]:F4}) sce-accuracy {p.Metrics["accuracy"]:F3} {p.ImagesPerSecond:F1} images/s");
        });
        int total = training.HeadWarmupEpochs + training.Epochs;
        double lastAccuracy = double.NaN;
        ReCamTrainer.Train(network, head, samples, normalization, training, device, 0, epoch =>
        {
            double n = Math.Max(1, count);
            lastAccuracy = sums.GetValueOrDefault("accuracy") / n;
            ch.Info(MessageSensitivity.None,
                $"epoch {epoch}/{total} done: mean loss {sums.GetValueOrDefault("loss") / n:F4}, sce {sums.GetValueOrDefault("sce") / n:F4}, " +
                $"sce-accuracy {sums.GetValueOrDefault("accuracy") / n:F3}");
            sums.Clear();
            count = 0;
        }, progress, _options.CancellationToken);
        ch.Info(MessageSensitivity.None, $"re-activation done in {watch.Elapsed.TotalSeconds:F1} s.");
        if (ReCamTrainer.HeadNearChance(lastAccuracy, head, training) is { } warning) ch.Warning(warning);
    }

    /// <summary>W2's initial weight (and its background row's): PyTorch's default for a 1×1 convolution (uniform in ±1/√D), from a private generator.</summary>
    private static void InitializeHead(ReCamHead head, int seed)
    {
        using var generator = new Generator((ulong)seed + 0x2ECA, device: CPU);
        using var noGrad = no_grad();
        foreach (var weight in new[] { head.Weight, head.BackgroundWeight })
        {
            if (weight is null) continue;
            using var drawn = empty(weight.shape, dtype: weight.dtype, device: CPU);
            double bound = 1.0 / Math.Sqrt(weight.shape[1]);
            drawn.uniform_(-bound, bound, generator);
            weight.copy_(drawn);
        }
    }

    private ReCamTrainingOptions TrainingOptions(int seed)
    {
        var o = _options;
        return new ReCamTrainingOptions
        {
            Epochs = o.Epochs, HeadWarmupEpochs = o.HeadWarmupEpochs, BatchSize = o.BatchSize, Crop = o.Crop, ResizeLong = ResizeRange(),
            Lambda = o.Lambda, LearningRate = o.LearningRate, ClassifierLearningRate = o.ClassifierLearningRate, HeadLearningRate = o.HeadLearningRate,
            WeightDecay = o.WeightDecay, Momentum = o.Momentum, Combination = o.Combination, HeadInit = o.HeadInit, BackgroundClass = o.BackgroundClass, Seed = seed,
        };
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
        if (string.IsNullOrWhiteSpace(o.CamColumnName)) throw MLNetBridge.ParameterError(_host, nameof(o.CamColumnName), "must not be empty");
        if (o.CamModel is { IsDisposed: true }) throw MLNetBridge.ParameterError(_host, nameof(o.CamModel), "the CAM transformer has been disposed");
        if (o.CamModel is null && o.CamModelPath is { } path)
        {
            if (!File.Exists(path)) throw MLNetBridge.ParameterError(_host, nameof(o.CamModelPath), $"file not found: {path}");
            bool pytorch = path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase);
            if (pytorch && string.IsNullOrWhiteSpace(o.Backbone))
                throw MLNetBridge.ParameterError(_host, nameof(o.Backbone), $"is required to read the PyTorch state dict {path} (for example resnet50 for res50_cam.pth)");
        }
        if (o.Backbone is not null)
        {
            try
            {
                BackboneCatalog.Get(o.Backbone);
            }
            catch (ArgumentException e)
            {
                throw MLNetBridge.ParameterError(_host, nameof(o.Backbone), e.Message);
            }
        }
        if (o.Epochs < 0 || o.HeadWarmupEpochs < 0 || o.Epochs + o.HeadWarmupEpochs < 1)
            throw MLNetBridge.ParameterError(_host, nameof(o.Epochs), $"Epochs ({o.Epochs}) and HeadWarmupEpochs ({o.HeadWarmupEpochs}) must be >= 0 and not both 0");
        if (o.BatchSize < 1) throw MLNetBridge.ParameterError(_host, nameof(o.BatchSize), $"must be at least 1 (got {o.BatchSize})");
        if (o.Crop < 16) throw MLNetBridge.ParameterError(_host, nameof(o.Crop), $"must be at least 16 pixels (got {o.Crop})");
        if (!(o.Lambda >= 0)) throw MLNetBridge.ParameterError(_host, nameof(o.Lambda), $"must be non-negative (got {o.Lambda})");
        if (!(o.LearningRate >= 0 && o.ClassifierLearningRate >= 0 && o.HeadLearningRate >= 0 && o.WeightDecay >= 0 && o.Momentum >= 0))
            throw MLNetBridge.ParameterError(_host, nameof(o.LearningRate), "learning rates, weight decay and momentum must be non-negative");
        try
        {
            TrainingOptions(0).Validate(); // the core's own checks, should they grow
        }
        catch (ArgumentException e)
        {
            throw MLNetBridge.ParameterError(_host, nameof(Options), e.Message);
        }
        if (!Enum.IsDefined(o.Combination)) throw MLNetBridge.ParameterError(_host, nameof(o.Combination), $"unknown value {(int)o.Combination}");
        if (ResizeRange() is var (rmin, rmax) && (rmin < 1 || rmax < rmin))
            throw MLNetBridge.ParameterError(_host, nameof(o.ResizeLongMin), $"the resize range {rmin}..{rmax} is invalid");
        if (o.Scales is { } scales && (scales.Length == 0 || scales.Any(s => !(s > 0))))
            throw MLNetBridge.ParameterError(_host, nameof(o.Scales), "needs at least one positive scale");
        if (o.PredictionThreshold is { } t && !(t is >= 0 and < 1))
            throw MLNetBridge.ParameterError(_host, nameof(o.PredictionThreshold), $"must be in [0, 1) (got {t})");
        if (o.ClassNames is { } names && (names.Length == 0 || names.Any(string.IsNullOrEmpty) || names.Distinct().Count() != names.Length))
            throw MLNetBridge.ParameterError(_host, nameof(o.ClassNames), "must be non-empty, distinct names");
        var all = OutputColumns.All;
        if (all.Distinct(StringComparer.Ordinal).Count() != all.Count)
            throw MLNetBridge.ParameterError(_host, nameof(o.OutputColumns), "output column names must be distinct");
    }
}
