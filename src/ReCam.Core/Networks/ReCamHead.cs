using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>How the re-activation head W2 is initialised.</summary>
public enum HeadInitialization
{
    /// <summary>PyTorch's default for a 1x1 convolution (kaiming-uniform), as the official code.</summary>
    Random,

    /// <summary>All ones: W1⊙W2 starts equal to W1.</summary>
    Ones,

    /// <summary>All zeros.</summary>
    Zeros,
}

/// <summary>
/// The re-activation head of ReCAM: a second 1x1 classifier without bias, W2 (<c>classifier.weight</c>,
/// [C, D, 1, 1], the official <c>Class_Predictor</c>), applied to class features pooled with each class's
/// soft mask, under softmax cross-entropy.
/// </summary>
public sealed class ReCamHead : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // PyTorch module names
    private readonly Conv2d classifier;
    private readonly Conv2d? background;
#pragma warning restore IDE1006

    /// <summary>Creates W2 for <paramref name="classCount"/> classes over <paramref name="channels"/> feature channels.</summary>
    /// <param name="channels">Feature channels D.</param>
    /// <param name="classCount">Classes C.</param>
    /// <param name="backgroundClass">
    /// Adds a background row (<c>background.weight</c>, [1, D, 1, 1]) to the softmax: the features pooled where no
    /// present class's mask is active are classified as background. Used in training only; extraction uses W2.
    /// </param>
    public ReCamHead(int channels, int classCount, bool backgroundClass = false) : base(Platform.TorchNativeLoader.Checked(nameof(ReCamHead)))
    {
        lock (GlobalGenerator.Gate)
        {
            classifier = nn.Conv2d(channels, classCount, 1, bias: false);
            if (backgroundClass) background = nn.Conv2d(channels, 1, 1, bias: false);
        }
        ClassCount = classCount;
        RegisterComponents();
    }

    /// <summary>Number of classes C.</summary>
    public int ClassCount { get; }

    /// <summary>Whether the softmax has a background row besides the C classes.</summary>
    public bool HasBackgroundClass => background is not null;

    /// <summary>
    /// Sets W2's starting point (and its background row's): <see cref="HeadInitialization.Random"/> draws PyTorch's default
    /// for a 1x1 convolution (uniform in ±1/√D, as the official code) from a private generator seeded with
    /// <paramref name="seed"/>, so the draw does not depend on torch's global generator, which other components of the same
    /// process may use; <see cref="HeadInitialization.Ones"/> makes W1⊙W2 start equal to W1, so product extraction starts as
    /// CAM and moves only by what the SCE term teaches W2; <see cref="HeadInitialization.Zeros"/> starts from uniform softmax
    /// logits with no random component.
    /// </summary>
    public void Initialize(HeadInitialization initialization, long seed)
    {
        using var noGrad = no_grad();
        switch (initialization)
        {
            case HeadInitialization.Ones: Weight.fill_(1); background?.weight!.fill_(1); break;
            case HeadInitialization.Zeros: Weight.zero_(); background?.weight!.zero_(); break;
            case HeadInitialization.Random: DrawUniform(seed); break;
            default: throw new ArgumentOutOfRangeException(nameof(initialization), initialization, "Unknown initialisation.");
        }
    }

    private void DrawUniform(long seed)
    {
        // The offset keeps W2's draw apart from W1's, which CamNetwork.InitializeClassifier draws with the same seed.
        using var generator = new Generator((ulong)seed + 0x2ECA, device: CPU);
        foreach (var weight in new[] { Weight, BackgroundWeight })
        {
            if (weight is null) continue;
            using var drawn = empty(weight.shape, dtype: weight.dtype, device: CPU);
            double bound = 1.0 / Math.Sqrt(weight.shape[1]);
            drawn.uniform_(-bound, bound, generator); // not nn.init.uniform_: TorchSharp 0.107 ignores its generator argument
            weight.copy_(drawn);
        }
    }

    /// <summary>A copy of this head without its background row: W2 alone, which is all extraction needs.</summary>
    public ReCamHead WithoutBackgroundClass()
    {
        var copy = new ReCamHead((int)Weight.shape[1], ClassCount);
        using var noGrad = no_grad();
        copy.Weight.copy_(Weight);
        return copy.to(Weight.device);
    }

    /// <summary>The background row [1, D, 1, 1], or null without one.</summary>
    public Tensor? BackgroundWeight => background?.weight;

    /// <summary>W2 [C, D, 1, 1].</summary>
    public Tensor Weight => classifier.weight!;

    /// <summary>
    /// Logits W2 · f for class features f (B, N, D): (B, N, C), row k = the logits of feature k; with a background
    /// row, (B, N, C + 1).
    /// </summary>
    public override Tensor forward(Tensor classFeatures)
    {
        using var scope = NewDisposeScope();
        var weight = background is null ? Weight.flatten(1) : cat([Weight.flatten(1), background.weight!.flatten(1)], 0);
        return matmul(classFeatures, weight.t()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The background feature of each image: the mean over pixels of (1 − max over its present classes of M_k)·F,
    /// (B, 1, D), computed as one batched product.
    /// </summary>
    /// <param name="masks">Soft masks (B, C, h, w) from <see cref="MaskedClassFeatures"/>.</param>
    /// <param name="features">Backbone features F (B, D, h, w).</param>
    /// <param name="labels">Multi-hot (B, C).</param>
    public static Tensor BackgroundFeatures(Tensor masks, Tensor features, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var present = (labels > 0).to(masks.dtype).unsqueeze(-1).unsqueeze(-1);
        var backgroundMask = (1 - (masks * present).amax(1)).clamp_min(0);               // (B, h, w)
        long hw = features.shape[2] * features.shape[3];
        var pooled = bmm(backgroundMask.flatten(1).unsqueeze(1), features.flatten(2).transpose(1, 2)) / hw;
        return pooled.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Soft masks and class features, as the official ReCAM code computes them: M_k = ReLU(W1_k·F) normalised by <see cref="MaxNormalization"/>
    /// (a differentiable max); f_k = mean over pixels of M_k·F, computed as one batched product
    /// (B,C,hw)×(B,hw,D)/(hw), never as a B×C×D×h×w tensor.
    /// </summary>
    /// <param name="features">Backbone features F (B, D, h, w).</param>
    /// <param name="w1">CAM classifier weight [C, D, 1, 1].</param>
    /// <returns>Masks (B, C, h, w) and class features (B, C, D).</returns>
    public static (Tensor Masks, Tensor ClassFeatures) MaskedClassFeatures(Tensor features, Tensor w1)
    {
        using var scope = NewDisposeScope();
        var masks = MaxNormalization.Apply(nn.functional.relu(nn.functional.conv2d(features, w1)));
        long hw = features.shape[2] * features.shape[3];
        var classFeatures = bmm(masks.flatten(2), features.flatten(2).transpose(1, 2)) / hw;
        return (masks.MoveToOuterDisposeScope(), classFeatures.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The softmax cross-entropy term: for each image, the mean over its present classes k of CE(W2·f_k, k)
    /// (softmax over all C classes); summed over images and divided by the batch size (images without a
    /// label contribute 0). Also returns the accuracy of argmax(W2·f_k) = k over all present pairs.
    /// </summary>
    /// <param name="classFeatures">(B, C, D).</param>
    /// <param name="labels">Multi-hot (B, C).</param>
    /// <param name="backgroundFeatures">
    /// With a background row: (B, 1, D) from <see cref="BackgroundFeatures"/>; each image's background feature
    /// counts as one more present pair with target C.
    /// </param>
    public (Tensor Loss, double Accuracy) Loss(Tensor classFeatures, Tensor labels, Tensor? backgroundFeatures = null)
    {
        using var scope = NewDisposeScope();
        if (HasBackgroundClass != backgroundFeatures is not null)
            throw new ArgumentException(HasBackgroundClass ? "This head has a background row: pass the background features." : "This head has no background row.", nameof(backgroundFeatures));
        if (backgroundFeatures is not null)
        {
            classFeatures = cat([classFeatures, backgroundFeatures], 1);
            labels = cat([labels, ones(labels.shape[0], 1, dtype: labels.dtype, device: labels.device)], 1);
        }
        long batch = classFeatures.shape[0], classes = classFeatures.shape[1];
        var logits = forward(classFeatures);                                    // (B, C, C)
        var target = arange(classes, device: logits.device).expand(batch, classes);
        var ce = nn.functional.cross_entropy(logits.reshape(batch * classes, classes), target.reshape(-1), reduction: nn.Reduction.None)
            .reshape(batch, classes);
        var present = (labels > 0).to(ce.dtype);
        var perImage = (ce * present).sum(1) / present.sum(1).clamp_min(1);
        var loss = perImage.sum() / batch;
        var correct = ((logits.argmax(2) == target).to(ce.dtype) * present).sum().item<float>();
        double pairs = present.sum().item<float>();
        return (loss.MoveToOuterDisposeScope(), pairs > 0 ? correct / pairs : double.NaN);
    }
}
