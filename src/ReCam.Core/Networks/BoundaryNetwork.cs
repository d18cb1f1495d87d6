using ReCam.Imaging;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// IRNet's boundary branch (the official <c>resnet50_irn.Net</c> edge layers) on a frozen ImageNet backbone: each of the
/// five backbone levels (stem after max pooling, layer1..layer4) goes through a 1×1 convolution to 32 channels, GroupNorm
/// (4 groups), bilinear upsampling to stride 4 where needed and ReLU; the concatenation (160 channels) gives one boundary
/// logit per stride-4 cell (<c>fc_edge6</c>). The displacement branch, which only serves instance masks, is left out: the
/// backbone is frozen and the branches share nothing, so it has no influence on the boundary map.
/// Module names equal the official ones (<c>fc_edge1.0.weight</c>, ...).
/// </summary>
public sealed class BoundaryNetwork : nn.Module<Tensor, Tensor>
{
    /// <summary>Channels of every level after its 1×1 convolution.</summary>
    public const int LevelChannels = 32;

#pragma warning disable IDE1006 // PyTorch module names
    private readonly ResNet backbone;
    private readonly Sequential fc_edge1, fc_edge2, fc_edge3, fc_edge4, fc_edge5;
    private readonly Conv2d fc_edge6;
#pragma warning restore IDE1006

    private BoundaryNetwork(BackboneSpec spec, ResNet backbone) : base(nameof(BoundaryNetwork))
    {
        Spec = spec;
        this.backbone = backbone;
        int expansion = backbone.OutputChannels / 512;
        lock (GlobalGenerator.Gate)
        {
            fc_edge1 = Level(64, 1);
            fc_edge2 = Level(64 * expansion, 1);
            fc_edge3 = Level(128 * expansion, 2);
            fc_edge4 = Level(256 * expansion, 4);
            fc_edge5 = Level(512 * expansion, 4);
            fc_edge6 = nn.Conv2d(5 * LevelChannels, 1, 1, bias: true);
        }
        RegisterComponents();
        foreach (var p in backbone.parameters()) p.requires_grad = false;
        backbone.eval();
    }

    private static Sequential Level(long inChannels, int upsample)
    {
        var norm = nn.GroupNorm(4, LevelChannels);
        using (no_grad())
        {
            // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised; PyTorch starts them at 1 and 0.
            norm.weight!.fill_(1);
            norm.bias!.zero_();
        }
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("0", nn.Conv2d(inChannels, LevelChannels, 1, bias: false)),
            ("1", norm),
        };
        if (upsample > 1) layers.Add(("2", nn.Upsample(scale_factor: [upsample, upsample], mode: UpsampleMode.Bilinear, align_corners: false)));
        layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.ReLU()));
        return nn.Sequential(layers);
    }

    /// <summary>
    /// A boundary network on <paramref name="spec"/>'s ImageNet backbone (from <paramref name="weightsPath"/>, else the bundled
    /// weights), its edge layers drawn from torch's global generator seeded with <paramref name="seed"/> (restored afterwards).
    /// </summary>
    public static (BoundaryNetwork Network, string WeightsSource) Create(BackboneSpec spec, string? weightsPath, int seed)
    {
        Platform.TorchNativeLoader.ThrowIfUnloadable();
        return GlobalGenerator.Seeded(seed, () =>
        {
            var (resnet, source) = BackboneCatalog.Create(spec, weightsPath);
            return (new BoundaryNetwork(spec, resnet), source);
        });
    }

    /// <summary>An untrained network of <paramref name="spec"/>'s shape, to load a checkpoint into.</summary>
    public static BoundaryNetwork Empty(BackboneSpec spec)
    {
        Platform.TorchNativeLoader.ThrowIfUnloadable();
        return new BoundaryNetwork(spec, new ResNet(spec.Block, spec.Layers));
    }

    /// <summary>The backbone: architecture and input convention.</summary>
    public BackboneSpec Spec { get; }

    /// <summary>The trainable parameters: the edge layers (the backbone is frozen).</summary>
    public IEnumerable<Parameter> EdgeParameters() =>
        new nn.Module[] { fc_edge1, fc_edge2, fc_edge3, fc_edge4, fc_edge5, fc_edge6 }.SelectMany(m => m.parameters());

    /// <summary>Boundary logits (B, 1, ceil(H/4), ceil(W/4)) of normalised images (B, 3, H, W).</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        Tensor[] x;
        using (no_grad()) x = backbone.ForwardStages(images);
        var e2 = fc_edge2.call(x[1]);
        long h = e2.shape[2], w = e2.shape[3];
        var levels = new[]
        {
            fc_edge1.call(x[0]), e2, fc_edge3.call(x[2]).narrow(2, 0, h).narrow(3, 0, w),
            fc_edge4.call(x[3]).narrow(2, 0, h).narrow(3, 0, w), fc_edge5.call(x[4]).narrow(2, 0, h).narrow(3, 0, w),
        };
        return fc_edge6.call(cat(levels, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The boundary map of one image at its own size (the official inference): B = sigmoid(½·logit(image) +
    /// ½·flip(logit(flipped image))), (ceil(H/4), ceil(W/4)) values in [0, 1], row-major.
    /// </summary>
    public float[] BoundaryMap(RgbImage image, Device device)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var chw = new float[3 * image.Width * image.Height];
        Spec.Normalization.ToChw(image.Pixels, image.Width * image.Height, chw);
        var input = tensor(chw, [1, 3, image.Height, image.Width]).to(device);
        var pair = cat([input, input.flip(3)], 0);
        var logits = call(pair);
        var b = (logits[0, 0] * 0.5 + logits[1, 0].flip(1) * 0.5).sigmoid();
        return b.to(CPU).contiguous().data<float>().ToArray();
    }
}
