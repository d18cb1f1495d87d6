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
/// convolution add the bias in its own kernel. With gradients on, the two layers run as written, so that γ and β receive theirs.
/// The values agree to float rounding.
/// <para>
/// The folded weight is laid out like the input (channels-last input, channels-last weight): libtorch otherwise copies the
/// weight into the input's layout at every call. By default it is computed from the current parameters at each call, so
/// nothing is kept that training or loading could make stale. At small images that weight traffic can be a fifth of an
/// extraction (measured on ResNet-18 at 160 px with spinning OpenMP threads: the fold, libtorch's copy and oneDNN's own reorder
/// of every weight, at each of the four scales); code that knows the network cannot change for a while opens
/// <see cref="ReuseFoldedWeights"/> and the weights are folded once for that while.
/// </para>
/// </remarks>
internal static class ConvBatchNorm
{
    // Per thread, so that concurrent inferences (one PredictionEngine per request thread) never share an open scope.
    [ThreadStatic] private static ReuseScope? _reused;

    /// <summary>bn(conv(x)) for a convolution of the given stride, padding and dilation (the same as the module's own).</summary>
    public static Tensor Apply(Conv2d conv, FixedBatchNorm2d bn, Tensor x, long stride, long padding, long dilation)
    {
        if (is_grad_enabled()) return bn.call(conv.call(x));
        bool channelsLast = IsChannelsLast(x);
        if (_reused is { IsOpen: false }) _reused = null; // closed on another thread: forget it here too
        if (_reused is { } reused)
        {
            var (weight, bias) = reused.Get(conv, bn, channelsLast);
            return Convolve(x, weight, bias, stride, padding, dilation);
        }
        using var scope = NewDisposeScope();
        var folded = Fold(conv, bn, channelsLast);
        return Convolve(x, folded.Weight, folded.Bias, stride, padding, dilation).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Until the returned scope is disposed, convolutions on this thread fold each weight once and reuse it. Only for code that
    /// owns the network for that while and changes none of its parameters (a frozen backbone, one image's scales). Nested
    /// scopes share the outermost one.
    /// </summary>
    public static IDisposable ReuseFoldedWeights()
    {
        if (_reused is { IsOpen: true }) return NothingToRelease.Instance;
        return _reused = new ReuseScope();
    }

    private static (Tensor Weight, Tensor Bias) Fold(Conv2d conv, FixedBatchNorm2d bn, bool channelsLast)
    {
        // Explicit scalars, referenced until the end: an implicit one (from `+ eps`, or the alpha of 1 TorchSharp adds to every
        // addition) is unreachable while the native call runs, and its finalizer freed it mid-call once in our runs
        // ("Unknown scalar type"); this fold runs at every convolution, so it must not lean on that luck.
        using var eps = bn.Eps.ToScalar();
        using var one = 1.ToScalar();
        var scale = bn.Weight * bn.RunningVar.add(eps, one).rsqrt_();
        // Scaling the (out, kh, kw, in) view writes a channels-last weight in the same pass, without a second copy.
        var weight = channelsLast
            ? (conv.weight!.permute(0, 2, 3, 1) * scale.view(-1, 1, 1, 1)).permute(0, 3, 1, 2)
            : conv.weight! * scale.view(-1, 1, 1, 1);
        var bias = (bn.RunningMean * scale).neg_().add_(bn.Bias, one);
        return (weight, bias);
    }

    private static Tensor Convolve(Tensor x, Tensor weight, Tensor bias, long stride, long padding, long dilation)
    {
        if (weight.shape[2] == 1 && weight.shape[3] == 1 && padding == 0 && IsChannelsLast(x))
            return PointwiseChannelsLast(x, weight, bias, stride);
        return nn.functional.conv2d(x, weight, bias, strides: [stride, stride], padding: [padding, padding], dilation: [dilation, dilation]);
    }

    private static bool IsChannelsLast(Tensor x) => x.dim() == 4 && x.stride(1) == 1 && x.shape[1] > 1;

    /// <summary>
    /// A 1×1 convolution of a channels-last input as one matrix product over its (pixels, channels) rows. On AVX-512 CPUs
    /// libtorch 2.10's channels-last 1×1 convolution returns wrong values or dies with SIGFPE when the output has only a few
    /// pixels (ResNet downsampling and layer4 at 2×2, seen on AMD Zen with AVX-512); the product is the same arithmetic
    /// without that kernel, and its output is channels-last as well.
    /// </summary>
    private static Tensor PointwiseChannelsLast(Tensor x, Tensor weight, Tensor bias, long stride)
    {
        using var scope = NewDisposeScope();
        if (stride > 1) x = x.slice(2, 0, x.shape[2], stride).slice(3, 0, x.shape[3], stride);
        long n = x.shape[0], h = x.shape[2], w = x.shape[3], cout = weight.shape[0];
        var rows = x.permute(0, 2, 3, 1).reshape(n * h * w, x.shape[1]);
        var y = addmm(bias, rows, weight.reshape(cout, -1).t(), beta: 1, alpha: 1);
        return y.view(n, h, w, cout).permute(0, 3, 1, 2).MoveToOuterDisposeScope();
    }

    private sealed class ReuseScope : IDisposable
    {
        private readonly Dictionary<(Conv2d, bool), (Tensor Weight, Tensor Bias)> _kept = [];

        public bool IsOpen { get; private set; } = true;

        /// <summary>The fold of <paramref name="conv"/> and <paramref name="bn"/> in the given layout, computed at the first call.</summary>
        public (Tensor Weight, Tensor Bias) Get(Conv2d conv, FixedBatchNorm2d bn, bool channelsLast)
        {
            if (_kept.TryGetValue((conv, channelsLast), out var kept)) return kept;
            using var scope = NewDisposeScope();
            var (weight, bias) = Fold(conv, bn, channelsLast);
            kept = (weight.DetachFromDisposeScope(), bias.DetachFromDisposeScope());
            _kept.Add((conv, channelsLast), kept);
            return kept;
        }

        public void Dispose()
        {
            IsOpen = false;
            foreach (var (weight, bias) in _kept.Values)
            {
                weight.Dispose();
                bias.Dispose();
            }
            _kept.Clear();
            if (ReferenceEquals(_reused, this)) _reused = null;
        }
    }

    private sealed class NothingToRelease : IDisposable
    {
        public static readonly NothingToRelease Instance = new();

        public void Dispose()
        {
        }
    }
}
