using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Pipeline;
using ReCam.Refinement;
using ReCam.Training;
using TorchSharp;

namespace ReCam.MLNet;

/// <summary>
/// The mask refiner (IRNet, the paper's third stage): <c>Fit</c> derives inter-pixel relation (IR) labels from the seed maps of
/// the CAM or ReCAM transformer before it (confident foreground and background, each sharpened by a dense CRF on the image,
/// as the command line's cam-to-ir-label) and trains IRNet's boundary network on them (as train-irn); the
/// <see cref="MaskRefinerTransformer"/> it returns turns each row's seed maps into a pseudo mask with the random walk (as
/// make-sem-seg). Create it with <c>mlContext.Transforms.RefineMasks(...)</c>, appended after
/// <c>TrainClassActivationMaps</c> or <c>ReactivateClassActivationMaps</c>.
/// </summary>
/// <remarks>
/// <para>Fit reads every row's image and maps (the maps of the classes in the label column, when the upstream transformer has
/// one) and holds the decoded images and their IR labels in memory while training. The thresholds follow the seed maps'
/// automatic threshold (the upstream transformer's <see cref="MapTransformerBase.BackgroundThreshold"/>, or, when the maps come
/// from elsewhere, the automatic threshold of the first <see cref="MapTransformerBase.ThresholdImages"/> rows' maps and images), as on the
/// command line. Randomness comes from the <see cref="MLContext"/> seed unless <see cref="Options.Seed"/> is set; the device
/// from <see cref="MLContext.GpuDeviceId"/>. Progress (IR labels, then epochs and loss) goes to <see cref="MLContext.Log"/> and
/// to an ML.NET progress channel.</para>
/// </remarks>
public sealed class MaskRefinerEstimator : IEstimator<MaskRefinerTransformer>
{
    private readonly IHostEnvironment _env;
    private readonly IHost _host;
    private readonly Options _options;

    /// <summary>The defaults of <see cref="Options"/> and of the catalog's flat overload; the method's are the core's.</summary>
    internal static class Defaults
    {
        public const string OutputColumnName = PseudoMaskColumnNames.DefaultBaseName;
        public const string MapsColumnName = MapColumnNames.ReCamBaseName;
        public const string Backbone = BackboneCatalog.DefaultName;
        public const double LearningRate = BoundaryTrainingOptions.DefaultLearningRate;
        public const int TrainingRadius = BoundaryTrainingOptions.DefaultRadius;
        public const double Beta = RandomWalk.DefaultBeta;
        public const int WalkRadius = RandomWalk.DefaultRadius;
        public const int WalkSteps = RandomWalk.DefaultSteps;
        public const float UncertainMargin = SemSegOptions.DefaultUncertainMargin;
        public const bool MaskCrf = SemSegOptions.DefaultCrf;
    }

    /// <summary>Options of <see cref="MaskRefinerEstimator"/>. Defaults are those of the command line's refinement steps.</summary>
    public sealed class Options
    {
        /// <summary>Name of the pseudo-mask column, and base of the other output names (see <see cref="PseudoMaskColumnNames"/>).</summary>
        public string OutputColumnName = Defaults.OutputColumnName;

        /// <summary>Output names; null = derived from <see cref="OutputColumnName"/>.</summary>
        public PseudoMaskColumnNames? OutputColumns;

        /// <summary>Image column (<c>MLImage</c>, as produced by <c>LoadImages</c>): the image the maps were made from.</summary>
        public string ImageColumnName = MapInputs.DefaultImageColumnName;

        /// <summary>Base name of the seed-map columns to refine: <c>ReCam</c> (default) or <c>Cam</c> (see <see cref="MapColumnNames"/>).</summary>
        public string MapsColumnName = Defaults.MapsColumnName;

        /// <summary>Seed-map column names; null = derived from <see cref="MapsColumnName"/>.</summary>
        public MapColumnNames? MapsColumns;

        /// <summary>Backbone of the boundary network, frozen; the default ships with ImageNet weights.</summary>
        public string Backbone = Defaults.Backbone;

        /// <summary>A PyTorch or ReCam weights file for <see cref="Backbone"/> (required for backbones without bundled weights).</summary>
        public string? BackboneWeightsPath;

        /// <summary>Boundary-network epochs; null = at least 3 (official) and enough for 200 steps.</summary>
        public int? Epochs;

        /// <summary>Images per step (official: 32).</summary>
        public int BatchSize = TrainingOptions.DefaultBatchSize;

        /// <summary>Square training crop in pixels, a multiple of 4 (official: 512; use about the image size for small images).</summary>
        public int Crop = TrainingOptions.DefaultCrop;

