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

    /// <inheritdoc />
    public override Tensor forward(Tensor input) =>
        nn.functional.batch_norm(input, RunningMean, RunningVar, Weight, Bias, training: false, momentum: 0.0, eps: _eps);
}
