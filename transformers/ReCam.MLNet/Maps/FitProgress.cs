using Microsoft.ML.Runtime;
using ReCam.Training;

namespace ReCam.MLNet;

/// <summary>
/// How a fitting estimator reports its training: a log line every few steps and after each epoch on the ML.NET channel
/// (<c>MLContext.Log</c>), and the step, epoch and loss on an ML.NET progress channel. One instance per Fit.
/// </summary>
internal sealed class FitProgress : IProgress<TrainingProgress>, IDisposable
{
    private readonly IChannel _channel;
    private readonly IProgressChannel _progress;
    private TrainingProgress? _latest;

    public FitProgress(IHost host, IChannel channel, string name)
    {
        _channel = channel;
        _progress = host.StartProgressChannel(name);
        _progress.SetHeader(new ProgressHeader(["loss"], ["step", "epoch"]), entry =>
        {
            if (Volatile.Read(ref _latest) is not { } p) return;
            entry.SetProgress(0, p.Step, p.TotalSteps);
            entry.SetProgress(1, p.Epoch, p.Epochs);
            entry.SetMetric(0, p.Metrics.Loss);
        });
    }

    /// <summary>The last finished epoch's means, or null before the first.</summary>
    public EpochMetrics? LastEpoch { get; private set; }

    /// <summary>Hooks for the core trainer: this progress, the epoch log line, cancellation.</summary>
    public TrainingHooks Hooks(CancellationToken cancellationToken) => new(this, EndEpoch, 0, cancellationToken);

    public void Report(TrainingProgress value)
    {
        Volatile.Write(ref _latest, value);
        if (value.IsLogStep) _channel.Info(MessageSensitivity.None, value.ToString());
    }

    private void EndEpoch(EpochMetrics epoch, Func<byte[]> _) // a fit keeps no epoch checkpoints: the optimiser state is not needed
    {
        LastEpoch = epoch;
        _channel.Info(MessageSensitivity.None, epoch.ToString());
        _progress.Checkpoint(epoch.Loss, epoch.Epoch * (double)epoch.Steps, epoch.Epoch);
    }

    public void Dispose() => _progress.Dispose();
}
