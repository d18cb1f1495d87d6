using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>torchvision's BasicBlock (two 3x3 convolutions), stride on the first convolution.</summary>
internal sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>Channel expansion of the block's output relative to its width.</summary>
    public const int Expansion = 1;

#pragma warning disable IDE1006 // PyTorch module names
    private readonly Conv2d conv1;
    private readonly FixedBatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly FixedBatchNorm2d bn2;
    private readonly Sequential? downsample;
#pragma warning restore IDE1006

    /// <summary>Creates a block from <paramref name="inPlanes"/> to <paramref name="planes"/> channels.</summary>
    public BasicBlock(long inPlanes, long planes, long stride) : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: false);
        bn1 = new FixedBatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: false);
        bn2 = new FixedBatchNorm2d(planes);
        downsample = ResNetLayers.Downsample(inPlanes, planes * Expansion, stride);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(bn1.call(conv1.call(x)));
        y = bn2.call(conv2.call(y));
        var identity = downsample is null ? x : downsample.call(x);
        return nn.functional.relu(y + identity).MoveToOuterDisposeScope();
    }
}

/// <summary>torchvision's Bottleneck (1x1, 3x3, 1x1), stride on the 3x3 convolution, expansion 4.</summary>
internal sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    /// <summary>Channel expansion of the block's output relative to its width.</summary>
    public const int Expansion = 4;

#pragma warning disable IDE1006 // PyTorch module names
    private readonly Conv2d conv1;
    private readonly FixedBatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly FixedBatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly FixedBatchNorm2d bn3;
    private readonly Sequential? downsample;
#pragma warning restore IDE1006

    /// <summary>Creates a block from <paramref name="inPlanes"/> channels with width <paramref name="planes"/>.</summary>
    public Bottleneck(long inPlanes, long planes, long stride) : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(inPlanes, planes, 1, bias: false);
        bn1 = new FixedBatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        bn2 = new FixedBatchNorm2d(planes);
        conv3 = nn.Conv2d(planes, planes * Expansion, 1, bias: false);
        bn3 = new FixedBatchNorm2d(planes * Expansion);
        downsample = ResNetLayers.Downsample(inPlanes, planes * Expansion, stride);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(bn1.call(conv1.call(x)));
        y = nn.functional.relu(bn2.call(conv2.call(y)));
        y = bn3.call(conv3.call(y));
        var identity = downsample is null ? x : downsample.call(x);
        return nn.functional.relu(y + identity).MoveToOuterDisposeScope();
    }
}

internal static class ResNetLayers
{
    public static Sequential? Downsample(long inPlanes, long outPlanes, long stride) =>
        stride == 1 && inPlanes == outPlanes
            ? null
            : nn.Sequential(
                ("0", nn.Conv2d(inPlanes, outPlanes, 1, stride: stride, bias: false)),
                ("1", (nn.Module<Tensor, Tensor>)new FixedBatchNorm2d(outPlanes)));
}
