using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// The multi-label CAM classifier: a <see cref="ResNet"/> backbone (output stride 16), global average
/// pooling and a 1x1 convolution without bias, W1 (<c>classifier.weight</c>, shape [C, D, 1, 1]).
/// Logits = W1 · GAP(F). The class activation map of class k is W1_k · F at every position.
/// The network knows which backbone it is (<see cref="Spec"/>), and so how its input must be normalised.
/// </summary>
public sealed class CamNetwork : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // PyTorch module names
    private readonly ResNet backbone;
    private readonly Conv2d classifier;
#pragma warning restore IDE1006

    /// <summary>
    /// Creates the network with a randomly initialised backbone of <paramref name="spec"/>'s shape (from torch's global
    /// generator; load weights afterwards) for <paramref name="classCount"/> classes.
    /// </summary>
    public CamNetwork(BackboneSpec spec, int classCount) : this(spec, NewBackbone(spec), classCount)
    {
    }

    private static ResNet NewBackbone(BackboneSpec spec)
    {
        Platform.TorchNativeLoader.ThrowIfUnloadable();
        return new ResNet(spec.Block, spec.Layers);
    }

    private CamNetwork(BackboneSpec spec, ResNet backbone, int classCount) : base(nameof(CamNetwork))
    {
        if (classCount < 1) throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "At least one class is needed.");
        this.backbone = backbone;
        lock (GlobalGenerator.Gate) classifier = nn.Conv2d(backbone.OutputChannels, classCount, 1, bias: false);
        ClassCount = classCount;
        Spec = spec;
        RegisterComponents();
    }

    /// <summary>
    /// A network ready to train: the backbone's initial weights from <paramref name="weightsPath"/> (<c>.onnx</c> or a
    /// PyTorch <c>.pth</c>), else the backbone's bundled weights, else random; random parts drawn from torch's global
    /// generator seeded with <paramref name="seed"/>, whose previous state is restored afterwards, so other users of the
    /// generator in the same process see no difference.
    /// </summary>
    /// <returns>The network and where its backbone weights came from (a path, or "random initialisation").</returns>
    public static (CamNetwork Network, string WeightsSource) Create(BackboneSpec spec, int classCount, string? weightsPath, int seed)
    {
        Platform.TorchNativeLoader.ThrowIfUnloadable();
        return GlobalGenerator.Seeded(seed, () =>
        {
            var (resnet, source) = BackboneCatalog.Create(spec, weightsPath);
            return (new CamNetwork(spec, resnet, classCount), source);
        });
    }

    /// <summary>The backbone this network was built as: architecture and input convention.</summary>
    public BackboneSpec Spec { get; }

    /// <summary>How images must be normalised for this network's backbone.</summary>
    public InputNormalization Normalization => Spec.Normalization;

    /// <summary>Number of foreground classes C.</summary>
    public int ClassCount { get; }

    /// <summary>The backbone.</summary>
    public ResNet Backbone => backbone;

    /// <summary>W1, the classifier weight [C, D, 1, 1].</summary>
    public Tensor ClassifierWeight => classifier.weight!;

    /// <summary>Backbone feature map F (B, D, h, w).</summary>
    public Tensor Features(Tensor images) => backbone.call(images);

    /// <summary>Multi-label logits (B, C) = W1 · GAP(F).</summary>
    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Logits(Features(images)).MoveToOuterDisposeScope();
    }

    /// <summary>Multi-label logits (B, C) = W1 · GAP(F) from features already computed.</summary>
    public Tensor Logits(Tensor features)
    {
        using var scope = NewDisposeScope();
        return classifier.call(features.mean([2L, 3L], keepdim: true)).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>Parameters trained with the backbone learning rate (all backbone parameters except the frozen stem).</summary>
    public IEnumerable<Parameter> BackboneTrainableParameters()
    {
        var stem = new HashSet<Parameter>(backbone.StemParameters(), ReferenceEqualityComparer.Instance);
        return backbone.parameters().Where(p => !stem.Contains(p));
    }

    /// <summary>Parameters of the classifier (W1).</summary>
    public IEnumerable<Parameter> ClassifierParameters() => classifier.parameters();

    /// <summary>
    /// Re-draws W1 as PyTorch's default 1x1 convolution initialisation does, uniform in ±1/√D, but from a private
    /// generator seeded with <paramref name="seed"/>: the result does not depend on the global torch generator, which
    /// other threads (or other components of the same process) may be using.
    /// </summary>
    public void InitializeClassifier(long seed)
    {
        using var generator = new Generator((ulong)seed, device: CPU);
        using var noGrad = no_grad();
        using var drawn = empty(classifier.weight!.shape, dtype: classifier.weight.dtype, device: CPU);
        double bound = 1.0 / Math.Sqrt(backbone.OutputChannels);
        drawn.uniform_(-bound, bound, generator); // not nn.init.uniform_: TorchSharp 0.107 ignores its generator argument
        classifier.weight.copy_(drawn);
    }

    /// <summary>Freezes conv1 and bn1 (requires_grad = false), as the official CAM networks do.</summary>
    public void FreezeStem()
    {
        foreach (var p in backbone.StemParameters()) p.requires_grad = false;
    }
}
