using System.IO.Compression;
using System.Text.Json;
using ReCam.IO;
using ReCam.Networks;
using ReCam.Networks.Import;
using static TorchSharp.torch;

namespace ReCam.Training;

/// <summary>What a checkpoint holds besides its weights: enough to rebuild the network.</summary>
public sealed record CheckpointInfo
{
    /// <summary>Version of the checkpoint layout; readers reject newer versions.</summary>
    public int FormatVersion { get; init; } = Checkpoint.CurrentFormatVersion;

    /// <summary>Network kind: "cam" (backbone + W1) or "recam" (backbone + W1 + W2).</summary>
    public string Kind { get; init; } = "cam";

    /// <summary>Backbone name (see <see cref="BackboneCatalog"/>).</summary>
    public string Backbone { get; init; } = BackboneCatalog.DefaultName;

    /// <summary>Foreground class names; their count is C.</summary>
    public IReadOnlyList<string> Classes { get; init; } = [];

    /// <summary>Epochs completed when the checkpoint was written.</summary>
    public int Epoch { get; init; }

    /// <summary>Epochs the run was configured for.</summary>
    public int Epochs { get; init; }

    /// <summary>Where the backbone's initial weights came from.</summary>
    public string? InitialWeights { get; init; }

    /// <summary>Training options, for the record.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Checkpoint files: a zip holding <c>checkpoint.json</c> (<see cref="CheckpointInfo"/>) and
/// <c>weights.bin</c> (the TorchSharp state dict). Written atomically. Official PyTorch CAM
/// checkpoints (<c>res50_cam.pth</c>) can be read too, given the backbone and classes.
/// </summary>
public static class Checkpoint
{
    /// <summary>The layout version this code writes.</summary>
    public const int CurrentFormatVersion = 1;

    private const string InfoEntry = "checkpoint.json";

