// ML.NET internal API: the row-to-row transformer and mapper bases and the model save context (the only way a third-party
// transformer can save state into an ML.NET .zip). Every ReCam transformer derives from this class.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// What every ReCam transformer shares: one TorchSharp network, owned, on the device <see cref="MLContext.GpuDeviceId"/> chose,
/// used under one lock (so prediction engines on several threads can share the transformer); saving into ML.NET <c>.zip</c>
/// models (the format's version, the model's description, then its weights); a row mapper, so it works in
/// <see cref="PredictionEngine{TSrc, TDst}"/>; and disposal of the native memory. Not meant to be derived from outside
/// ReCam.MLNet.
/// </summary>
/// <typeparam name="TNetwork">The network the transformer runs.</typeparam>
public abstract class NetworkTransformerBase<TNetwork> : RowToRowTransformerBase, IDisposable
    where TNetwork : nn.Module
{
    private readonly object _gate = new();
    private int _disposed;

    /// <summary>Takes ownership of <paramref name="network"/> and moves it to <paramref name="device"/> in evaluation mode.</summary>
    private protected NetworkTransformerBase(IHostEnvironment env, string registrationName, TNetwork network, Device device)
        : base(Contracts.CheckRef(env, nameof(env)).Register(registrationName))
    {
        (Network, ComputeDevice) = (network, device);
        network.to(device);
        network.eval();
    }

    /// <summary>The device the network runs on (chosen by <see cref="MLContext.GpuDeviceId"/>).</summary>
    public string Device => ComputeDevice.ToString();

    /// <summary>True once <see cref="Dispose()"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The network; use it under <see cref="Gate"/>.</summary>
    private protected TNetwork Network { get; }

    private protected Device ComputeDevice { get; }

    /// <summary>Serialises every use of the native modules.</summary>
    private protected object Gate => _gate;

    /// <summary>Identity and version of the saved format.</summary>
    private protected abstract ModelFormat Format { get; }

    /// <summary>Writes the model's description to the main stream (before <see cref="SaveState"/>).</summary>
    private protected abstract void WriteInfo(BinaryWriter writer);

    /// <summary>Writes the weights and whatever else follows the description (called under <see cref="Gate"/>).</summary>
    private protected abstract void SaveState(ModelStateWriter writer);

    /// <summary>The mapper bound to <paramref name="schema"/> (the transformer is not disposed).</summary>
    private protected abstract IRowMapper CreateMapper(DataViewSchema schema);

    /// <summary>Frees what a derived transformer owns besides the network (called under <see cref="Gate"/>).</summary>
    private protected virtual void DisposeOwned()
    {
    }

    /// <summary>Throws <see cref="ObjectDisposedException"/> after <see cref="Dispose()"/>.</summary>
    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    /// <summary>Runs <paramref name="use"/> on the network under <see cref="Gate"/>, unless the transformer was disposed.</summary>
    private protected T UseNetwork<T>(Func<TNetwork, T> use)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return use(Network);
        }
    }

    /// <summary>Runs <paramref name="use"/> on the network under <see cref="Gate"/>, unless the transformer was disposed.</summary>
    private protected void UseNetwork(Action<TNetwork> use)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            use(Network);
        }
    }

    /// <summary>Frees the TorchSharp network held by this transformer. Outputs cannot be computed afterwards.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            lock (_gate)
            {
                DisposeOwned();
                Network.Dispose();
            }
        }
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ThrowIfDisposed();
        Host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(Format.ToVersionInfo(GetType()));
        WriteInfo(ctx.Writer);
        lock (_gate) SaveState(new ModelStateWriter(ctx));
    }

    /// <inheritdoc />
    protected override IRowMapper MakeRowMapper(DataViewSchema schema)
    {
        ThrowIfDisposed();
        return CreateMapper(schema);
    }

    /// <summary>Creates the row mapper for a loaded transformer (the <c>SignatureLoadRowMapper</c> route).</summary>
    internal IRowMapper CreateRowMapper(DataViewSchema schema) => MakeRowMapper(schema);

    /// <summary>The device a loaded transformer runs on, as the environment chose it (before any module is built, so a missing
    /// native library fails with our message, not TorchSharp's).</summary>
    private protected static Device SelectDevice(ModelStateReader reader, ModelFormat format)
    {
        using var ch = reader.Environment.Start("Loading " + format.Description);
        return MLNetBridge.SelectDevice(reader.Environment, ch);
    }

    /// <summary>
    /// Reads each saved weight entry into its freshly built module, then builds the transformer; the modules are disposed if
    /// an entry is missing or damaged.
    /// </summary>
    private protected static T LoadWeights<T>(ModelStateReader reader, ModelFormat format, Func<T> create,
        params (string Entry, nn.Module Module)[] modules)
    {
        try
        {
            foreach (var (entry, module) in modules) reader.ReadWeights(entry, module, format.Description);
            return create();
        }
        catch
        {
            foreach (var (_, module) in modules) module.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A mapper whose getters of one row are made together (<c>CreateGetters</c>), so they can share one
    /// lazily computed result per row; saving a mapper saves its transformer.
    /// </summary>
    private protected abstract class RowMapper(NetworkTransformerBase<TNetwork> parent, DataViewSchema inputSchema)
        : MapperBase(parent.Host.Register("Mapper"), inputSchema, parent)
    {
        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action disposer) =>
            throw new NotSupportedException("ReCam mappers create all getters of a row together (CreateGetters).");

        protected override void SaveModel(ModelSaveContext ctx) => parent.SaveModel(ctx);
    }
}
