using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReCam.Training;

/// <summary>
/// The official PolyOptimizer: SGD over parameter groups, each with its own base learning rate, the same momentum and
/// weight decay, and before every step each rate set to base · (1 − t / maxStep)^power. A group can be held still for a
/// step (rate 0), which is how train-recam's head warm-up trains W2 alone. An optional linear warm-up (not in the official
/// code) scales the first steps' rates further.
/// </summary>
internal sealed class PolyOptimizer : IDisposable
{
    private readonly SGD _sgd;
    private readonly double[] _baseRates;
    private readonly double _power;
    private readonly int _warmupSteps;

    /// <summary>
    /// Creates the optimiser; the groups keep their order (index = position in <paramref name="groups"/>); the first
    /// <paramref name="warmupSteps"/> steps ramp up linearly (see <see cref="Factor"/>).
    /// </summary>
    public PolyOptimizer(IReadOnlyList<(IEnumerable<Parameter> Parameters, double LearningRate)> groups, TrainingOptions options, int warmupSteps = 0)
    {
        _baseRates = groups.Select(g => g.LearningRate).ToArray();
        _power = options.PolyPower;
        _warmupSteps = warmupSteps;
        var sgdGroups = groups.Select(g => new SGD.ParamGroup(g.Parameters, lr: g.LearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay));
        _sgd = optim.SGD(sgdGroups, _baseRates[0], options.Momentum);
    }

    /// <summary>
    /// The poly multiplier (1 − t/maxStep)^power, clamped at 0 past the end; 1 when there is no step to count; times
    /// (t + 1)/<paramref name="warmupSteps"/> during a warm-up. A function of the step alone, so a resumed run continues the schedule.
    /// </summary>
    public static double Factor(long step, long maxStep, double power, int warmupSteps = 0)
    {
        double poly = maxStep <= 0 ? 1.0 : Math.Pow(Math.Max(0.0, 1.0 - (double)step / maxStep), power);
        return step < warmupSteps ? poly * (step + 1.0) / warmupSteps : poly;
    }

    /// <summary>
    /// Sets every group's rate for 0-based step <paramref name="step"/> of <paramref name="maxStep"/> (groups that
    /// <paramref name="frozen"/> names get 0), clears the gradients; returns the scheduled rate of group <paramref name="report"/>.
    /// </summary>
    public double Prepare(long step, long maxStep, int report = 0, Func<int, bool>? frozen = null)
    {
        double factor = Factor(step, maxStep, _power, _warmupSteps);
        int g = 0;
        foreach (var group in _sgd.ParamGroups)
        {
            group.LearningRate = frozen?.Invoke(g) == true ? 0 : _baseRates[g] * factor;
            g++;
        }
        _sgd.zero_grad();
        return _baseRates[report] * factor;
    }

    /// <summary>Applies the update.</summary>
    public void Step() => _sgd.step();

    /// <summary>The optimiser's state (SGD's momentum buffers), for a checkpoint a run can resume from exactly.</summary>
    public byte[] SaveState()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) _sgd.save_state_dict(writer);
        return buffer.ToArray();
    }

    /// <summary>Restores a state written by <see cref="SaveState"/> for the same parameter groups.</summary>
    public void LoadState(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        _sgd.load_state_dict(reader);
    }

    /// <inheritdoc />
    public void Dispose() => _sgd.Dispose();
}
