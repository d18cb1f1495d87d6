using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// Batch normalisation frozen to its stored running statistics ("FixedBatchNorm" of the official code):
/// it always normalises with <c>running_mean</c>/<c>running_var</c>, in training and in evaluation, and
/// never updates them, while its affine <c>weight</c>/<c>bias</c> remain ordinary trainable parameters.
/// Parameter and buffer names match PyTorch's <c>BatchNorm2d</c>, so state dicts map one-to-one.
/// </summary>
internal sealed class FixedBatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;

    /// <summary>Creates the layer for <paramref name="features"/> channels, identity-initialised.</summary>
    public FixedBatchNorm2d(long features, double eps = 1e-5) : base(nameof(FixedBatchNorm2d))
    {
        _eps = eps;
        register_parameter("weight", nn.Parameter(ones(features)));
        register_parameter("bias", nn.Parameter(zeros(features)));
        register_buffer("running_mean", zeros(features));
        register_buffer("running_var", ones(features));
        register_buffer("num_batches_tracked", tensor(0L));
    }

    /// <summary>Scale (gamma).</summary>
    public Parameter Weight => get_parameter("weight")!;

    /// <summary>Shift (beta).</summary>
    public Parameter Bias => get_parameter("bias")!;

    /// <summary>Stored per-channel mean.</summary>
    public Tensor RunningMean => get_buffer("running_mean")!;

    /// <summary>Stored per-channel variance.</summary>
    public Tensor RunningVar => get_buffer("running_var")!;

    /// <summary>The epsilon added to the variance.</summary>
    public double Eps => _eps;

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        nn.functional.batch_norm(input, RunningMean, RunningVar, Weight, Bias, training: false, momentum: 0.0, eps: _eps);
}

/// <summary>
/// A convolution followed by a frozen batch normalisation, applied as one convolution when no gradient is recorded.
/// </summary>
/// <remarks>
/// The normalisation is affine per channel, so it folds into the convolution: weight · γ/√(var + ε) and bias β − mean · γ/√(var + ε).
/// Under <c>no_grad</c> (extraction, segmentation, boundary maps) that saves one pass over every activation and lets the
/// convolution add the bias in its own kernel: measured on a ResNet-18 extraction it is worth about as much as the
/// normalisation's own time. The folded weights are computed at each call from the current parameters (a few MB of
/// arithmetic against GFLOPs of convolution), so nothing is cached that training or loading could make stale. With
/// gradients on, the two layers run as written, so that γ and β receive theirs. The values agree to float rounding.
/// </remarks>
internal static class ConvBatchNorm
{
    /// <summary>bn(conv(x)) for a convolution of the given stride, padding and dilation (the same as the module's own).</summary>
    public static Tensor Apply(Conv2d conv, FixedBatchNorm2d bn, Tensor x, long stride, long padding, long dilation)
    {
        if (is_grad_enabled()) return bn.call(conv.call(x));
        using var scope = NewDisposeScope();
        // Explicit scalars, referenced until the end: an implicit one (from `+ eps`, or the alpha of 1 TorchSharp adds to every
        // addition) is unreachable while the native call runs, and its finalizer freed it mid-call once in our runs
        // ("Unknown scalar type"); this fold runs at every convolution, so it must not lean on that luck.
        using var eps = bn.Eps.ToScalar();
        using var one = 1.ToScalar();
        var scale = bn.Weight * bn.RunningVar.add(eps, one).rsqrt_();
        var weight = conv.weight! * scale.view(-1, 1, 1, 1);
        var bias = (bn.RunningMean * scale).neg_().add_(bn.Bias, one);
        return nn.functional.conv2d(x, weight, bias, strides: [stride, stride], padding: [padding, padding], dilation: [dilation, dilation])
            .MoveToOuterDisposeScope();
    }
}
