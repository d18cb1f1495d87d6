// ML.NET internal API: the model save/load contexts, the only way a third-party transformer can save state into an ML.NET
// .zip. Every ReCam component writes the same kind of header, main stream and digested weights entries.
using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Networks;

namespace ReCam.MLNet;

/// <summary>The header check every ReCam component's loader runs first, and the backbone description they save.</summary>
internal static class ModelState
{
    /// <summary>The format version from which every weights entry starts with its SHA-256 digest.</summary>
    public const uint DigestsVersion = 0x00010002;

    /// <summary>
    /// Checks the header of a saved component (signature, format version) with clear errors, and returns the reader of its
    /// main stream and entries.
    /// </summary>
    public static ModelStateReader Open(IHostEnvironment env, ModelLoadContext ctx, ModelFormat format, Type type)
    {
        Contracts.CheckValue(env, nameof(env));
        env.CheckValue(ctx, nameof(ctx));
        uint readable = ctx.Header.ModelVerReadable, written = ctx.Header.ModelVerWritten;
        var expected = format.ToVersionInfo(type);
        // Checked here rather than by ML.NET, whose message would print the damaged signature's bytes as text.
        if (ctx.Header.ModelSignature != expected.ModelSignature)
            throw ModelErrors.Create(env, $"Damaged {format.Description}: its header carries the signature 0x{ctx.Header.ModelSignature:X16} instead of {format.Signature}.");
        if (readable > format.Version)
            throw ModelErrors.Create(env, $"This {format.Description} was saved by a newer ReCam.MLNet (format version 0x{written:X8}, " +
                $"readable from 0x{readable:X8}); this ReCam.MLNet ({typeof(ModelState).Assembly.GetName().Version}) reads up to 0x{format.Version:X8}. Update ReCam.MLNet.");
        if (written < format.OldestReadable)
            throw ModelErrors.Create(env, $"This {format.Description} has format version 0x{written:X8}, older than any this ReCam.MLNet reads (0x{format.OldestReadable:X8}).");
        ctx.CheckAtModel(expected);
        return new ModelStateReader(env, ctx, written);
    }

    /// <summary>
    /// Writes a backbone: string name; <c>int32</c> block type (0 basic, 1 bottleneck); <c>int32</c> S, then S <c>int32</c> blocks
    /// per stage; the input convention: <c>bool</c> BGR, <c>float32</c> scale, 3 <c>float32</c> means, 3 <c>float32</c> stds.
    /// </summary>
    public static void WriteBackbone(BinaryWriter w, BackboneSpec backbone)
    {
        w.Write(backbone.Name);
        w.Write((int)backbone.Block);
        w.Write(backbone.Layers.Length);
        foreach (int n in backbone.Layers) w.Write(n);
        var normalization = backbone.Normalization;
        w.Write(normalization.Bgr);
        w.Write(normalization.Scale);
        for (int c = 0; c < 3; c++) w.Write(normalization.Mean[c]);
        for (int c = 0; c < 3; c++) w.Write(normalization.Std[c]);
    }

    /// <summary>Reads what <see cref="WriteBackbone"/> wrote.</summary>
    public static BackboneSpec ReadBackbone(BinaryReader r, Func<string, Exception> corrupt)
    {
        string backbone = r.ReadString();
        var block = (ResNetBlock)r.ReadInt32();
        if (!Enum.IsDefined(block)) throw corrupt($"unknown residual block type {(int)block}");
        int stages = r.ReadInt32();
        if (stages is < 1 or > 16) throw corrupt($"stage count {stages} is out of range");
        var layers = new int[stages];
        for (int i = 0; i < stages; i++) layers[i] = r.ReadInt32();
        bool bgr = r.ReadBoolean();
        float scale = r.ReadSingle();
        float[] mean = [r.ReadSingle(), r.ReadSingle(), r.ReadSingle()];
        float[] std = [r.ReadSingle(), r.ReadSingle(), r.ReadSingle()];
        return BackboneCatalog.Saved(backbone, block, layers, new InputNormalization(bgr, scale, mean, std));
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

    /// <summary>Writes a separate binary entry next to the main stream.</summary>
    public void WriteEntry(string name, Action<BinaryWriter> write) => ctx.SaveBinaryStream(name, write);

    /// <summary>Writes <paramref name="module"/>'s weights as entry <paramref name="name"/>: their SHA-256, then the weights.</summary>
    public void WriteWeights(string name, TorchSharp.torch.nn.Module module)
    {
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, System.Text.Encoding.UTF8, leaveOpen: true)) module.save(w);
        byte[] digest = System.Security.Cryptography.SHA256.HashData(payload.GetBuffer().AsSpan(0, (int)payload.Length));
        WriteEntry(name, w =>
        {
            w.Write(digest);
            w.Write(payload.GetBuffer(), 0, (int)payload.Length);
        });
    }
}

/// <summary>Reads a component's state from an ML.NET model.</summary>
internal sealed record ModelStateReader(IHostEnvironment Environment, ModelLoadContext Context, uint Version)
{
    /// <summary>A map component's description, read by <see cref="MapTransformerBase.OpenState"/> (null for other components).</summary>
    public MapModelInfo Info { get; init; } = null!;

    /// <summary>The main stream of the component.</summary>
    public BinaryReader Reader => Context.Reader;

    /// <summary>Reads a separate binary entry; a clear error if the model does not hold it.</summary>
    public void ReadEntry(string name, Action<BinaryReader> read)
    {
        if (!Context.TryLoadBinaryStream(name, read))
            throw Corrupt($"The model is incomplete: its entry '{name}' is missing (truncated or damaged file?).");
    }

    // The weights only after their digest matches: flipped bytes would otherwise load as different weights without a word.
    private BinaryReader Verified(BinaryReader r, string name, string description)
    {
        byte[] expected = r.ReadBytes(32);
        using var rest = new MemoryStream();
        r.BaseStream.CopyTo(rest);
        byte[] payload = rest.ToArray();
        if (expected.Length != 32 || !System.Security.Cryptography.SHA256.HashData(payload).AsSpan().SequenceEqual(expected))
            throw Corrupt($"Damaged {description}: the weights in entry '{name}' do not match their SHA-256 digest (the file was altered or damaged; save the model again).");
        return new BinaryReader(new MemoryStream(payload, writable: false));
    }

    /// <summary>An ML.NET "bad model data" error.</summary>
    public Exception Corrupt(string message) => ModelErrors.Create(Environment, message);

    /// <summary>Loads the TorchSharp weights of <paramref name="module"/> (strict) from entry <paramref name="name"/>; a "damaged model" error naming the entry if they do not fit.</summary>
    public void ReadWeights(string name, TorchSharp.torch.nn.Module module, string description) => ReadEntry(name, r =>
    {
        if (Version >= ModelState.DigestsVersion) r = Verified(r, name, description);
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
