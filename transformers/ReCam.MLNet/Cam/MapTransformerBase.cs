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
/// What the CAM and the ReCAM transformers share: a CAM network (backbone + W1) and the classifier weight its maps use,
/// both run under one lock; the model's description; the input binding; lazy once-per-row scoring and extraction.
/// </summary>
public abstract class MapTransformerBase : ReCamTransformerBase, IMapModel
{
    private readonly CamExtractor _extractor;
    private readonly Tensor? _ownedWeight;
    private long _scoreCount, _extractCount;

    /// <summary>
    /// Takes ownership of <paramref name="network"/>, moves it to <paramref name="device"/>. The maps use W1, or the weight
    /// <paramref name="extractionWeight"/> builds from the moved network (owned and disposed by this transformer).
    /// </summary>
    private protected MapTransformerBase(IHostEnvironment env, string registrationName, CamNetwork network, CamModelInfo info, Device device,
        Func<CamNetwork, Tensor>? extractionWeight = null)
        : base(env, registrationName)
    {
        Network = network;
        Info = info;
        ComputeDevice = device;
        network.to(device);
        network.eval();
        if (extractionWeight is not null)
        {
            using var noGrad = no_grad();
            _ownedWeight = extractionWeight(network);
        }
        _extractor = new CamExtractor(network.Backbone, _ownedWeight ?? network.ClassifierWeight, info.Normalization, device, info.Scales);
    }

    /// <summary>The class names, in class-index order; their count is C.</summary>
    public IReadOnlyList<string> ClassNames => Info.ClassNames;

    /// <summary>The backbone name (see ReCam.Networks.BackboneCatalog).</summary>
    public string Backbone => Info.BackboneName;

    /// <summary>The extraction scales.</summary>
    public IReadOnlyList<double> Scales => Info.Scales;

    /// <summary>Probability (of the classifier W1) above which a class counts as present when the input has no label column.</summary>
    public float Threshold => Info.Threshold;

    /// <summary>Name of the image column read.</summary>
    public string ImageColumnName => Info.ImageColumnName;

    /// <summary>Name of the label column, used at transform time when present in the input.</summary>
    public string LabelColumnName => Info.LabelColumnName;

    /// <summary>Names of the added columns.</summary>
    public CamColumnNames OutputColumns => Info.Columns;

    /// <summary>The device the network runs on (chosen by <see cref="MLContext.GpuDeviceId"/>).</summary>
    public string Device => ComputeDevice.ToString();

    /// <summary>The model's metadata (for components that continue from it).</summary>
    internal CamModelInfo Info { get; }

    /// <summary>Number of classifier passes and of map extractions run so far (for tests of laziness).</summary>
    internal (long Scores, long Extractions) WorkDone => (Interlocked.Read(ref _scoreCount), Interlocked.Read(ref _extractCount));

    /// <summary>The CAM network; use it under <see cref="Gate"/>.</summary>
    private protected CamNetwork Network { get; }

    private protected Device ComputeDevice { get; }

    /// <summary>Serialises every use of the native modules.</summary>
    private protected object Gate { get; } = new();

    /// <summary>Sigmoid probabilities of every class for one image (single forward pass at scale 1, classifier W1).</summary>
    internal float[] Score(RgbImage image)
    {
        lock (Gate)
        {
            ThrowIfDisposed();
            Interlocked.Increment(ref _scoreCount);
            return CamScoring.Probabilities(Network, Info.Normalization, ComputeDevice, image);
        }
    }

    /// <summary>The maps of the given classes (0-based, ascending) for one image.</summary>
    internal CamMaps Extract(RgbImage image, long[] keys)
    {
        lock (Gate)
        {
            ThrowIfDisposed();
            Interlocked.Increment(ref _extractCount);
            return _extractor.Extract(image, keys);
        }
    }

    CamModelInfo IMapModel.Info => Info;

    float[] IMapModel.Score(RgbImage image) => Score(image);

    CamMaps IMapModel.Extract(RgbImage image, long[] keys) => Extract(image, keys);

    private protected override RowBinding Bind(DataViewSchema inputSchema)
    {
        int image = CamInputs.CheckImage(ComponentHost, inputSchema, Info.ImageColumnName);
        var labelColumn = inputSchema.GetColumnOrNull(Info.LabelColumnName);
        LabelColumn? label = labelColumn is null ? null : CamInputs.CheckLabel(ComponentHost, labelColumn.Value, Info.ClassNames.Length);
        return new CamRowBinding(this, image, label);
    }

    /// <summary>Frees what a derived transformer owns besides the network (called under <see cref="Gate"/>).</summary>
    private protected virtual void DisposeOwned()
    {
    }

    private protected sealed override void DisposeCore()
    {
        lock (Gate)
        {
            _ownedWeight?.Dispose();
            DisposeOwned();
            Network.Dispose();
        }
    }
}