        /// <summary>Learning rate of the edge layers (official: 0.1).</summary>
        public double LearningRate = Defaults.LearningRate;

        /// <summary>L2 weight decay (official: 1e-4).</summary>
        public double WeightDecay = TrainingOptions.DefaultWeightDecay;

        /// <summary>SGD momentum (default 1e-4 reproduces the official optimizer's quirk).</summary>
        public double Momentum = TrainingOptions.DefaultMomentum;

        /// <summary>Pixel pairs closer than this (in stride-4 cells) are related in the training loss (official: 10).</summary>
        public int TrainingRadius = Defaults.TrainingRadius;

        /// <summary>
        /// Confident-foreground threshold of the IR labels; null = 0.35/0.21 × the seed maps' automatic threshold (the official
        /// 0.35 relative to the 0.21 its maps were evaluated at).
        /// </summary>
        public double? ConfidentForegroundThreshold;

        /// <summary>Confident-background threshold of the IR labels; null = 0.10/0.21 × the seed maps' automatic threshold.</summary>
        public double? ConfidentBackgroundThreshold;

        /// <summary>The dense CRF that sharpens the confident labels (official parameters by default).</summary>
        public DenseCrfOptions Crf = new();

        /// <summary>Background plane after the random walk; null = the seed maps' automatic threshold (official: 0.28).</summary>
        public float? BackgroundThreshold;

        /// <summary>Affinity exponent β (official: 10).</summary>
        public double Beta = Defaults.Beta;

        /// <summary>Neighbourhood radius of the random walk, in stride-4 cells (official: 5).</summary>
        public int WalkRadius = Defaults.WalkRadius;

        /// <summary>Random-walk steps (official: 256).</summary>
        public int WalkSteps = Defaults.WalkSteps;

        /// <summary>Power applied to the maps before the walk (official: 1; 1.5 for AdvCAM maps).</summary>
        public double MapsExponent = 1;

        /// <summary>
        /// Pixels whose winning score (after the walk, relative to the image's largest value, the background plane included)
        /// leads the runner-up by less than this get 255 in the pseudo mask, which the DeepLab trainer ignores; 0 (the
        /// official behaviour) labels every pixel. The default is the command line's.
        /// </summary>
        public float UncertainMargin = Defaults.UncertainMargin;

        /// <summary>
        /// Whether each pseudo mask is snapped to the image's edges after the walk by a dense CRF with the official
        /// <c>crf_inference_label</c> parameters (our extension; the official masks have none). The default is the command line's.
        /// </summary>
        public bool MaskCrf = Defaults.MaskCrf;

        /// <summary>Seed of this estimator; null = the <see cref="MLContext"/>'s seed (random if the context has none).</summary>
        public int? Seed;

        /// <summary>Stops Fit between images and training steps (Fit then throws <see cref="OperationCanceledException"/>).</summary>
        public CancellationToken CancellationToken;

        /// <summary>Torch CPU threads, set when Fit starts (process-wide); also the IR labels' parallelism. Null = all cores.</summary>
        public int? NumberOfThreads;

        internal PseudoMaskColumnNames EffectiveOutputColumns => OutputColumns ?? PseudoMaskColumnNames.FromBaseName(OutputColumnName);

        internal MapColumnNames EffectiveMapsColumns => MapsColumns ?? MapColumnNames.FromBaseName(MapsColumnName);

        internal BoundaryTrainingOptions ToTraining(int seed) => new()
        {
            Epochs = Epochs, BatchSize = BatchSize, Crop = Crop, LearningRate = LearningRate, WeightDecay = WeightDecay, Momentum = Momentum,
            Radius = TrainingRadius, Seed = seed,
        };

        internal IrLabelOptions ToIrLabels() => new()
        {
            ForegroundThreshold = ConfidentForegroundThreshold, BackgroundThreshold = ConfidentBackgroundThreshold, Crf = Crf,
        };

        internal SemSegOptions ToWalk() => new()
        {
            SemSegThreshold = BackgroundThreshold, Beta = Beta, Radius = WalkRadius, Steps = WalkSteps, MapsExponent = MapsExponent,
            UncertainMargin = UncertainMargin, Crf = MaskCrf,
        };
    }

    // The core names its options after its own records; the errors name the fields of Options.
    private static readonly Dictionary<string, string> CoreNames = new()
    {
        [nameof(BoundaryTrainingOptions.Radius)] = nameof(Options.TrainingRadius),
        [nameof(IrLabelOptions.ForegroundThreshold)] = nameof(Options.ConfidentForegroundThreshold),
        [nameof(IrLabelOptions.BackgroundThreshold)] = nameof(Options.ConfidentBackgroundThreshold),
        [nameof(SemSegOptions.SemSegThreshold)] = nameof(Options.BackgroundThreshold),
        [nameof(SemSegOptions.Steps)] = nameof(Options.WalkSteps),
    };

