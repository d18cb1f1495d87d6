using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// DeepLab-v3+'s head: DeepLab-v3's ASPP on the final features, upsampled to layer1's stride-4 grid and concatenated
/// with a 48-channel projection of layer1's output, then a 3×3 convolution and the classifier. The decoder recovers the
/// object boundaries that a stride-16 map of a small image (10×10 at 160 px) cannot draw. Module names follow the widely
/// used PyTorch port (VainF/DeepLabV3Plus-Pytorch's <c>DeepLabHeadV3Plus</c>: <c>project.0</c>, <c>aspp.convs.0.0</c>,
/// <c>classifier.0</c> ... <c>classifier.3</c>), so its state dicts map by name; the ASPP is torchvision's, whose dropout is 0.5 (the
/// port's is 0.1; dropout has no weights).
/// </summary>
internal sealed class DeepLabV3PlusHead : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Channels of the low-level projection (the paper's 48).</summary>
    public const int LowLevelChannels = 48;

#pragma warning disable IDE1006 // PyTorch module names
    private readonly Sequential project;
    private readonly AsppV3 aspp;
    private readonly Sequential classifier;
#pragma warning restore IDE1006

    public DeepLabV3PlusHead(long inChannels, long layer1Channels, long labelCount, IReadOnlyList<int> rates) : base(nameof(DeepLabV3PlusHead))
    {
        project = nn.Sequential(
            ("0", nn.Conv2d(layer1Channels, LowLevelChannels, 1, bias: false)), ("1", DeepLabLayers.BatchNorm(LowLevelChannels)), ("2", nn.ReLU()));
        aspp = new AsppV3(inChannels, rates);
        classifier = nn.Sequential(
            ("0", nn.Conv2d(LowLevelChannels + AsppV3.Channels, AsppV3.Channels, 3, padding: 1, bias: false)),
            ("1", DeepLabLayers.BatchNorm(AsppV3.Channels)), ("2", nn.ReLU()),
            ("3", nn.Conv2d(AsppV3.Channels, labelCount, 1, bias: true)));
        RegisterComponents();
    }

    /// <summary>The ASPP, whose dropout a training run reseeds.</summary>
    public AsppV3 Aspp => aspp;

    /// <summary>Logits on layer1's grid from the final features and layer1's output.</summary>
    public override Tensor forward(Tensor features, Tensor layer1)
    {
        using var scope = NewDisposeScope();
        var low = project.call(layer1);
        var context = nn.functional.interpolate(aspp.call(features), [low.shape[2], low.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
        return classifier.call(cat([low, context], 1)).MoveToOuterDisposeScope();
    }
}
