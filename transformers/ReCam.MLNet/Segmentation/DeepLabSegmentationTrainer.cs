using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Networks;
using ReCam.Refinement;
using ReCam.Segmentation;
using ReCam.Training;
using TorchSharp;

namespace ReCam.MLNet;

/// <summary>
/// The DeepLab segmentation trainer (the paper's fourth stage, as the command line's train-deeplab): <c>Fit</c> trains a
/// DeepLab network on each row's image and mask (the pseudo masks of the mask refiner before it, or label PNGs named by a
/// path column), and returns a <see cref="DeepLabSegmentationTransformer"/> that segments images that have no labels at
/// all. Create it with <c>mlContext.MulticlassClassification.Trainers.DeepLabSegmentation(...)</c>: segmentation is
/// multiclass classification of every pixel, and ML.NET's TorchSharp object-detection trainer lives there too.
/// </summary>
/// <remarks>
/// Fit holds the decoded images and masks in memory while training. Class names come from <see cref="Options.ClassNames"/>,
/// else from the mask refiner upstream (its <see cref="MaskRefinerTransformer.ClassNames"/>). Randomness comes from the
/// <see cref="MLContext"/> seed unless <see cref="Options.Seed"/> is set; the device from <see cref="MLContext.GpuDeviceId"/>.
/// Progress (epochs and loss) goes to <see cref="MLContext.Log"/> and to an ML.NET progress channel.
/// </remarks>
public sealed class DeepLabSegmentationTrainer : IEstimator<DeepLabSegmentationTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>Options of <see cref="DeepLabSegmentationTrainer"/>. Training defaults are the command line's train-deeplab's.</summary>
    public sealed class Options
    {
        private static readonly DeepLabTrainingOptions Core = new();

        /// <summary>Name of the predicted-mask column, and base of the other output names (see <see cref="SegmentationColumnNames"/>).</summary>
        public string OutputColumnName = SegmentationColumnNames.DefaultBaseName;

        /// <summary>Output names; null = derived from <see cref="OutputColumnName"/>.</summary>
        public SegmentationColumnNames? OutputColumns;

        /// <summary>Image column (<c>MLImage</c>, as produced by <c>LoadImages</c>).</summary>
        public string ImageColumnName = MapInputs.DefaultImageColumnName;

        /// <summary>
        /// The mask column: <c>Vector&lt;Byte&gt;</c> with <c>&lt;name&gt;Height</c> and <c>&lt;name&gt;Width</c> (the mask refiner's
        /// <c>PseudoMask</c>, the default), or <c>String</c> paths of label PNGs (0 background, c + 1 class c, 255 ignored).
        /// </summary>
        public string MaskColumnName = PseudoMaskColumnNames.DefaultBaseName;

        /// <summary>Class names (mask value c + 1 = class c); null = those of the mask refiner upstream.</summary>
        public string[]? ClassNames;

        /// <summary>Backbone; the default ships with ImageNet weights.</summary>
        public string Backbone = BackboneCatalog.DefaultName;

        /// <summary>A PyTorch or ONNX weights file for <see cref="Backbone"/> (required for backbones without bundled weights).</summary>
        public string? BackboneWeightsPath;

        /// <summary>DeepLab head: v2 (the paper's), v3 (the default) or v3+ (v3 with a decoder on stride-4 features).</summary>
        public DeepLabVariant Variant = Core.Shape.Variant;

        /// <summary>Backbone output stride: 8 (the paper's) or 16 (cheaper).</summary>
        public int OutputStride = Core.Shape.OutputStride;

        /// <summary>Epochs; null = the command line's default (at least 10 and 300 steps).</summary>
        public int? Epochs;

        /// <summary>Images per step.</summary>
        public int BatchSize = Core.BatchSize;

        /// <summary>Square training crop in pixels (reference: 321; about the image size for small images).</summary>
        public int Crop = Core.Crop;

        /// <summary>Backbone learning rate; the head trains at <see cref="HeadRateMultiplier"/> times it.</summary>
        public double LearningRate = Core.LearningRate;

        /// <summary>The head's rate as a multiple of <see cref="LearningRate"/> (reference: 10).</summary>
        public double HeadRateMultiplier = Core.HeadRateMultiplier;

        /// <summary>L2 weight decay (reference: 5e-4).</summary>
        public double WeightDecay = Core.WeightDecay;

        /// <summary>SGD momentum (reference: 0.9).</summary>
        public double Momentum = Core.Momentum;

        /// <summary>Random training scales, one drawn per image and step (reference: 0.5 to 1.5).</summary>
        public double[] RandomScales = Core.RandomScales.ToArray();

        /// <summary>
        /// The fraction of background-labelled pixels with the highest loss left out of each step, where the network sees an
        /// object the pseudo mask missed (ramped up over the first fifth of training; not in the reference). Set 0 for
        /// hand-drawn masks.
        /// </summary>
        public double IgnoreHardBackground = Core.IgnoreHardBackground;

        /// <summary>
        /// Start the backbone from the closest CAM or ReCAM transformer upstream in the same pipeline (when its backbone is
        /// <see cref="Backbone"/>): what the classifier learnt of these classes from the image-level labels, worth about 3 points of
        /// val mIoU on generated scenes. False, or no such transformer: <see cref="BackboneWeightsPath"/>, else the bundled weights.
        /// </summary>
        public bool StartFromClassifier = Core.StartFromClassifier;

        /// <summary>Inference scales whose probabilities are averaged.</summary>
        public double[] Scales = SegmentationOptions.DefaultScales.ToArray();

        /// <summary>Also run each inference scale on the mirrored image.</summary>
        public bool Flip = true;

        /// <summary>Longest side the network sees at inference; larger images are shrunk first.</summary>
        public int MaxInputSide = SegmentationOptions.DefaultMaxInputSide;

        /// <summary>Dense CRF post-processing with the reference parameters (several times slower per image).</summary>
        public bool Crf;

        /// <summary>Seed of this trainer; null = the <see cref="MLContext"/>'s seed (random if the context has none).</summary>
        public int? Seed;

        /// <summary>Stops Fit between training steps (Fit then throws <see cref="OperationCanceledException"/>).</summary>
        public CancellationToken CancellationToken;

        /// <summary>Torch CPU threads, set when Fit starts (process-wide). Null = all cores.</summary>
        public int? NumberOfThreads;

        internal SegmentationColumnNames EffectiveOutputColumns => OutputColumns ?? SegmentationColumnNames.FromBaseName(OutputColumnName);

        internal DeepLabShape Shape => new(Variant, OutputStride);

        internal DeepLabTrainingOptions ToTraining(int seed) => new()
        {
            Shape = Shape, Epochs = Epochs, BatchSize = BatchSize, Crop = Crop, LearningRate = LearningRate, HeadRateMultiplier = HeadRateMultiplier,
            WeightDecay = WeightDecay, Momentum = Momentum, RandomScales = RandomScales, IgnoreHardBackground = IgnoreHardBackground,
            StartFromClassifier = StartFromClassifier, Seed = seed,
        };

        internal SegmentationOptions ToInference() => new()
        {
            Scales = Scales, Flip = Flip, MaxInputSide = MaxInputSide, Crf = Crf ? DenseCrfOptions.DeepLabPostProcessing : null,
        };
    }

    internal DeepLabSegmentationTrainer(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        _env = env;
        _host = env.Register(nameof(DeepLabSegmentationTrainer));
        _options = options;
        CheckOptions();
    }

    /// <summary>The output column names this trainer's transformer will add.</summary>
    public SegmentationColumnNames OutputColumns => _options.EffectiveOutputColumns;

    /// <summary>Checks the input schema and describes the output schema, without training.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image or mask column is missing or has the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SegmentationInputs.Check(_host, inputSchema, _options.ImageColumnName, _options.MaskColumnName);
        return MapColumns.WithAdded(inputSchema, OutputColumns.Build(2));
    }

    /// <summary>Trains the network and returns the transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image or mask column is missing or has the wrong type (before any work).</exception>
    /// <exception cref="InvalidOperationException">No class names; an image cannot be loaded; a mask does not fit its image or the classes; fewer rows than one batch.</exception>
    /// <exception cref="OperationCanceledException"><see cref="Options.CancellationToken"/> was cancelled.</exception>
    public DeepLabSegmentationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        MapInputs.CheckImage(_host, input, o.ImageColumnName);
        var columns = SegmentationInputs.Check(_host, input.Schema, o.ImageColumnName, o.MaskColumnName);
        string[] classNames = o.ClassNames ?? MLNetBridge.UpstreamTransformers(input).OfType<MaskRefinerTransformer>()
            .FirstOrDefault(r => r.OutputColumns.Mask == o.MaskColumnName)?.ClassNames.ToArray()
            ?? throw MLNetBridge.ParameterError(_host, nameof(o.ClassNames),
                $"must name the classes: the mask column '{o.MaskColumnName}' does not come from a mask refiner in the same pipeline");
        using var ch = _host.Start("Training the DeepLab segmenter");
        int seed = o.Seed ?? MLNetBridge.ContextSeed(_env) ?? _host.Rand.Next();
        if (o.NumberOfThreads is int threads) torch.set_num_threads(threads);
        var device = MLNetBridge.SelectDevice(_env, ch);
        var training = o.ToTraining(seed);
        var samples = ReadRows(input, columns, classNames.Length + 1, ch);
        if (samples.Count < training.BatchSize)
            throw MLNetBridge.Error(_host, $"The segmenter needs at least one batch ({training.BatchSize}) of rows; the data has {samples.Count}. Lower BatchSize or add data.");

        var spec = BackboneCatalog.Get(o.Backbone);
        var classifier = o.StartFromClassifier ? UpstreamClassifier(input, spec, ch) : null;
        var (network, weightsSource) = classifier is null
            ? DeepLabNetwork.Create(spec, o.BackboneWeightsPath, training.Shape, classNames.Length + 1, seed)
            : (DeepLabNetwork.CreateFromClassifier(spec, classifier.CopyBackboneTo, training.Shape, classNames.Length + 1, seed),
                $"the backbone of the upstream {classifier.GetType().Name}");
        try
        {
            network.to(device);
            ch.Info(MessageSensitivity.None,
                $"DeepLab-{training.Shape.VariantName} (output stride {training.Shape.OutputStride}) on {spec.Name} ({weightsSource}): {samples.Count} images, " +
                $"{classNames.Length} classes, {training.EpochsFor(samples.Count)} epochs x {samples.Count / training.BatchSize} steps, batch {training.BatchSize}, " +
                $"crop {training.Crop}, lr {training.LearningRate:G3} (head x{training.HeadRateMultiplier:G3}), seed {seed}, device {device}.");
            using (var progress = new FitProgress(_host, ch, "Training the DeepLab segmenter"))
                DeepLabTrainer.Train(network, samples, training, device, progress.Hooks(o.CancellationToken));
            var info = new SegmenterModelInfo(classNames, spec, training.Shape, o.ImageColumnName, OutputColumns, o.ToInference());
            return new DeepLabSegmentationTransformer(_env, network, info, device);
        }
        catch (InvalidDataException e)
        {
            network.Dispose();
            throw MLNetBridge.Error(_host, e, e.Message);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>The closest CAM or ReCAM transformer upstream whose backbone is <paramref name="spec"/>'s, or null.</summary>
    internal static MapTransformerBase? UpstreamClassifier(IDataView input, BackboneSpec spec, IChannel ch)
    {
        var upstream = MLNetBridge.UpstreamTransformers(input).OfType<MapTransformerBase>().FirstOrDefault();
        if (upstream is null)
        {
            ch.Info(MessageSensitivity.None, "No CAM or ReCAM transformer upstream: the backbone starts from its pretrained weights.");
            return null;
        }
        if (string.Equals(upstream.Backbone, spec.Name, StringComparison.OrdinalIgnoreCase)) return upstream;
        ch.Info(MessageSensitivity.None, $"The upstream {upstream.GetType().Name} has backbone {upstream.Backbone}, not {spec.Name}: the backbone starts from its pretrained weights.");
        return null;
    }

    private List<LabelledImage> ReadRows(IDataView input, MaskColumns columns, int labelCount, IChannel ch)
    {
        using var cursor = input.GetRowCursor(SegmentationRowReader.Dependencies(columns).Select(i => input.Schema[i]));
        var reader = new SegmentationRowReader(cursor, columns);
        var samples = new List<LabelledImage>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (cursor.MoveNext())
        {
            _options.CancellationToken.ThrowIfCancellationRequested();
            try
            {
                var image = reader.Image();
                samples.Add(new LabelledImage($"row {cursor.Position}", image, reader.Mask(image, labelCount)));
            }
            catch (InvalidOperationException e)
            {
                throw MLNetBridge.Error(_host, e, e.Message);
            }
            if (samples.Count % 100 == 0) ch.Info(MessageSensitivity.None, $"Images and masks of {samples.Count} rows read ({samples.Count / clock.Elapsed.TotalSeconds:F1} rows/s).");
        }
        return samples;
    }

    private void CheckOptions()
    {
        var o = _options;
        MapOptions.CheckThreads(_host, o.NumberOfThreads);
        MapOptions.CheckColumns(_host, (nameof(o.OutputColumnName), o.OutputColumnName), (nameof(o.ImageColumnName), o.ImageColumnName),
            (nameof(o.MaskColumnName), o.MaskColumnName));
        var outputs = o.EffectiveOutputColumns.All;
        if (outputs.Distinct(StringComparer.Ordinal).Count() != outputs.Count)
            throw MLNetBridge.ParameterError(_host, nameof(o.OutputColumns), "output column names must be distinct");
        MapOptions.CheckBackbone(_host, nameof(o.Backbone), o.Backbone);
        MapOptions.CheckNames(_host, nameof(o.ClassNames), o.ClassNames);
        if (o.ClassNames is { Length: > SeedMapInputs.IrLabelClassLimit })
            throw MLNetBridge.ParameterError(_host, nameof(o.ClassNames), $"at most {SeedMapInputs.IrLabelClassLimit} classes fit an 8-bit mask (got {o.ClassNames.Length})");
        if (o.BackboneWeightsPath is { } path && !File.Exists(path))
            throw MLNetBridge.ParameterError(_host, nameof(o.BackboneWeightsPath), $"file not found: {path}");
        if (o.OutputStride is not (8 or 16)) throw MLNetBridge.ParameterError(_host, nameof(o.OutputStride), $"must be 8 or 16 (got {o.OutputStride})");
        if (o.RandomScales is null) throw MLNetBridge.ParameterError(_host, nameof(o.RandomScales), "must not be null");
        if (o.Scales is null) throw MLNetBridge.ParameterError(_host, nameof(o.Scales), "must not be null");
        MapOptions.CheckCore(_host, () => o.ToTraining(0).Validate());
        MapOptions.CheckCore(_host, () => o.ToInference().Validate());
    }
}
