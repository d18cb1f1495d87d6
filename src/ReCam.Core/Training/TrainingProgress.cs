using System.Globalization;

namespace ReCam.Training;

/// <summary>What one optimisation step measured.</summary>
/// <param name="Loss">Total loss of the step.</param>
/// <param name="LearningRate">The scheduled learning rate of the step's main group (train-cam: the backbone's; train-recam: W2's).</param>
/// <param name="Bce">train-recam: the multi-label (BCE) part of the loss.</param>
/// <param name="Sce">train-recam: the re-activation (softmax cross-entropy) part of the loss.</param>
/// <param name="Accuracy">train-recam: share of (image, present class) pairs the re-activation head classifies right.</param>
/// <param name="HeadWarmup">train-recam: the step trained W2 alone.</param>
public sealed record StepMetrics(double Loss, double LearningRate, double? Bce = null, double? Sce = null, double? Accuracy = null,
    bool HeadWarmup = false);

/// <summary>Progress of a training run, reported once per step.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Number of epochs.</param>
/// <param name="Step">1-based global step just finished.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="ImagesPerSecond">Training throughput over the current epoch so far.</param>
/// <param name="Metrics">What the step measured.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, long Step, long TotalSteps, double ImagesPerSecond, StepMetrics Metrics)
{
    /// <summary>Steps between two log lines (the last step of every epoch is logged too).</summary>
    public const int LogInterval = 10;

    /// <summary>Steps per epoch.</summary>
    public long StepsPerEpoch => TotalSteps / Math.Max(1, Epochs);

    /// <summary>Whether this step deserves a log line: every <see cref="LogInterval"/> steps and at the end of each epoch.</summary>
    public bool IsLogStep => Step % LogInterval == 0 || Step % StepsPerEpoch == 0;

    /// <summary>One log line, the same for the command line and ML.NET.</summary>
    public override string ToString()
    {
        var m = Metrics;
        var c = CultureInfo.InvariantCulture;
        string parts = m.Bce is { } bce && m.Sce is { } sce
            ? string.Create(c, $" (bce {bce:F4}, sce {sce:F4}) sce-accuracy {m.Accuracy:F3}")
            : string.Create(c, $" lr {m.LearningRate:G3}");
        return string.Create(c, $"epoch {Epoch}/{Epochs}{(m.HeadWarmup ? " (head warm-up)" : "")} step {Step}/{TotalSteps} loss {m.Loss:F4}{parts} {ImagesPerSecond:F1} images/s");
    }
}

/// <summary>The means of the step metrics over one epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Epochs">Number of epochs.</param>
/// <param name="Steps">Steps in the epoch.</param>
/// <param name="Loss">Mean loss.</param>
/// <param name="Bce">train-recam: mean BCE part.</param>
/// <param name="Sce">train-recam: mean SCE part.</param>
/// <param name="Accuracy">train-recam: mean SCE accuracy.</param>
/// <param name="Seconds">Wall-clock time of the epoch.</param>
public sealed record EpochMetrics(int Epoch, int Epochs, int Steps, double Loss, double? Bce, double? Sce, double? Accuracy, double Seconds)
{
    /// <summary>One log line, the same for the command line and ML.NET.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"epoch {Epoch}/{Epochs} done: mean loss {Loss:F4}{(Sce is { } sce ? $", sce {sce:F4}, sce-accuracy {Accuracy:F3}" : "")} ({Seconds:F1} s)");
}

/// <summary>Means of <see cref="StepMetrics"/> over the steps of an epoch.</summary>
internal sealed class EpochAccumulator
{
    private double _loss, _bce, _sce, _accuracy;
    private int _steps, _recam;

    public void Add(StepMetrics m)
    {
        _steps++;
        _loss += m.Loss;
        if (m.Bce is { } bce && m.Sce is { } sce)
        {
            _recam++;
            _bce += bce;
            _sce += sce;
            _accuracy += m.Accuracy ?? double.NaN;
        }
    }

    /// <summary>The epoch's means; resets for the next epoch.</summary>
    public EpochMetrics Finish(int epoch, int epochs, double seconds)
    {
        int n = Math.Max(1, _steps), r = Math.Max(1, _recam);
        var result = new EpochMetrics(epoch, epochs, _steps, _loss / n, _recam > 0 ? _bce / r : null, _recam > 0 ? _sce / r : null,
            _recam > 0 ? _accuracy / r : null, seconds);
        _loss = _bce = _sce = _accuracy = 0;
        _steps = _recam = 0;
        return result;
    }
}

/// <summary>How a caller follows and steers a training run.</summary>
/// <param name="Progress">Receives one report per step.</param>
/// <param name="EpochEnd">Called after each epoch with its means and the optimiser's state at that point (SGD's momentum
/// buffers), for example to write a checkpoint that a run can resume from exactly.</param>
/// <param name="StartEpoch">Epochs already done (a resumed run), 0 for a fresh one.</param>
/// <param name="CancellationToken">Stops the run between steps.</param>
/// <param name="OptimizerState">A resumed run: the optimiser state saved with the checkpoint it resumes from.</param>
public sealed record TrainingHooks(IProgress<TrainingProgress>? Progress = null, Action<EpochMetrics, Func<byte[]>>? EpochEnd = null, int StartEpoch = 0,
    CancellationToken CancellationToken = default, byte[]? OptimizerState = null);
