using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Training;

namespace ReCam.MLNet;

/// <summary>
/// The options every map estimator (CAM extractor, re-activation trainer) shares: its columns, the training batches, the
/// optimiser's regularisation, the seed and cancellation. Defaults are the core's (<see cref="TrainingOptions"/>).
/// </summary>
public abstract class MapEstimatorOptions
{
    /// <summary>Creates the options with <paramref name="outputColumnName"/> as the default base name of the output columns.</summary>
    private protected MapEstimatorOptions(string outputColumnName) => OutputColumnName = outputColumnName;

    /// <summary>Name of the full-resolution maps column, and base of the other output names (see <see cref="MapColumnNames"/>).</summary>
    public string OutputColumnName;

    /// <summary>Output names; null = derived from <see cref="OutputColumnName"/> by <see cref="MapColumnNames.FromBaseName"/>.</summary>
    public MapColumnNames? OutputColumns;

    /// <summary>Image column (<c>MLImage</c>, as produced by <c>LoadImages</c>).</summary>
    public string ImageColumnName = MapInputs.DefaultImageColumnName;

    /// <summary>
    /// Image-level labels: <c>Vector&lt;Single, C&gt;</c> or <c>Vector&lt;Boolean, C&gt;</c> multi-hot (value &gt; 0 = present), or a
    /// vector of <c>Key&lt;UInt32, C&gt;</c> listing the present classes (for example from <c>MapValueToKey</c>), or a single key.
    /// Also read at transform time when present, to choose the classes whose maps are extracted.
    /// </summary>
    public string LabelColumnName = MapInputs.DefaultLabelColumnName;

    /// <summary>Images per step (official: 16). Needs at least this many labelled rows.</summary>
    public int BatchSize = TrainingOptions.DefaultBatchSize;

    /// <summary>Square training crop in pixels (official: 512; use about the image size for small images).</summary>
    public int Crop = TrainingOptions.DefaultCrop;

    /// <summary>Smallest long side of the random training resize; null = 0.625 × <see cref="Crop"/> (320 for 512).</summary>
    public int? ResizeLongMin;

    /// <summary>Largest long side of the random training resize; null = 1.25 × <see cref="Crop"/> (640 for 512).</summary>
    public int? ResizeLongMax;

    /// <summary>L2 weight decay of every parameter group (official: 1e-4).</summary>
    public double WeightDecay = TrainingOptions.DefaultWeightDecay;

    /// <summary>SGD momentum (default 1e-4 reproduces the official optimizer's quirk).</summary>
    public double Momentum = TrainingOptions.DefaultMomentum;

    /// <summary>Seed of this estimator; null = the <see cref="MLContext"/>'s seed (random if the context has none).</summary>
    public int? Seed;

    /// <summary>Stops training between steps (Fit then throws <see cref="OperationCanceledException"/>).</summary>
    public CancellationToken CancellationToken;

    /// <summary>
    /// Torch CPU threads, set when Fit starts; null = leave libtorch's setting (all cores unless the application chose).
    /// libtorch has one thread pool per process, so the setting also holds for transforms that run afterwards in the same
    /// process. On a server that shares its cores, fewer threads than cores keeps each request's work from competing with the
    /// others (idle OpenMP threads already sleep rather than spin: ReCam sets <c>OMP_WAIT_POLICY=PASSIVE</c> unless the
    /// process chose a policy).
    /// </summary>
    public int? NumberOfThreads;

    /// <summary>The output column names in effect.</summary>
    internal MapColumnNames EffectiveOutputColumns => OutputColumns ?? MapColumnNames.FromBaseName(OutputColumnName);

    /// <summary>The shared part of the core training options.</summary>
    internal T Apply<T>(T training, int seed) where T : TrainingOptions => training with
    {
        BatchSize = BatchSize, Crop = Crop, ResizeLongMin = ResizeLongMin, ResizeLongMax = ResizeLongMax, WeightDecay = WeightDecay,
        Momentum = Momentum, Seed = seed,
    };

    /// <summary>The seed in effect: this estimator's, else the context's, else a draw from the host.</summary>
    internal int ResolveSeed(IHostEnvironment env, IHost host) => Seed ?? MLNetBridge.ContextSeed(env) ?? host.Rand.Next();

    /// <summary>Applies <see cref="NumberOfThreads"/> (process-wide).</summary>
    internal void ApplyThreads()
    {
        if (NumberOfThreads is int threads) TorchSharp.torch.set_num_threads(threads);
    }

    /// <summary>The checks of the shared options that are ML.NET's own: non-empty column names, distinct output names, thread count.</summary>
    internal void CheckShared(IExceptionContext ectx)
    {
        MapOptions.CheckThreads(ectx, NumberOfThreads);
        MapOptions.CheckColumns(ectx, (nameof(OutputColumnName), OutputColumnName), (nameof(ImageColumnName), ImageColumnName),
            (nameof(LabelColumnName), LabelColumnName));
        var all = EffectiveOutputColumns.All;
        if (all.Distinct(StringComparer.Ordinal).Count() != all.Count)
            throw MLNetBridge.ParameterError(ectx, nameof(OutputColumns), "output column names must be distinct");
    }
}
