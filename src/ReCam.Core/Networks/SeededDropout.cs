using static TorchSharp.torch;

namespace ReCam.Networks;

/// <summary>
/// Dropout whose masks come from a generator of its own, not torch's process-wide one: training is then reproducible from its
/// seed, and a training step on one thread cannot disturb a seeded network construction on another (see <see cref="GlobalGenerator"/>).
/// No parameters or buffers, so state dicts are those of <c>nn.Dropout</c>.
/// </summary>
internal sealed class SeededDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _p;
    private Generator _generator = new(0);

    public SeededDropout(double p) : base(nameof(SeededDropout))
    {
        if (!(p is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        _p = p;
    }

    /// <summary>Restarts the masks' generator at <paramref name="seed"/>.</summary>
    public void Reseed(long seed)
    {
        _generator.Dispose();
        _generator = new Generator((ulong)seed);
    }

    public override Tensor forward(Tensor x)
    {
        if (!training || _p == 0) return x.alias();
        using var scope = NewDisposeScope();
        var keep = rand(x.shape, dtype: x.dtype, generator: _generator).to(x.device).ge_(_p);
        return (x * keep / (1 - _p)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _generator.Dispose();
        base.Dispose(disposing);
    }
}