    internal MaskRefinerEstimator(IHostEnvironment env, Options options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        _env = env;
        _host = env.Register(nameof(MaskRefinerEstimator));
        _options = options;
        CheckOptions();
    }

    /// <summary>The output column names this estimator's transformer will add.</summary>
    public PseudoMaskColumnNames OutputColumns => _options.EffectiveOutputColumns;

    /// <summary>Checks the input schema and describes the output schema, without training.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image or a seed-map column is missing or has the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SeedMapInputs.Check(_host, inputSchema, _options.ImageColumnName, _options.EffectiveMapsColumns);
        return MapColumns.WithAdded(inputSchema, OutputColumns.Build());
    }

    /// <summary>Derives the IR labels, trains the boundary network and returns the transformer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image or a seed-map column is missing or has the wrong type (before any work).</exception>
    /// <exception cref="InvalidOperationException">An image cannot be loaded, its maps do not fit it, or the data has fewer rows than one batch.</exception>
    /// <exception cref="OperationCanceledException"><see cref="Options.CancellationToken"/> was cancelled.</exception>
    public MaskRefinerTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options;
        MapInputs.CheckImage(_host, input, o.ImageColumnName);
        var columns = SeedMapInputs.Check(_host, input.Schema, o.ImageColumnName, o.EffectiveMapsColumns, null);
        using var ch = _host.Start("Refining seed maps into pseudo masks");
        int seed = o.Seed ?? MLNetBridge.ContextSeed(_env) ?? _host.Rand.Next();
        if (o.NumberOfThreads is int threads) TorchSharp.torch.set_num_threads(threads);
        var device = MLNetBridge.SelectDevice(_env, ch);
        var training = o.ToTraining(seed);

        var rows = ReadRows(input, columns, ch);
        if (rows.Count < training.BatchSize)
            throw MLNetBridge.Error(_host, $"The mask refiner needs at least one batch ({training.BatchSize}) of rows; the data has {rows.Count}. Lower BatchSize or add data.");
        float automatic = AutomaticThreshold(input, rows, ch);
        var (foreground, background) = o.ToIrLabels().ThresholdsFor(automatic);
        var labels = IrLabels(rows, foreground, background, ch);
        var samples = rows.Select((r, i) => new LabelledImage(r.Id, r.Image, labels[i])).ToList();
        rows.Clear(); // the maps are not needed any more; the images are, by the samples

        var spec = BackboneCatalog.Get(o.Backbone);
        var (network, weightsSource) = BoundaryNetwork.Create(spec, o.BackboneWeightsPath, seed);
        try
        {
            network.to(device);
            ch.Info(MessageSensitivity.None,
                $"Boundary network: {samples.Count} images, backbone {spec.Name} ({weightsSource}, frozen), {training.EpochsFor(samples.Count)} epochs x " +
                $"{samples.Count / training.BatchSize} steps, batch {training.BatchSize}, crop {training.Crop}, lr {training.LearningRate:G3}, " +
                $"radius {training.Radius}, seed {seed}, device {device}.");
            using (var progress = new FitProgress(_host, ch, "Training the boundary network"))
                BoundaryTrainer.Train(network, samples, training, device, progress.Hooks(o.CancellationToken));
            var names = columns.ClassNames ?? Data.ClassNames.Placeholders(columns.ClassCount);
            var info = new RefinerModelInfo(names, spec, o.ImageColumnName, o.EffectiveMapsColumns, OutputColumns, o.BackgroundThreshold ?? automatic,
                o.Beta, o.WalkRadius, o.WalkSteps, o.MapsExponent, foreground, background, o.UncertainMargin, o.MaskCrf);
            return new MaskRefinerTransformer(_env, network, info, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private sealed record Row(string Id, RgbImage Image, CamMaps Maps);

    private List<Row> ReadRows(IDataView input, SeedMapColumns columns, IChannel ch)
    {
        int? pathIndex = MapInputs.ImagePathColumn(input, _options.ImageColumnName);
        var needed = SeedMapRowReader.Dependencies(columns).Concat(pathIndex is int p ? [p] : []).Select(i => input.Schema[i]);
        using var cursor = input.GetRowCursor(needed);
        var reader = new SeedMapRowReader(cursor, columns, pathIndex);
        var rows = new List<Row>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (cursor.MoveNext())
        {
            _options.CancellationToken.ThrowIfCancellationRequested();
            RgbImage image;
            CamMaps maps;
            try
            {
                image = reader.Image();
                maps = reader.Maps(image);
            }
            catch (InvalidOperationException e)
            {
                throw MLNetBridge.Error(_host, e, e.Message);
            }
            rows.Add(new Row($"row {cursor.Position}", image, maps));
            if (rows.Count % 100 == 0) ch.Info(MessageSensitivity.None, $"Seed maps of {rows.Count} rows read ({rows.Count / clock.Elapsed.TotalSeconds:F1} rows/s).");
        }
        return rows;
    }

    // The upstream map transformer chose it at its own fit; otherwise from the first rows' maps and images, as it would have.
    private float AutomaticThreshold(IDataView input, List<Row> rows, IChannel ch)
    {
        var mapsColumn = _options.EffectiveMapsColumns.Maps;
        if (MLNetBridge.UpstreamTransformers(input).OfType<MapTransformerBase>().FirstOrDefault(t => t.OutputColumns.Maps == mapsColumn) is { } upstream)
        {
            ch.Info(MessageSensitivity.None, $"Seed maps '{mapsColumn}': automatic threshold {upstream.BackgroundThreshold:F3} (from the upstream {upstream.GetType().Name}).");
            return upstream.BackgroundThreshold;
        }
        var estimate = new AutomaticThreshold();
        foreach (var row in rows.Where(r => r.Maps.Count > 0).Take(MapTransformerBase.ThresholdImages)) estimate.Add(row.Maps, row.Image);
        float threshold = estimate.Pixels > 0 ? estimate.Estimate() : SeedPrediction.DefaultThreshold;
        ch.Info(MessageSensitivity.None, $"Seed maps '{mapsColumn}': automatic threshold {threshold:F3}, chosen without masks from the maps of {estimate.Images} rows.");
        return threshold;
    }

    private LabelMap[] IrLabels(List<Row> rows, double foreground, double background, IChannel ch)
    {
        var labels = new LabelMap[rows.Count];
        var crf = _options.Crf;
        var parallel = new ParallelOptions
        {
            CancellationToken = _options.CancellationToken, MaxDegreeOfParallelism = _options.NumberOfThreads ?? Environment.ProcessorCount,
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Parallel.For(0, rows.Count, parallel, i => labels[i] = IrLabel.Make(rows[i].Image, rows[i].Maps, foreground, background, crf));
        long pixels = 0, unsure = 0, objects = 0;
        foreach (var label in labels)
        {
            pixels += label.Values.Length;
            foreach (byte v in label.Values)
            {
                if (v == IrLabel.Unsure) unsure++;
                else if (v != 0) objects++;
            }
        }
        ch.Info(MessageSensitivity.None,
            $"IR labels of {rows.Count} images (confident foreground {foreground:F3}, background {background:F3}, dense CRF): " +
            $"{100.0 * objects / Math.Max(1, pixels):F1}% object, {100.0 * (pixels - objects - unsure) / Math.Max(1, pixels):F1}% background, " +
            $"{100.0 * unsure / Math.Max(1, pixels):F1}% unsure; {rows.Count / clock.Elapsed.TotalSeconds:F1} images/s.");
        return labels;
    }

    private void CheckOptions()
    {
        var o = _options;
        MapOptions.CheckThreads(_host, o.NumberOfThreads);
        MapOptions.CheckColumns(_host, (nameof(o.OutputColumnName), o.OutputColumnName), (nameof(o.ImageColumnName), o.ImageColumnName),
            (nameof(o.MapsColumnName), o.MapsColumnName));
        var outputs = o.EffectiveOutputColumns.All;
        if (outputs.Distinct(StringComparer.Ordinal).Count() != outputs.Count)
            throw MLNetBridge.ParameterError(_host, nameof(o.OutputColumns), "output column names must be distinct");
        MapOptions.CheckBackbone(_host, nameof(o.Backbone), o.Backbone);
        if (o.BackboneWeightsPath is { } path && !File.Exists(path))
            throw MLNetBridge.ParameterError(_host, nameof(o.BackboneWeightsPath), $"file not found: {path}");
        if (o.Crf is null) throw MLNetBridge.ParameterError(_host, nameof(o.Crf), "must not be null");
        MapOptions.CheckCore(_host, () => o.ToTraining(0).Validate(), CoreNames);
        MapOptions.CheckCore(_host, () => o.ToIrLabels().Validate(), CoreNames);
        MapOptions.CheckCore(_host, () => o.ToWalk().Validate(), CoreNames);
    }
}
