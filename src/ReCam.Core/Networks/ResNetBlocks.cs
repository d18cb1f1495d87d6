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
    private readonly long _stride, _dilation;

    /// <summary>Creates a block from <paramref name="inPlanes"/> to <paramref name="planes"/> channels.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of the first convolution.</param>
    /// <param name="dilation">Dilation (and padding) of both 3x3 convolutions; torchvision refuses dilation in basic blocks,
    /// DeepLab on a ResNet-18 needs it, and the weights do not depend on it.</param>
    public BasicBlock(long inPlanes, long planes, long stride, long dilation = 1) : base(nameof(BasicBlock))
    {
        (_stride, _dilation) = (stride, dilation);
        conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false);
        bn1 = new FixedBatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: 1, padding: dilation, dilation: dilation, bias: false);
        bn2 = new FixedBatchNorm2d(planes);
        downsample = ResNetLayers.Downsample(inPlanes, planes * Expansion, stride);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = ConvBatchNorm.Apply(conv1, bn1, x, _stride, _dilation, _dilation).relu_();
        y = y.Into(t => ConvBatchNorm.Apply(conv2, bn2, t, 1, _dilation, _dilation));
        return ResNetLayers.AddIdentity(y, x, downsample, _stride).MoveToOuterDisposeScope();
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
    private readonly long _stride, _dilation;

    /// <summary>Creates a block from <paramref name="inPlanes"/> channels with width <paramref name="planes"/>.</summary>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Width; the output has 4x as many channels.</param>
    /// <param name="stride">Stride of the 3x3 convolution.</param>
    /// <param name="dilation">Dilation (and padding) of the 3x3 convolution, as torchvision's.</param>
    public Bottleneck(long inPlanes, long planes, long stride, long dilation = 1) : base(nameof(Bottleneck))
    {
        (_stride, _dilation) = (stride, dilation);
        conv1 = nn.Conv2d(inPlanes, planes, 1, bias: false);
        bn1 = new FixedBatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false);
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
        var y = ConvBatchNorm.Apply(conv1, bn1, x, 1, 0, 1).relu_();
        y = y.Into(t => ConvBatchNorm.Apply(conv2, bn2, t, _stride, _dilation, _dilation)).relu_();
        y = y.Into(t => ConvBatchNorm.Apply(conv3, bn3, t, 1, 0, 1));
        return ResNetLayers.AddIdentity(y, x, downsample, _stride).MoveToOuterDisposeScope();
    }
}

// The forwards free each intermediate as soon as the next one exists and use torchvision's in-place ReLU and residual sum, so
// an inference pass holds about two activations at a time instead of every one of the network (the autograd graph keeps what
// backward needs by its own references, so training is unaffected). The values are those of the out-of-place operations.
internal static class ResNetLayers
{
    /// <summary>Applies <paramref name="layer"/> to <paramref name="x"/>, an intermediate the caller owns, and frees it.</summary>
    public static Tensor Into(this Tensor x, Func<Tensor, Tensor> layer)
    {
        var y = layer(x);
        x.Dispose();
        return y;
    }

    /// <summary>
    /// ReLU(<paramref name="y"/> + identity) in place of <paramref name="y"/>; identity is x or its downsampling (a 1x1 convolution
    /// of stride <paramref name="stride"/> and a batch normalisation, folded into one when no gradient is recorded).
    /// </summary>
    public static Tensor AddIdentity(Tensor y, Tensor x, Sequential? downsample, long stride)
    {
        if (downsample is null) return y.add_(x).relu_();
        var parts = downsample.children().ToArray();
        using var identity = ConvBatchNorm.Apply((Conv2d)parts[0], (FixedBatchNorm2d)parts[1], x, stride, 0, 1);
        return y.add_(identity).relu_();
    }

    public static Sequential? Downsample(long inPlanes, long outPlanes, long stride) =>
        stride == 1 && inPlanes == outPlanes
            ? null
            : nn.Sequential(
                ("0", nn.Conv2d(inPlanes, outPlanes, 1, stride: stride, bias: false)),
                ("1", (nn.Module<Tensor, Tensor>)new FixedBatchNorm2d(outPlanes)));
}
