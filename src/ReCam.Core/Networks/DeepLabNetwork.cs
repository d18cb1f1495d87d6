using System.Globalization;
using ReCam.Imaging;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>The DeepLab head.</summary>
public enum DeepLabVariant
{
    /// <summary>DeepLab-v2 (the paper's): ASPP of four dilated 3×3 convolutions straight to the logits, summed.</summary>
    V2,

    /// <summary>DeepLab-v3: ASPP with a 1×1 branch and image pooling, batch norms, a 3×3 convolution and a 1×1 classifier.</summary>
    V3,

    /// <summary>DeepLab-v3+: v3's ASPP and a decoder that joins it with layer1's stride-4 features before the classifier.</summary>
    V3Plus,
}

/// <summary>
/// A DeepLab architecture: head variant, output stride of the dilated backbone, and the ASPP's dilation rates. The default,
/// DeepLab-v3 at output stride 16, measured best here: on 600 generated scenes of 160 px (ground-truth masks, 4 epochs) v3
/// reached 44.8 val mIoU where v2 reached 13.6 at the highest rate it trains at without diverging (its head adds four
/// unnormalised convolutions of the bundled ResNet-18's large features); output stride 8 costs 2.8 times the training time.
/// v3+ gained 4 points over v3 on ground-truth masks but lost 2 to 2.5 on pseudo masks, whose boundary errors its decoder
/// learns (README, "DeepLab").
/// </summary>
/// <param name="Variant">Head.</param>
/// <param name="OutputStride">8 (the paper's) or 16 (four times fewer backbone operations in layer3 and layer4).</param>
public sealed record DeepLabShape(DeepLabVariant Variant = DeepLabVariant.V3, int OutputStride = 16)
{
    /// <summary>
    /// The ASPP rates: v2 (6, 12, 18, 24) at output stride 8 (the reference config); v3 (12, 24, 36) at 8 and (6, 12, 18)
    /// at 16 (torchvision); v2 at 16 halves its rates so they cover the same image area.
    /// </summary>
    public IReadOnlyList<int> Rates => (Variant, OutputStride) switch
    {
        (DeepLabVariant.V2, 8) => [6, 12, 18, 24],
        (DeepLabVariant.V2, _) => [3, 6, 9, 12],
        (_, 8) => [12, 24, 36],
        _ => [6, 12, 18],
    };

    /// <summary>Parses "v2"/"v3"/"v3+" and "8"/"16" (as saved in checkpoints and given on the command line).</summary>
    /// <exception cref="ArgumentException">An unknown variant or stride, named.</exception>
    public static DeepLabShape Parse(string variant, string outputStride)
    {
        var v = variant.Trim().ToLowerInvariant() switch
        {
            "v2" => DeepLabVariant.V2,
            "v3" => DeepLabVariant.V3,
            "v3+" or "v3plus" => DeepLabVariant.V3Plus,
            _ => throw new ArgumentException($"Unknown DeepLab variant '{variant}'; use v2, v3 or v3+."),
        };
        if (!int.TryParse(outputStride, NumberStyles.Integer, CultureInfo.InvariantCulture, out int os) || os is not (8 or 16))
            throw new ArgumentException($"DeepLab output stride must be 8 or 16 (got '{outputStride}').");
        return new DeepLabShape(v, os);
    }

    /// <summary>"v2"/"v3"/"v3+".</summary>
    public string VariantName => Variant switch { DeepLabVariant.V2 => "v2", DeepLabVariant.V3 => "v3", _ => "v3+" };

    /// <summary>The stride of the logits: layer1's 4 for v3+ (its decoder), else the output stride.</summary>
    public int LogitStride => Variant == DeepLabVariant.V3Plus ? 4 : OutputStride;
}

/// <summary>
/// DeepLab for semantic segmentation: a dilated torchvision-layout ResNet (<c>backbone.*</c>, frozen batch norms as the
/// reference trains it) and an ASPP head, DeepLab-v2's (<c>aspp.c0</c> ... as kazuto1011/deeplab-pytorch names it) or
/// DeepLab-v3's (<c>classifier.0.convs.0.0</c> ... <c>classifier.4</c>, torchvision's <c>DeepLabHead</c> names, so a
/// torchvision <c>deeplabv3_resnet50</c> state dict maps by name), or DeepLab-v3+'s (<c>classifier.project.0</c>,
/// <c>classifier.aspp.convs.0.0</c>, <c>classifier.classifier.0</c> ...). Outputs logits of background + C classes at
/// <see cref="DeepLabShape.LogitStride"/>; callers upsample them.
/// </summary>
public sealed class DeepLabNetwork : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // PyTorch module names
    private readonly ResNet backbone;
    private readonly AsppV2? aspp;
    private readonly nn.Module? classifier; // v3: a Sequential (torchvision's DeepLabHead); v3+: DeepLabV3PlusHead
