using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.IO;
using ReCam.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// A fitted CAM classifier as an ML.NET transformer: adds the class activation maps of each row's image (see
/// <see cref="CamColumnNames"/> for the columns). The present classes come from the label column when the input has it,
/// otherwise from the classifier (probability above <see cref="Threshold"/>). Work is lazy: the network runs when a cursor
/// reaches a row and an output of that row is read, once per row for all outputs. Saves into ML.NET <c>.zip</c> models;
/// <see cref="MLContext.Model"/>.Load restores it in any process without registration. Dispose it to free native memory.
/// </summary>
public sealed class ClassActivationMapTransformer : ReCamTransformerBase, IMapModel
{
    internal const string LoaderSignature = "ReCamClassActivationMap";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMCAM", 0x00010001, 0x00010001, LoaderSignature, "ReCam class activation map model");

    internal const string WeightsEntry = "TorchWeights";

    private readonly CamNetwork _network;
    private readonly CamExtractor _extractor;
    private readonly CamModelInfo _info;
    private readonly Device _device;
    private readonly object _gate = new();
    private long _scoreCount, _extractCount;

    internal ClassActivationMapTransformer(IHostEnvironment env, CamNetwork network, CamModelInfo info, Device device)
        : base(env, nameof(ClassActivationMapTransformer))
    {
        _network = network;
        _info = info;
        _device = device;
        _network.to(device);
        _network.eval();
        _extractor = new CamExtractor(_network.Backbone, _network.ClassifierWeight, info.Normalization, device, info.Scales);
    }

    /// <summary>The class names, in class-index order; their count is C.</summary>
    public IReadOnlyList<string> ClassNames => _info.ClassNames;

    /// <summary>The backbone name (see ReCam.Networks.BackboneCatalog).</summary>
    public string Backbone => _info.BackboneName;

    /// <summary>The extraction scales.</summary>
    public IReadOnlyList<double> Scales => _info.Scales;

    /// <summary>Probability above which a class counts as present when the input has no label column.</summary>
    public float Threshold => _info.Threshold;

    /// <summary>Name of the image column read.</summary>
    public string ImageColumnName => _info.ImageColumnName;

    /// <summary>Name of the label column, used at transform time when present in the input.</summary>
    public string LabelColumnName => _info.LabelColumnName;

    /// <summary>Names of the added columns.</summary>
    public CamColumnNames OutputColumns => _info.Columns;

    /// <summary>The device the network runs on (chosen by <see cref="MLContext.GpuDeviceId"/>).</summary>
    public string Device => _device.ToString();

    private protected override ModelFormat Format => ModelFormat;

    private protected override void SaveState(ModelStateWriter writer)
    {
        _info.Write(writer.Writer);
        lock (_gate) writer.WriteEntry(WeightsEntry, w => _network.save(w));
    }

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static ClassActivationMapTransformer Load(ModelStateReader reader)
    {
        var env = reader.Environment;
        var info = CamModelInfo.Read(reader.Reader, m => reader.Corrupt($"Damaged {ModelFormat.Description}: {m}."));
        using var ch = env.Start("Loading " + ModelFormat.Description);
        var device = MLNetBridge.SelectDevice(env, ch);
        var network = new CamNetwork(new ResNet(info.Block, info.Layers), info.ClassNames.Length);
        try
        {
            reader.ReadWeights(WeightsEntry, network, ModelFormat.Description);
            return new ClassActivationMapTransformer(env, network, info, device);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private protected override RowBinding Bind(DataViewSchema inputSchema)
    {
        int image = CamInputs.CheckImage(ComponentHost, inputSchema, _info.ImageColumnName);
        var labelColumn = inputSchema.GetColumnOrNull(_info.LabelColumnName);
        LabelColumn? label = labelColumn is null ? null : CamInputs.CheckLabel(ComponentHost, labelColumn.Value, _info.ClassNames.Length);
        return new CamRowBinding(this, image, label);
    }

    private protected override void DisposeCore()
    {
        lock (_gate) _network.Dispose();
    }

    /// <summary>Number of classifier passes and of map extractions run so far (for tests of laziness).</summary>
    internal (long Scores, long Extractions) WorkDone => (Interlocked.Read(ref _scoreCount), Interlocked.Read(ref _extractCount));

    /// <summary>Sigmoid probabilities of every class for one image (single forward pass at scale 1).</summary>
    internal float[] Score(RgbImage image)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            Interlocked.Increment(ref _scoreCount);
            return CamScoring.Probabilities(_network, _info.Normalization, _device, image);
        }
    }

    /// <summary>The maps of the given classes (0-based, ascending) for one image.</summary>
    internal CamMaps Extract(RgbImage image, long[] keys)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            Interlocked.Increment(ref _extractCount);
            return _extractor.Extract(image, keys);
        }
    }

    /// <summary>The fitted model's metadata (for components that continue from it).</summary>
    internal CamModelInfo Info => _info;

    CamModelInfo IMapModel.Info => _info;

    float[] IMapModel.Score(RgbImage image) => Score(image);

    CamMaps IMapModel.Extract(RgbImage image, long[] keys) => Extract(image, keys);

    /// <summary>
    /// A copy of the fitted network (backbone + W1) on the CPU, owned by the caller: components that continue from this
    /// model (the re-activation trainer) train their own copy, so each transformer disposes only what it owns.
    /// </summary>
    internal CamNetwork CloneNetwork()
    {
        var copy = new CamNetwork(new ResNet(_info.Block, _info.Layers), _info.ClassNames.Length);
        try
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                using var noGrad = no_grad();
                copy.load_state_dict(_network.state_dict(), strict: true);
            }
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }
}
