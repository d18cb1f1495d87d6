using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// DeepLab-v2's atrous spatial pyramid pooling (kazuto1011/deeplab-pytorch's <c>_ASPP</c>): parallel 3×3 convolutions with
/// bias at several dilation rates straight to the class logits, summed. Module names <c>c0</c>, <c>c1</c>, ... are the
/// reference's, initialised as it does (weights N(0, 0.01), biases 0).
/// </summary>
internal sealed class AsppV2 : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d[] _branches;

    public AsppV2(long inChannels, long classes, IReadOnlyList<int> rates) : base(nameof(AsppV2))
    {
        _branches = rates.Select(r => nn.Conv2d(inChannels, classes, 3, padding: r, dilation: r, bias: true)).ToArray();
        using (no_grad())
        {
            foreach (var conv in _branches)
            {
                nn.init.normal_(conv.weight!, 0, 0.01);
                conv.bias!.zero_();
            }
        }
        for (int i = 0; i < _branches.Length; i++) register_module($"c{i}", _branches[i]);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var sum = _branches[0].call(x);
        for (int i = 1; i < _branches.Length; i++)
        {
            using var branch = _branches[i].call(x);
            sum = sum.add_(branch);
        }
        return sum.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// DeepLab-v3's ASPP (torchvision's <c>ASPP</c>): a 1×1 branch, three dilated 3×3 branches and image pooling, each
/// convolution + batch norm + ReLU to <see cref="Channels"/>, concatenated and projected (1×1, batch norm, ReLU, dropout 0.5).
/// Module names are torchvision's (<c>convs.0.0.weight</c>, ..., <c>convs.4.1.weight</c>, <c>project.0.weight</c>).
/// </summary>
internal sealed class AsppV3 : nn.Module<Tensor, Tensor>
{
    /// <summary>Channels of every branch and of the projection (torchvision: 256).</summary>
    public const int Channels = 256;

#pragma warning disable IDE1006 // PyTorch module names
    private readonly ModuleList<Sequential> convs;
    private readonly Sequential project;
#pragma warning restore IDE1006

    public AsppV3(long inChannels, IReadOnlyList<int> rates) : base(nameof(AsppV3))
    {
        if (rates.Count != 3) throw new ArgumentException($"DeepLab-v3's ASPP takes three rates, got {rates.Count}.", nameof(rates));
        var branches = new List<Sequential> { ConvBnRelu(inChannels, 1, 1) };
        branches.AddRange(rates.Select(r => ConvBnRelu(inChannels, 3, r)));
        branches.Add(nn.Sequential(
            ("0", nn.AdaptiveAvgPool2d(1)), ("1", nn.Conv2d(inChannels, Channels, 1, bias: false)),
            ("2", DeepLabLayers.BatchNorm(Channels)), ("3", nn.ReLU())));
        convs = nn.ModuleList(branches.ToArray());
        project = nn.Sequential(
            ("0", nn.Conv2d(5 * Channels, Channels, 1, bias: false)), ("1", DeepLabLayers.BatchNorm(Channels)), ("2", nn.ReLU()),
            ("3", _dropout));
        RegisterComponents();
    }

    private readonly SeededDropout _dropout = new(0.5);

    /// <summary>Restarts the dropout masks at <paramref name="seed"/> (a training run's seed).</summary>
    public void ReseedDropout(long seed) => _dropout.Reseed(seed);

    private static Sequential ConvBnRelu(long inChannels, long kernel, int rate) => nn.Sequential(
        ("0", nn.Conv2d(inChannels, Channels, kernel, padding: kernel == 1 ? 0 : rate, dilation: rate, bias: false)),
        ("1", DeepLabLayers.BatchNorm(Channels)), ("2", nn.ReLU()));

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var outputs = new Tensor[convs.Count];
        for (int i = 0; i < convs.Count; i++) outputs[i] = convs[i].call(x);
        // The pooling branch is 1×1: spread it over the map as torchvision's ASPPPooling does.
        outputs[^1] = nn.functional.interpolate(outputs[^1], [x.shape[2], x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
        return project.call(cat(outputs, 1)).MoveToOuterDisposeScope();
    }
}

internal static class DeepLabLayers
{
    /// <summary>A trainable batch norm started at identity (PyTorch's initial values, set explicitly).</summary>
    public static BatchNorm2d BatchNorm(long channels)
    {
        var bn = nn.BatchNorm2d(channels);
        using (no_grad())
        {
            bn.weight!.fill_(1);
            bn.bias!.zero_();
            bn.running_mean!.zero_();
            bn.running_var!.fill_(1);
        }
        return bn;
    }
}
