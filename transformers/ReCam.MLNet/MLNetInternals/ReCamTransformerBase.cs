// ML.NET internal API, part 2 of this folder: the row-to-row transformer and mapper bases and the model
// save/load contexts. ReCam's transformers derive from ReCamTransformerBase and see only public types.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace ReCam.MLNet;

/// <summary>
/// Base of ReCam's ML.NET transformers: a row-to-row transformer (so it works in <see cref="PredictionEngine{TSrc, TDst}"/>)
/// that saves into ML.NET <c>.zip</c> models and owns native (TorchSharp) memory, released by <see cref="Dispose()"/>.
/// Not meant to be derived from outside ReCam.MLNet.
/// </summary>
public abstract class ReCamTransformerBase : RowToRowTransformerBase, IDisposable
{
    private int _disposed;

    private protected ReCamTransformerBase(IHostEnvironment env, string registrationName)
        : base(Contracts.CheckRef(env, nameof(env)).Register(registrationName))
    {
    }

    /// <summary>The ML.NET host of this component: channels for logging, exceptions in ML.NET style.</summary>
    private protected IHost ComponentHost => Host;

    /// <summary>True once <see cref="Dispose()"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Identity and version of the saved format.</summary>
    private protected abstract ModelFormat Format { get; }

    /// <summary>Writes the component's state (after the ML.NET model header).</summary>
    private protected abstract void SaveState(ModelStateWriter writer);

    /// <summary>Validates <paramref name="inputSchema"/> and binds the transformer to it.</summary>
    private protected abstract RowBinding Bind(DataViewSchema inputSchema);

    /// <summary>Frees native memory.</summary>
    private protected abstract void DisposeCore();

    /// <summary>Throws <see cref="ObjectDisposedException"/> after <see cref="Dispose()"/>.</summary>
    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    /// <summary>Frees the TorchSharp network held by this transformer. Outputs cannot be computed afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) DisposeCore();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ThrowIfDisposed();
        Host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(Format.ToVersionInfo(GetType()));
        SaveState(new ModelStateWriter(ctx));
    }

    /// <inheritdoc />
    protected override IRowMapper MakeRowMapper(DataViewSchema schema)
    {
        ThrowIfDisposed();
        return new BoundMapper(this, schema, Bind(schema));
    }

    /// <summary>Reads the header of a saved component, with a clear error when it was written by a newer format.</summary>
    internal static ModelStateReader OpenState(IHostEnvironment env, ModelLoadContext ctx, ModelFormat format, Type type)
    {
        Contracts.CheckValue(env, nameof(env));
        env.CheckValue(ctx, nameof(ctx));
        uint readable = ctx.Header.ModelVerReadable, written = ctx.Header.ModelVerWritten;
        if (readable > format.Version)
            throw env.ExceptDecode($"This {format.Description} was saved by a newer ReCam.MLNet (format version 0x{written:X8}, " +
                $"readable from 0x{readable:X8}); this ReCam.MLNet ({typeof(ReCamTransformerBase).Assembly.GetName().Version}) reads up to 0x{format.Version:X8}. Update ReCam.MLNet.");
        ctx.CheckAtModel(format.ToVersionInfo(type));
        return new ModelStateReader(env, ctx, written);
    }

    /// <summary>Creates the row mapper for a loaded transformer (the <c>SignatureLoadRowMapper</c> route).</summary>
    internal IRowMapper CreateRowMapper(DataViewSchema schema) => MakeRowMapper(schema);

    private sealed class BoundMapper(ReCamTransformerBase parent, DataViewSchema inputSchema, RowBinding binding)
        : MapperBase(parent.Host.Register("Mapper"), inputSchema, parent)
    {
        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => binding.OutputColumns;

        public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
        {
            parent.ThrowIfDisposed();
            return binding.CreateGetters(input, activeOutput, out disposer);
        }

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer) =>
            throw new NotSupportedException("ReCam mappers create all getters of a row together (CreateGetters).");

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
        {
            var needed = binding.InputColumnsNeeded(activeOutput);
            return needed.Contains;
        }

        protected override void SaveModel(ModelSaveContext ctx) => parent.SaveModel(ctx);
    }
}

/// <summary>Identity of a saved component: its signature (8 ASCII characters), format version and loader name.</summary>
/// <param name="Signature">Model signature, at most 8 characters.</param>
/// <param name="Version">Format version written (and the newest this code reads), as 0xMMMMmmmm.</param>
/// <param name="OldestReadable">Oldest format version this code reads.</param>
/// <param name="LoaderSignature">Name the loader is registered under.</param>
/// <param name="Description">What the component is, for error messages.</param>
internal sealed record ModelFormat(string Signature, uint Version, uint OldestReadable, string LoaderSignature, string Description)
{
    public VersionInfo ToVersionInfo(Type type) => new(modelSignature: Signature, verWrittenCur: Version, verReadableCur: Version,
        verWeCanReadBack: OldestReadable, loaderSignature: LoaderSignature, loaderAssemblyName: type.Assembly.FullName);
}

/// <summary>Writes a component's state into an ML.NET model.</summary>
internal sealed class ModelStateWriter(ModelSaveContext ctx)
{
    /// <summary>The main stream of the component.</summary>
    public BinaryWriter Writer => ctx.Writer;

    /// <summary>Writes a separate binary entry (for example network weights) next to the main stream.</summary>
    public void WriteEntry(string name, Action<BinaryWriter> write) => ctx.SaveBinaryStream(name, write);
}

/// <summary>Reads a component's state from an ML.NET model.</summary>
internal sealed class ModelStateReader(IHostEnvironment env, ModelLoadContext ctx, uint version)
{
    /// <summary>The environment loading the model.</summary>
    public IHostEnvironment Environment => env;

    /// <summary>Format version the state was written with.</summary>
    public uint Version => version;

    /// <summary>The main stream of the component.</summary>
    public BinaryReader Reader => ctx.Reader;

    /// <summary>Reads a separate binary entry; a clear error if the model does not hold it.</summary>
    public void ReadEntry(string name, Action<BinaryReader> read)
    {
        if (!ctx.TryLoadBinaryStream(name, read))
            throw env.ExceptDecode($"The model is incomplete: its entry '{name}' is missing (truncated or damaged file?).");
    }

    /// <summary>An ML.NET "bad model data" error.</summary>
    public Exception Corrupt(string message) => env.ExceptDecode(message);

    /// <summary>Loads the TorchSharp weights of <paramref name="module"/> (strict) from entry <paramref name="name"/>; a "damaged model" error naming the entry if they do not fit.</summary>
    public void ReadWeights(string name, TorchSharp.torch.nn.Module module, string description) => ReadEntry(name, r =>
    {
        try
        {
            module.load(r, strict: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw Corrupt($"Damaged {description}: the weights do not load (entry '{name}': {e.Message}).");
        }
    });
}

/// <summary>A transformer bound to one input schema: its output columns and how to compute them.</summary>
internal abstract class RowBinding
{
    /// <summary>The added columns.</summary>
    public abstract DataViewSchema.DetachedColumn[] OutputColumns { get; }

    /// <summary>Indices of the input columns needed to compute the active outputs.</summary>
    public abstract HashSet<int> InputColumnsNeeded(Func<int, bool> activeOutput);

    /// <summary>Getters of the active outputs (null for inactive ones), sharing one computation per row.</summary>
    public abstract Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer);
}
