// ML.NET internal API, part 1 of this folder: the environment behind a catalog, the MLContext's device and seed,
// schema shapes and ML.NET-style exceptions. Code outside MLNetInternals/ calls these helpers instead.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;

namespace ReCam.MLNet;

/// <summary>Small wrappers over ML.NET internals, so that the components themselves use public API only.</summary>
internal static class MLNetBridge
{
    /// <summary>The environment (normally the <see cref="MLContext"/>) a catalog belongs to.</summary>
    public static IHostEnvironment Environment(TransformsCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return CatalogUtils.GetEnvironment(catalog);
    }

    /// <summary>The environment (normally the <see cref="MLContext"/>) a trainers catalog belongs to.</summary>
    public static IHostEnvironment Environment(MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return CatalogUtils.GetEnvironment(catalog);
    }

    /// <summary>
    /// The torch device chosen by <see cref="MLContext.GpuDeviceId"/> and <see cref="MLContext.FallbackToCpu"/>:
    /// CPU when no GPU id is set; cuda:N when set and CUDA is usable; CPU with a warning when it is not usable and
    /// fallback is allowed; otherwise an error.
    /// </summary>
    public static torch.Device SelectDevice(IHostEnvironment env, IChannel? channel)
    {
        ReCam.Platform.TorchNativeLoader.ThrowIfUnloadable(); // the components' first torch call: a clear error beats TorchSharp's

        if (env is not IHostEnvironmentInternal settings || settings.GpuDeviceId is not int gpu) return torch.CPU;
        if (torch.cuda.is_available()) return torch.device(DeviceType.CUDA, gpu);
        if (settings.FallbackToCpu)
        {
            channel?.Warning($"MLContext.GpuDeviceId is {gpu} but CUDA is not available (ReCam is built for the CPU backend unless built with -p:TorchBackend=cuda); using the CPU.");
            return torch.CPU;
        }
        throw env.Except($"MLContext.GpuDeviceId is {gpu} but CUDA is not available and MLContext.FallbackToCpu is false. " +
            "Build ReCam with -p:TorchBackend=cuda on a machine with an NVIDIA GPU, set FallbackToCpu = true, or leave GpuDeviceId null.");
    }

    /// <summary>The seed the <see cref="MLContext"/> was created with (null if none), independent of the order in which components were created.</summary>
    public static int? ContextSeed(IHostEnvironment env) => (env as IHostEnvironmentInternal)?.Seed;

    /// <summary>Schema error in ML.NET's own style: the column is missing.</summary>
    public static Exception SchemaMismatch(IExceptionContext ectx, string role, string column) =>
        ectx.ExceptSchemaMismatch("inputSchema", role, column);

    /// <summary>Schema error in ML.NET's own style: the column has the wrong type.</summary>
    public static Exception SchemaMismatch(IExceptionContext ectx, string role, string column, string expected, string? actual) =>
        ectx.ExceptSchemaMismatch("inputSchema", role, column, expected, actual ?? "unknown");

    /// <summary>An ML.NET "invalid parameter" error.</summary>
    public static Exception ParameterError(IExceptionContext ectx, string parameter, string message) => ectx.ExceptParam(parameter, message);

    /// <summary>Looks a column up in a schema shape (the estimator side of schema validation).</summary>
    public static bool TryFindColumn(SchemaShape shape, string name, out SchemaShape.Column column) => shape.TryFindColumn(name, out column);

    /// <summary>Type description of a schema-shape column, as ML.NET prints it in schema errors.</summary>
    public static string TypeString(SchemaShape.Column column) => column.GetTypeString();

    /// <summary>The schema shape of a schema, as ML.NET derives it (its factory is internal).</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) => SchemaShape.Create(schema);

    /// <summary>
    /// The transformers whose Transform produced <paramref name="data"/>, nearest first: walks back through row-to-row
    /// transforms, other data transforms and cache checkpoints. Inside <c>EstimatorChain.Fit</c> an estimator's input is
    /// the output of the previous fitted transformer, so this is how a component finds the model it continues from.
    /// </summary>
    public static IEnumerable<ITransformer> UpstreamTransformers(IDataView data)
    {
        for (IDataView? view = data; view is not null;)
        {
            switch (view)
            {
                case RowToRowMapperTransform mapped:
                    if (mapped._mapper is RowToRowTransformerBase.MapperBase mapper && mapper.GetTransformer() is { } transformer) yield return transformer;
                    view = mapped.Source;
                    break;
                case IDataTransform transform:
                    view = transform.Source;
                    break;
                case CacheDataView cache:
                    view = cache._subsetInput;
                    break;
                default:
                    view = null;
                    break;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="column"/> is missing from <paramref name="data"/> because a cache checkpoint between the two dropped
    /// it (ML.NET's cache keeps only cacheable column types, and images are not), although the data before the cache has it.
    /// </summary>
    public static bool DroppedByCache(IDataView data, string column)
    {
        bool sawCache = false;
        for (IDataView? view = data; view is not null;)
        {
            if (sawCache && view.Schema.GetColumnOrNull(column) is not null) return true;
            switch (view)
            {
                case CacheDataView cache:
                    sawCache = true;
                    view = cache._subsetInput;
                    break;
                case IDataTransform transform:
                    view = transform.Source;
                    break;
                default:
                    view = null;
                    break;
            }
        }
        return false;
    }

    /// <summary>
    /// The input column (file paths) of the <c>LoadImages</c> transform upstream of <paramref name="data"/> that produced
    /// <paramref name="imageColumn"/>, or null. ML.NET keeps a one-to-one transform's column pairs non-public.
    /// </summary>
    public static string? ImageLoaderSource(IDataView data, string imageColumn)
    {
        var pairsField = typeof(OneToOneTransformerBase).GetField("ColumnPairs",
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance);
        foreach (var loader in UpstreamTransformers(data).OfType<Microsoft.ML.Data.ImageLoadingTransformer>())
        {
            if (pairsField?.GetValue(loader) is (string Output, string Input)[] pairs && pairs.FirstOrDefault(p => p.Output == imageColumn) is { Input: { } input })
                return input;
        }
        return null;
    }

    /// <summary>An ML.NET schema error (ArgumentOutOfRangeException) with a message of ours.</summary>
    public static Exception SchemaError(IExceptionContext ectx, string message) => ectx.ExceptParam("inputSchema", message);

    /// <summary>An ML.NET error (InvalidOperationException) attributed to <paramref name="ectx"/>.</summary>
    public static Exception Error(IExceptionContext ectx, string message) => ectx.Except(message);

    /// <summary>An ML.NET error wrapping <paramref name="inner"/>.</summary>
    public static Exception Error(IExceptionContext ectx, Exception inner, string message) => ectx.Except(inner, message);
}