#pragma warning restore IDE1006

    private DeepLabNetwork(BackboneSpec spec, ResNet backbone, DeepLabShape shape, int labelCount) : base(nameof(DeepLabNetwork))
    {
        if (labelCount < 2) throw new ArgumentOutOfRangeException(nameof(labelCount), labelCount, "A segmenter needs background and at least one class.");
        Spec = spec;
        Shape = shape;
        LabelCount = labelCount;
        this.backbone = backbone;
        lock (GlobalGenerator.Gate)
        {
            if (shape.Variant == DeepLabVariant.V2) aspp = new AsppV2(backbone.OutputChannels, labelCount, shape.Rates);
            else if (shape.Variant == DeepLabVariant.V3Plus) classifier = new DeepLabV3PlusHead(backbone.OutputChannels, backbone.Layer1Channels, labelCount, shape.Rates);
            else
                classifier = nn.Sequential(
                    ("0", new AsppV3(backbone.OutputChannels, shape.Rates)),
                    ("1", nn.Conv2d(AsppV3.Channels, AsppV3.Channels, 3, padding: 1, bias: false)),
                    ("2", DeepLabLayers.BatchNorm(AsppV3.Channels)), ("3", nn.ReLU()),
                    ("4", nn.Conv2d(AsppV3.Channels, labelCount, 1, bias: true)));
        }
        RegisterComponents();
        // The reference freezes batch normalisation in the backbone entirely (statistics and affine parameters).
        foreach (var (_, module) in backbone.named_modules())
            if (module is FixedBatchNorm2d bn)
                foreach (var p in bn.parameters()) p.requires_grad = false;
    }

    /// <summary>
    /// A DeepLab on <paramref name="spec"/>'s ImageNet backbone (from <paramref name="weightsPath"/>, else the bundled weights),
    /// its head drawn from torch's global generator seeded with <paramref name="seed"/> (restored afterwards).
    /// </summary>
    /// <param name="spec">Backbone.</param>
    /// <param name="weightsPath">Backbone weights (.onnx or .pth), or null for the bundled ones.</param>
    /// <param name="shape">Head and output stride.</param>
    /// <param name="labelCount">Background + C classes.</param>
    /// <param name="seed">Seed of the head's initial weights.</param>
    public static (DeepLabNetwork Network, string WeightsSource) Create(BackboneSpec spec, string? weightsPath, DeepLabShape shape, int labelCount, int seed)
    {
        Platform.TorchNativeLoader.ThrowIfUnloadable();
        return GlobalGenerator.Seeded(seed, () =>
        {
            var (resnet, source) = BackboneCatalog.Create(spec, weightsPath, shape.OutputStride);
            return (new DeepLabNetwork(spec, resnet, shape, labelCount), source);
        });
    }

    /// <summary>
    /// Copies <paramref name="source"/>'s weights into the backbone: the backbone of a classifier of the same architecture (a
    /// dilated network has the same weights).
    /// </summary>
    /// <exception cref="ArgumentException">The architectures differ.</exception>
    public void LoadBackbone(ResNet source) => backbone.CopyWeightsFrom(source);

    /// <summary>
    /// A DeepLab whose backbone starts from a classifier's backbone held in memory (<paramref name="loadBackbone"/> receives the
    /// new network and copies it in, for example with <see cref="LoadBackbone"/>), its head drawn as in
    /// <see cref="Create(BackboneSpec, string?, DeepLabShape, int, int)"/>. The bundled weights are not read, since they would be
    /// overwritten.
    /// </summary>
    /// <exception cref="ArgumentException">The classifier's architecture differs (from <see cref="LoadBackbone"/>).</exception>
    public static DeepLabNetwork CreateFromClassifier(BackboneSpec spec, Action<DeepLabNetwork> loadBackbone, DeepLabShape shape, int labelCount, int seed)
    {
        ArgumentNullException.ThrowIfNull(loadBackbone);
        Platform.TorchNativeLoader.ThrowIfUnloadable();
        var network = GlobalGenerator.Seeded(seed, () =>
            new DeepLabNetwork(spec, BackboneCatalog.Create(spec, null, shape.OutputStride, bundled: false).Network, shape, labelCount));
        try
        {
            loadBackbone(network);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>An untrained network of this shape, to load a checkpoint into.</summary>
    public static DeepLabNetwork Empty(BackboneSpec spec, DeepLabShape shape, int labelCount)
    {
        Platform.TorchNativeLoader.ThrowIfUnloadable();
        return new DeepLabNetwork(spec, ResNet.Dilated(spec.Block, spec.Layers, shape.OutputStride), shape, labelCount);
    }

    /// <summary>The backbone: architecture and input convention.</summary>
    public BackboneSpec Spec { get; }

    /// <summary>Head and output stride.</summary>
    public DeepLabShape Shape { get; }

    /// <summary>Background + C classes.</summary>
    public int LabelCount { get; }

    /// <summary>The backbone's trainable parameters (its convolutions; batch norms are frozen).</summary>
    public IEnumerable<Parameter> BackboneParameters() => backbone.parameters().Where(p => p.requires_grad);

    /// <summary>Restarts the random streams of training (DeepLab-v3's dropout) at <paramref name="seed"/>.</summary>
    public void ReseedTraining(long seed)
    {
        if (classifier is DeepLabV3PlusHead plus) plus.Aspp.ReseedDropout(seed);
        else if (classifier is not null) ((AsppV3)classifier.children().First()).ReseedDropout(seed);
    }

    /// <summary>The head's parameters (ASPP and classifier), trained at a higher rate.</summary>
    public IEnumerable<Parameter> HeadParameters() => aspp?.parameters() ?? classifier!.parameters();

    /// <summary>Logits (B, LabelCount, ceil(H/s), ceil(W/s)) of normalised images (B, 3, H, W) at s = <see cref="DeepLabShape.LogitStride"/>.</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        if (classifier is DeepLabV3PlusHead plus)
        {
            var (layer1, deep) = backbone.ForwardWithLayer1(images);
            return plus.call(deep, layer1).MoveToOuterDisposeScope();
        }
        var features = backbone.call(images);
        var logits = aspp is not null ? aspp.call(features) : ((Sequential)classifier!).call(features);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Logits upsampled (bilinear, corners not aligned) to the input's size: (B, LabelCount, H, W).</summary>
    public Tensor FullResolutionLogits(Tensor images)
    {
        using var scope = NewDisposeScope();
        var logits = call(images);
        return nn.functional.interpolate(logits, [images.shape[2], images.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false)
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Class probabilities of one image at its own size, averaged over <paramref name="scales"/> (each run on the image and,
    /// with <paramref name="flip"/>, its mirror): (LabelCount, H, W) row-major per plane. Scales shrink so that no side the
    /// network sees exceeds <paramref name="maxInputSide"/>.
    /// </summary>
    public float[] Probabilities(RgbImage image, IReadOnlyList<double> scales, bool flip, int maxInputSide, Device device)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (scales.Count == 0) throw new ArgumentException("At least one inference scale is needed.", nameof(scales));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Nothing changes the network during one image: its scales share one fold of the backbone's batch norms.
        using var folded = ConvBatchNorm.ReuseFoldedWeights();
        double limit = Math.Min(1.0, maxInputSide / (double)Math.Max(image.Width, image.Height));
        Tensor? sum = null;
        foreach (double s in scales)
        {
            using var step = NewDisposeScope();
            var scaled = PilResize.Rescale(image, s * limit);
            var chw = new float[3 * scaled.Width * scaled.Height];
            Spec.Normalization.ToChw(scaled.Pixels, scaled.Width * scaled.Height, chw);
            var input = tensor(chw, [1, 3, scaled.Height, scaled.Width]).to(device);
            if (flip) input = cat([input, input.flip(3)], 0);
            var logits = nn.functional.interpolate(call(input), [image.Height, image.Width], mode: InterpolationMode.Bilinear, align_corners: false);
            var p = logits.softmax(1);
            var merged = flip ? (p[0] + p[1].flip(2)) * 0.5 : p[0];
            var total = sum is null ? merged : sum + merged;
            sum = total.MoveToOuterDisposeScope();
        }
        var mean = sum! / scales.Count;
        return mean.to(CPU).contiguous().data<float>().ToArray();
    }
}
