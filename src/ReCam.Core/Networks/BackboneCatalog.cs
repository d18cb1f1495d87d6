using ReCam.Networks.Import;
using ReCam.Training;

namespace ReCam.Networks;

/// <summary>A named backbone: architecture, input convention and where its pretrained weights come from.</summary>
/// <param name="Name">Name used on the command line and in checkpoints.</param>
/// <param name="Block">Residual block type.</param>
/// <param name="Layers">Blocks per stage.</param>
/// <param name="Normalization">Input convention of its weights.</param>
/// <param name="BundledWeights">True if pretrained weights ship with the package (no file needed).</param>
/// <param name="Description">One line for help texts.</param>
/// <param name="CamLearningRate">Default backbone learning rate of train-cam: the official 0.1 for the torchvision shapes; 0.05 for
/// the bundled ResNet-18, whose large pooled features make the official rates (0.1, classifier 1.0) diverge in the first steps
/// (the same step in PyTorch diverges too). With <paramref name="CamWarmupSteps"/> = 18, 0.05 beat the earlier 0.01 in every
/// run of four scene sets × three seeds (README, "Learning rate of the bundled ResNet-18").</param>
/// <param name="CamClassifierRateMultiplier">The classifier's default rate as a multiple of the backbone's (official: 10).</param>
/// <param name="CamWarmupSteps">Default linear warm-up of train-cam's rates, in steps (official: none).</param>
public sealed record BackboneSpec(string Name, ResNetBlock Block, int[] Layers, InputNormalization Normalization, bool BundledWeights,
    string Description, double CamLearningRate = 0.1, double CamClassifierRateMultiplier = CamTrainingOptions.OfficialClassifierRateMultiplier,
    int CamWarmupSteps = 0);

/// <summary>The backbones ReCam knows, and how to build them with weights.</summary>
public static class BackboneCatalog
{
    /// <summary>The default backbone: the ImageNet ResNet-18 bundled via Microsoft.ML.DnnImageFeaturizer.ResNet18.</summary>
    public const string DefaultName = "resnet18-imagenet";

    /// <summary>All known backbones.</summary>
    public static IReadOnlyList<BackboneSpec> All { get; } =
    [
        new(DefaultName, ResNetBlock.Basic, [2, 2, 2, 3], InputNormalization.CntkResNet18, true,
            "ImageNet ResNet-18 (BasicBlock [2,2,2,3]) from the bundled ONNX file; BGR 0-255 input",
            CamLearningRate: 0.05, CamWarmupSteps: 18),
        new("resnet18", ResNetBlock.Basic, [2, 2, 2, 2], InputNormalization.Torchvision, false, "torchvision ResNet-18 shape; --weights FILE.pth"),
        new("resnet34", ResNetBlock.Basic, [3, 4, 6, 3], InputNormalization.Torchvision, false, "torchvision ResNet-34 shape; --weights FILE.pth"),
        new("resnet50", ResNetBlock.Bottleneck, [3, 4, 6, 3], InputNormalization.Torchvision, false, "torchvision ResNet-50 shape (the paper's); --weights FILE.pth"),
        new("resnet101", ResNetBlock.Bottleneck, [3, 4, 23, 3], InputNormalization.Torchvision, false, "torchvision ResNet-101 shape; --weights FILE.pth"),
    ];

    /// <summary>Finds a backbone by name (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static BackboneSpec Get(string name) =>
        All.FirstOrDefault(b => string.Equals(b.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown backbone '{name}'. Known: {string.Join(", ", All.Select(b => b.Name))}.", nameof(name));

    /// <summary>
    /// The backbone of a saved model: the catalog's entry of that name when the saved architecture and input convention
    /// are the catalog's, else a spec made of the saved values (a model saved by another version keeps working).
    /// </summary>
    public static BackboneSpec Saved(string name, ResNetBlock block, int[] layers, InputNormalization normalization)
    {
        var known = All.FirstOrDefault(b => b.Name == name);
        bool same = known is not null && known.Block == block && known.Layers.SequenceEqual(layers) && known.Normalization.Bgr == normalization.Bgr &&
                    known.Normalization.Scale == normalization.Scale && known.Normalization.Mean.SequenceEqual(normalization.Mean) &&
                    known.Normalization.Std.SequenceEqual(normalization.Std);
        return same ? known! : new BackboneSpec(name, block, layers, normalization, false, "as saved in a model");
    }

    /// <summary>
    /// Builds the backbone and loads its weights: from <paramref name="weightsPath"/> if given
    /// (.onnx for the CNTK ResNet-18, .ckpt for the backbone of our own CAM or ReCAM classifier, otherwise a PyTorch state
    /// dict .pth), else the bundled weights,
    /// else leaves it randomly initialised (the return value says which). With <paramref name="dilatedOutputStride"/> the
    /// network is <see cref="ResNet.Dilated"/> at that output stride (the weights are the same). With
    /// <paramref name="bundled"/> false and no path, the bundled weights are not read: for a caller that copies weights in next.
    /// </summary>
    internal static (ResNet Network, string WeightsSource) Create(BackboneSpec spec, string? weightsPath, int? dilatedOutputStride = null, bool bundled = true)
    {
        var net = dilatedOutputStride is { } os ? ResNet.Dilated(spec.Block, spec.Layers, os) : new ResNet(spec.Block, spec.Layers);
        try
        {
            if (weightsPath is not null)
            {
                if (weightsPath.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) OnnxResNet18Import.Load(net, weightsPath);
                else if (weightsPath.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase)) LoadClassifierBackbone(net, spec, weightsPath);
                else
                {
                    var state = StateDictImport.ReadPth(weightsPath);
                    try
                    {
                        StateDictImport.Load(net, state, k => StateDictImport.BackboneCandidates("backbone." + k), weightsPath);
                    }
                    finally
                    {
                        foreach (var t in state.Values) t.Dispose();
                    }
                }
                return (net, weightsPath);
            }
            if (spec.BundledWeights && bundled)
            {
                OnnxResNet18Import.Load(net);
                return (net, OnnxResNet18Import.DefaultPath);
            }
            return (net, "random initialisation");
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies the backbone of a classifier trained by train-cam or train-recam (the same layer names; a dilated network has
    /// the same weights) into <paramref name="net"/>: a segmenter can start from what the classifier learnt of these classes
    /// on these images, which needs no more supervision than the image-level labels the classifier was trained on.
    /// </summary>
    private static void LoadClassifierBackbone(ResNet net, BackboneSpec spec, string path)
    {
        var (classifier, info) = Checkpoint.LoadCamNetwork(path);
        using (classifier)
        {
            if (!string.Equals(info.Backbone, spec.Name, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException(
                    $"Checkpoint '{path}' holds a {info.Backbone} backbone, not {spec.Name}: pass --backbone {info.Backbone} or another checkpoint.");
            try
            {
                net.CopyWeightsFrom(classifier.Backbone);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"Checkpoint '{path}': {e.Message}", e);
            }
        }
    }
}
