using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>The residual block type of a ResNet.</summary>
public enum ResNetBlock
{
    /// <summary>Two 3x3 convolutions (ResNet-18/34).</summary>
    Basic,

    /// <summary>1x1, 3x3, 1x1 convolutions with expansion 4 (ResNet-50/101/152).</summary>
    Bottleneck,
}

/// <summary>
/// A torchvision-layout ResNet with the ReCAM modifications: strides (2, 2, 2, 1) so layer4 keeps
/// stride 1 and the output stride is 16; every batch norm is a <see cref="FixedBatchNorm2d"/>; no
/// average pooling or fully connected head. Module names equal torchvision's (<c>conv1</c>, <c>bn1</c>,
/// <c>layer1.0.conv1</c>, ...), so a torchvision state dict loads by name.
/// </summary>
public sealed class ResNet : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // PyTorch module names
    private readonly Conv2d conv1;
    private readonly FixedBatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
#pragma warning restore IDE1006

    /// <summary>Creates the network (randomly initialised; load weights afterwards).</summary>
    /// <param name="block">Block type.</param>
    /// <param name="layers">Blocks per stage, for example [2, 2, 2, 2] for torchvision ResNet-18.</param>
    /// <param name="lastStride">Stride of layer4: 1 for ReCAM (output stride 16), 2 for the classic ResNet.</param>
    public ResNet(ResNetBlock block, IReadOnlyList<int> layers, int lastStride = 1) : this(block, layers, lastStride, 1, 1)
    {
    }

    /// <summary>
    /// A ResNet whose last stages trade their stride for dilation, as torchvision's <c>replace_stride_with_dilation</c> (the
    /// first block of a dilated stage keeps the previous dilation): output stride 16 dilates layer4 (2); output stride 8
    /// dilates layer3 (2) and layer4 (4), DeepLab's backbone. Same module names and weights as the plain network.
    /// </summary>
    /// <param name="block">Block type.</param>
    /// <param name="layers">Blocks per stage.</param>
    /// <param name="outputStride">8 or 16.</param>
    public static ResNet Dilated(ResNetBlock block, IReadOnlyList<int> layers, int outputStride) => outputStride switch
    {
        8 => new ResNet(block, layers, 1, 2, 4),
        16 => new ResNet(block, layers, 1, 1, 2),
        _ => throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "A dilated ResNet has output stride 8 or 16."),
    };

    private ResNet(ResNetBlock block, IReadOnlyList<int> layers, int lastStride, int layer3Dilation, int layer4Dilation) : base(nameof(ResNet))
    {
        if (layers.Count != 4 || layers.Any(n => n < 1))
            throw new ArgumentException($"A ResNet needs four positive block counts, got [{string.Join(", ", layers)}].", nameof(layers));
        Block = block;
        Layers = layers.ToArray();
        int expansion = block == ResNetBlock.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;
        long inPlanes = 64;
        lock (GlobalGenerator.Gate) // the initial weights come from torch's global generator
        {
            conv1 = nn.Conv2d(3, 64, 7, stride: 2, padding: 3, bias: false);
            bn1 = new FixedBatchNorm2d(64);
            maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
            layer1 = MakeLayer(block, ref inPlanes, 64, layers[0], 1, expansion);
            layer2 = MakeLayer(block, ref inPlanes, 128, layers[1], 2, expansion);
            layer3 = MakeLayer(block, ref inPlanes, 256, layers[2], layer3Dilation > 1 ? 1 : 2, expansion, 1, layer3Dilation);
            layer4 = MakeLayer(block, ref inPlanes, 512, layers[3], layer4Dilation > 1 ? 1 : lastStride, expansion, layer3Dilation, layer4Dilation);
        }
        OutputChannels = (int)inPlanes;
        Layer1Channels = 64 * expansion;
        RegisterComponents();
    }

    /// <summary>Block type.</summary>
    public ResNetBlock Block { get; }

    /// <summary>Channels of layer1's output (stride 4): 64 for basic blocks, 256 for bottlenecks.</summary>
    public int Layer1Channels { get; }

    /// <summary>Blocks per stage.</summary>
    public IReadOnlyList<int> Layers { get; }

    /// <summary>Channels of the final feature map (512 for basic blocks, 2048 for bottlenecks).</summary>
    public int OutputChannels { get; }

    /// <summary>The stem (conv1 and bn1), which the CAM networks keep frozen.</summary>
    public IEnumerable<Parameter> StemParameters() => conv1.parameters().Concat(bn1.parameters());

    /// <summary>
    /// Copies <paramref name="source"/>'s weights and batch-norm statistics into this network: a network of the same block
    /// type and depth, plain or dilated (dilation changes no weight).
    /// </summary>
    /// <exception cref="ArgumentException">The architectures differ.</exception>
    public void CopyWeightsFrom(ResNet source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var target = state_dict();
        var state = source.state_dict();
        if (!target.Keys.Order().SequenceEqual(state.Keys.Order()) || target.Any(kv => !kv.Value.shape.SequenceEqual(state[kv.Key].shape)))
            throw new ArgumentException("The source ResNet's layers differ from this one's.", nameof(source));
        using var _ = no_grad();
        load_state_dict(state, strict: true);
    }

    /// <summary>The final feature map: (B, OutputChannels, ceil(H/16), ceil(W/16)) at output stride 16 (ceil(H/8), ... at 8).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = Stem(x);
        foreach (var layer in new[] { layer1, layer2, layer3, layer4 }) y = y.Into(input => Stage(layer, input));
        return y.MoveToOuterDisposeScope();
    }

    private Tensor Stem(Tensor x) => ConvBatchNorm.Apply(conv1, bn1, x, 2, 3, 1).relu_().Into(maxpool.call);

    // Block by block rather than Sequential's call, which would keep every block's output until the caller's scope ends.
    private static Tensor Stage(Sequential layer, Tensor x)
    {
        var y = x;
        foreach (var block in layer.children().Cast<nn.Module<Tensor, Tensor>>())
        {
            var next = block.call(y);
            if (!ReferenceEquals(y, x)) y.Dispose();
            y = next;
        }
        return y;
    }

    /// <summary>layer1's output (stride 4, DeepLab-v3+'s low-level features) and the final feature map.</summary>
    public (Tensor Layer1, Tensor Features) ForwardWithLayer1(Tensor x)
    {
        using var scope = NewDisposeScope();
        var low = Stage(layer1, Stem(x));
        var y = low;
        foreach (var layer in new[] { layer2, layer3, layer4 })
        {
            var next = Stage(layer, y);
            if (!ReferenceEquals(y, low)) y.Dispose();
            y = next;
        }
        return (low.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The outputs of the stem (after max pooling) and of the four stages, as used by boundary networks.
    /// </summary>
    public Tensor[] ForwardStages(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x1 = Stem(x);
        var x2 = Stage(layer1, x1);
        var x3 = Stage(layer2, x2);
        var x4 = Stage(layer3, x3);
        var x5 = Stage(layer4, x4);
        return new[] { x1, x2, x3, x4, x5 }.Select(t => t.MoveToOuterDisposeScope()).ToArray();
    }

    private static Sequential MakeLayer(ResNetBlock block, ref long inPlanes, long planes, int blocks, long stride, int expansion,
        long firstDilation = 1, long dilation = 1)
    {
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < blocks; i++)
        {
            long s = i == 0 ? stride : 1, d = i == 0 ? firstDilation : dilation;
            nn.Module<Tensor, Tensor> m = block == ResNetBlock.Basic
                ? new BasicBlock(inPlanes, planes, s, d)
                : new Bottleneck(inPlanes, planes, s, d);
            modules.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
            inPlanes = planes * expansion;
        }
        return nn.Sequential(modules);
    }
}