    private const string WeightsEntry = "weights.bin";
    private const string HeadEntry = "recam-head.bin";
    private const string OptimizerEntry = "optimizer.bin";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Saves <paramref name="network"/> (and, for a re-activated network, its head W2) with
    /// <paramref name="info"/> to <paramref name="path"/>.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="network">The network.</param>
    /// <param name="info">What rebuilds it.</param>
    /// <param name="head">A re-activated network's head W2.</param>
    /// <param name="optimizerState">For an epoch checkpoint: the optimiser's state, so that a resumed run continues exactly.</param>
    public static void Save(string path, nn.Module network, CheckpointInfo info, ReCamHead? head = null, byte[]? optimizerState = null)
    {
        var weights = Serialize(network);
        var headWeights = head is null ? null : Serialize(head);
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            using (var e = zip.CreateEntry(InfoEntry).Open()) JsonSerializer.Serialize(e, info, Json);
            using (var e = zip.CreateEntry(WeightsEntry, CompressionLevel.NoCompression).Open()) weights.WriteTo(e);
            if (headWeights is not null)
            {
                using var e = zip.CreateEntry(HeadEntry, CompressionLevel.NoCompression).Open();
                headWeights.WriteTo(e);
            }
            if (optimizerState is not null)
            {
                using var e = zip.CreateEntry(OptimizerEntry, CompressionLevel.NoCompression).Open();
                e.Write(optimizerState);
            }
        });
    }

    /// <summary>Loads a re-activated network: the CAM network (backbone + W1) and the head W2.</summary>
    /// <exception cref="InvalidDataException">The checkpoint holds no re-activation head (it is a plain CAM checkpoint).</exception>
    public static (CamNetwork Network, ReCamHead Head, CheckpointInfo Info) LoadReCamNetwork(string path)
    {
        var (network, info) = LoadCamNetwork(path);
        bool background = info.Options.TryGetValue(ReCamTrainingOptions.BackgroundClassKey, out string? flag) && flag == "true";
        var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount, background);
        try
        {
            using var zip = OpenZip(path);
            if (zip.GetEntry(HeadEntry) is null)
                throw new InvalidDataException($"Checkpoint '{path}' is a {info.Kind} checkpoint without a re-activation head (W2); run train-recam first.");
            LoadWeights(zip, path, head, strict: true, HeadEntry);
            return (network, head, info);
        }
        catch
        {
            network.Dispose();
            head.Dispose();
            throw;
        }
    }

    private static MemoryStream Serialize(nn.Module module)
    {
        var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) module.save(writer);
        return buffer;
    }

    /// <summary>The optimiser state saved with an epoch checkpoint, or null if it holds none (a final checkpoint, an older file).</summary>
    public static byte[]? ReadOptimizerState(string path)
    {
        using var zip = OpenZip(path);
        if (zip.GetEntry(OptimizerEntry) is not { } entry) return null;
        return CheckedZipEntry.ReadAll(entry, $"Checkpoint '{path}' ({OptimizerEntry})");
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is a whole checkpoint: readable, of a known format, every entry matching its CRC-32.
    /// </summary>
    /// <exception cref="InvalidDataException">What is wrong, naming the file.</exception>
    public static CheckpointInfo Verify(string path)
    {
        using var zip = OpenZip(path);
        var info = ReadInfo(zip, path);
        CheckedZipEntry.VerifyAll(zip, $"Checkpoint '{path}'");
        return info;
    }

    /// <summary>Reads the description of a checkpoint without loading weights.</summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, truncated, or written by a newer version.</exception>
    public static CheckpointInfo ReadInfo(string path)
    {
        using var zip = OpenZip(path);
        return ReadInfo(zip, path);
    }

    /// <summary>Loads a CAM network (backbone + W1) from a checkpoint written by train-cam or train-recam.</summary>
    public static (CamNetwork Network, CheckpointInfo Info) LoadCamNetwork(string path)
    {
        using var zip = OpenZip(path);
        var info = ReadInfo(zip, path);
        var network = new CamNetwork(BackboneCatalog.Get(info.Backbone), info.Classes.Count);
        try
        {
            LoadWeights(zip, path, network, strict: true);
            return (network, info);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Whether <paramref name="path"/> names a PyTorch state dict (<c>.pth</c> or <c>.pt</c>) rather than one of our checkpoints.</summary>
    public static bool IsPyTorchFile(string path) =>
        path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Loads the CAM network (backbone + W1) a step continues from: one of our checkpoints (cam or recam; its own backbone
    /// and classes), or a PyTorch state dict (<c>.pth</c>/<c>.pt</c>, such as the official <c>res50_cam.pth</c> with its
    /// aliased keys) read as <paramref name="pytorchBackbone"/> with <paramref name="pytorchClasses"/>.
    /// </summary>
    /// <returns>The network and its class names.</returns>
    public static (CamNetwork Network, IReadOnlyList<string> Classes) LoadAnyCamNetwork(string path, string pytorchBackbone,
        IReadOnlyList<string> pytorchClasses)
    {
        if (!IsPyTorchFile(path))
        {
            var (network, info) = LoadCamNetwork(path);
            return (network, info.Classes);
        }
        var pytorch = new CamNetwork(BackboneCatalog.Get(pytorchBackbone), pytorchClasses.Count);
        var state = StateDictImport.ReadPth(path);
        try
        {
            StateDictImport.Load(pytorch, state, StateDictImport.BackboneCandidates, path);
            return (pytorch, pytorchClasses);
        }
        catch
        {
            pytorch.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Loads a checkpoint of one kind (the refinement's and the segmentation's networks): checks the file and its kind, builds
    /// the network the checkpoint describes with <paramref name="create"/>, loads its weights and sets evaluation mode.
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="kind">The kind it must be, for example "irn".</param>
    /// <param name="what">What that kind is, for the message, for example "boundary network".</param>
    /// <param name="step">The step that writes it, for the message.</param>
    /// <param name="create">Builds the untrained network from the description; an <see cref="ArgumentException"/> (an unknown
    /// backbone or architecture) becomes an <see cref="InvalidDataException"/> naming the file.</param>
    /// <exception cref="InvalidDataException">Not a checkpoint of that kind, an unknown architecture, or weights that do not fit.</exception>
    public static (T Network, CheckpointInfo Info) LoadOfKind<T>(string path, string kind, string what, string step, Func<CheckpointInfo, T> create)
        where T : nn.Module
    {
        var info = Verify(path);
        if (info.Kind != kind)
            throw new InvalidDataException($"Checkpoint '{path}' is a {info.Kind} model, not a {what} ({kind}); run {step} or pass its models/{kind}.ckpt.");
        T network;
        try
        {
            network = create(info);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}': {e.Message}", e);
        }
        try
        {
            LoadWeights(path, network);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        network.eval();
        return (network, info);
    }

    /// <summary>Loads the weights stored in <paramref name="path"/> into <paramref name="network"/>.</summary>
    public static void LoadWeights(string path, nn.Module network, bool strict = true)
    {
        using var zip = OpenZip(path);
        ReadInfo(zip, path);
        LoadWeights(zip, path, network, strict);
    }

    private static void LoadWeights(ZipArchive zip, string path, nn.Module network, bool strict, string entryName = WeightsEntry)
    {
        var entry = zip.GetEntry(entryName) ?? throw new InvalidDataException($"Checkpoint '{path}' has no {entryName}.");
        var buffer = new MemoryStream();
        try
        {
            using (var s = CheckedZipEntry.Open(entry, $"Checkpoint '{path}' ({entryName})")) s.CopyTo(buffer);
            buffer.Position = 0;
            using var reader = new BinaryReader(buffer);
            network.load(reader, strict);
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"Checkpoint '{path}': the weights do not fit the network ({e.Message}).", e);
        }
    }

    private static ZipArchive OpenZip(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint not found: {path}", path);
        try
        {
            return ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is not a ReCam checkpoint or is truncated: {e.Message}", e);
        }
    }

    private static CheckpointInfo ReadInfo(ZipArchive zip, string path)
    {
        var entry = zip.GetEntry(InfoEntry) ?? throw new InvalidDataException($"Checkpoint '{path}' has no {InfoEntry}.");
        CheckpointInfo? info;
        try
        {
            info = JsonSerializer.Deserialize<CheckpointInfo>(CheckedZipEntry.ReadAll(entry, $"Checkpoint '{path}' ({InfoEntry})"));
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or IOException)
        {
            throw new InvalidDataException($"Checkpoint '{path}': {InfoEntry} is unreadable ({e.Message}).", e);
        }
        if (info is null || info.Classes.Count == 0) throw new InvalidDataException($"Checkpoint '{path}' names no classes.");
        if (info.FormatVersion > CurrentFormatVersion)
            throw new InvalidDataException($"Checkpoint '{path}' has format version {info.FormatVersion}; this ReCam reads up to {CurrentFormatVersion}. Update ReCam.");
        return info;
    }
}
