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
/// A re-activated CAM model (ReCAM) as an ML.NET transformer: adds ReCAM maps to each row, with the same column layout as
/// <see cref="ClassActivationMapTransformer"/> (see <see cref="CamColumnNames"/>; default base name <c>ReCam</c>, so both can
/// sit side by side in one pipeline). The maps use the classifier weight chosen by <see cref="Combination"/> (W1 ⊙ W2 by
/// default, as the official VOC make_recam); the present classes come from the label column when the input has it, otherwise
/// from the re-activated classifier W1 (probability above <see cref="Threshold"/>). Lazy, once per row; saves into ML.NET
/// <c>.zip</c> models and loads in any process without registration. Dispose it to free native memory.
/// </summary>
public sealed class ReactivatedClassActivationMapTransformer : ReCamTransformerBase, IMapModel
{
    internal const string LoaderSignature = "ReCamReactivatedMap";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMREC", 0x00010001, 0x00010001, LoaderSignature, "ReCam re-activated class activation map model");

    internal const string WeightsEntry = "TorchWeights";
    internal const string HeadEntry = "ReCamHeadWeights";

    private readonly CamNetwork _network;
    private readonly ReCamHead _head;
    private readonly Tensor _weight;
    private readonly CamExtractor _extractor;
    private readonly CamModelInfo _info;
    private readonly WeightCombination _combination;
    private readonly Device _device;
    private readonly object _gate = new();
    private long _scoreCount, _extractCount;

    /// <summary>Takes ownership of <paramref name="network"/> and <paramref name="head"/>.</summary>
    internal ReactivatedClassActivationMapTransformer(IHostEnvironment env, CamNetwork network, ReCamHead head, CamModelInfo info,
        WeightCombination combination, Device device)
        : base(env, nameof(ReactivatedClassActivationMapTransformer))
    {
        _network = network;
        _head = head;
        _info = info;
        _combination = combination;
        _device = device;
        _network.to(device);
        _head.to(device);
        _network.eval();
        _head.eval();
        using (no_grad()) _weight = WeightCombinations.Combine(_network.ClassifierWeight, _head.Weight, combination);
        _extractor = new CamExtractor(_network.Backbone, _weight, info.Normalization, device, info.Scales);
    }

    /// <summary>The class names, in class-index order; their count is C.</summary>
    public IReadOnlyList<string> ClassNames => _info.ClassNames;

    /// <summary>The backbone name (see ReCam.Networks.BackboneCatalog).</summary>
    public string Backbone => _info.BackboneName;

    /// <summary>The classifier weight the maps are computed with.</summary>
    public WeightCombination Combination => _combination;

    /// <summary>The extraction scales.</summary>
    public IReadOnlyList<double> Scales => _info.Scales;

    /// <summary>Probability (of the re-activated classifier W1) above which a class counts as present when the input has no label column.</summary>
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
        writer.Writer.Write((int)_combination);
        lock (_gate)
        {
            writer.WriteEntry(WeightsEntry, w => _network.save(w));
            writer.WriteEntry(HeadEntry, w => _head.save(w));
        }
    }

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static ReactivatedClassActivationMapTransformer Load(ModelStateReader reader)
    {
        var env = reader.Environment;
        var info = CamModelInfo.Read(reader.Reader, m => reader.Corrupt($"Damaged {ModelFormat.Description}: {m}."));
        var combination = (WeightCombination)reader.Reader.ReadInt32();
        if (!Enum.IsDefined(combination)) throw reader.Corrupt($"Damaged {ModelFormat.Description}: unknown weight combination {(int)combination}.");
        using var ch = env.Start("Loading " + ModelFormat.Description);
        var device = MLNetBridge.SelectDevice(env, ch);
        var network = new CamNetwork(new ResNet(info.Block, info.Layers), info.ClassNames.Length);
        var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount);
        try
        {
            reader.ReadWeights(WeightsEntry, network, ModelFormat.Description);
            reader.ReadWeights(HeadEntry, head, ModelFormat.Description);
            return new ReactivatedClassActivationMapTransformer(env, network, head, info, combination, device);
        }
        catch
        {
            network.Dispose();
            head.Dispose();
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
        lock (_gate)
        {
            _weight.Dispose();
            _head.Dispose();
            _network.Dispose();
        }
    }

    /// <summary>Number of classifier passes and of map extractions run so far (for tests of laziness).</summary>
    internal (long Scores, long Extractions) WorkDone => (Interlocked.Read(ref _scoreCount), Interlocked.Read(ref _extractCount));

    /// <summary>The model's metadata.</summary>
    internal CamModelInfo Info => _info;

    CamModelInfo IMapModel.Info => _info;

    float[] IMapModel.Score(RgbImage image)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            Interlocked.Increment(ref _scoreCount);
            return CamScoring.Probabilities(_network, _info.Normalization, _device, image);
        }
    }

    CamMaps IMapModel.Extract(RgbImage image, long[] keys)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            Interlocked.Increment(ref _extractCount);
            return _extractor.Extract(image, keys);
        }
    }
}
