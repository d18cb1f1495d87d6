using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ReCam.IO;
using ReCam.Training;

namespace ReCam.Pipeline;

/// <summary>
/// What train-cam and train-recam share around their trainer: the skip-if-done rule, the progress and epoch log lines,
/// the per-epoch checkpoint, and the metrics file.
/// </summary>
internal sealed class TrainingLog(string step, ILogger logger, WorkFolder work)
{
    private readonly List<EpochMetrics> _epochs = [];
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    /// <summary>The epochs finished in this run.</summary>
    public IReadOnlyList<EpochMetrics> Epochs => _epochs;

    /// <summary>
    /// True (and logged) if the checkpoint <paramref name="path"/> exists, is readable and the run is not forced: the step has
    /// nothing to do. An unreadable one (cut short) is redone, with a warning.
    /// </summary>
    public static bool AlreadyDone(string path, bool force, string step, ILogger logger)
    {
        if (force || !File.Exists(path)) return false;
        try
        {
            Checkpoint.Verify(path);
        }
        catch (InvalidDataException e)
        {
            logger.LogWarning("{Step}: {Path} is unreadable ({Message}); training again.", step, path, e.Message);
            return false;
        }
        logger.LogInformation("{Step}: {Path} exists; skipping (use --force to redo it).", step, path);
        return true;
    }

    /// <summary>
    /// Loads the latest epoch checkpoint of a run described as <paramref name="info"/> into <paramref name="network"/> and returns
    /// the epoch to resume after with the optimiser state saved there; (0, null) when there is none or <paramref name="force"/>.
    /// </summary>
    public (int StartEpoch, byte[]? OptimizerState) Resume(CheckpointInfo info, TorchSharp.torch.nn.Module network, bool force)
    {
        if (force || work.FindResumable(info) is not { } found) return (0, null);
        Checkpoint.LoadWeights(found.Path, network);
        logger.LogInformation("{Step}: resuming after epoch {Epoch} from {Path}.", step, found.Epoch, found.Path);
        return (found.Epoch, Checkpoint.ReadOptimizerState(found.Path));
    }

    /// <summary>
    /// Hooks that log progress and call <paramref name="saveEpoch"/> with each finished epoch and the optimiser state (it returns
    /// the checkpoint path); a resumed run passes the <paramref name="optimizerState"/> saved with the checkpoint it resumes from.
    /// Only the two latest epoch checkpoints of <paramref name="kind"/> are kept (the older one in case the newer is damaged):
    /// a long run would otherwise fill the disk with one backbone copy per epoch.
    /// </summary>
    public TrainingHooks Hooks(string kind, int startEpoch, byte[]? optimizerState, Func<int, byte[], string> saveEpoch, CancellationToken cancellationToken) => new(
        new StepProgress(p =>
        {
            if (p.IsLogStep) logger.LogInformation("{Step}: {Progress}", step, p);
        }),
        (epoch, optimizer) =>
        {
            _epochs.Add(epoch);
            string path = saveEpoch(epoch.Epoch, optimizer());
            logger.LogInformation("{Step}: {Epoch}; saved {Path}", step, epoch, path);
            for (int older = epoch.Epoch - 2; older >= 1; older--)
            {
                string stale = work.EpochCheckpoint(kind, older);
                if (!File.Exists(stale)) break;
                File.Delete(stale);
            }
        },
        startEpoch, cancellationToken, optimizerState);

    /// <summary>Writes <c>metrics/&lt;step&gt;.json</c> and logs the final line.</summary>
    public void Finish(string checkpoint, int images, int batchSize, int startEpoch, IReadOnlyDictionary<string, string> options)
    {
        double seconds = _watch.Elapsed.TotalSeconds;
        double imagesPerSecond = _epochs.Sum(e => e.Steps) * (double)batchSize / Math.Max(1e-9, _epochs.Sum(e => e.Seconds));
        var report = new TrainingReport(step, images, startEpoch, _epochs, seconds, imagesPerSecond, options);
        AtomicFile.WriteAllText(work.MetricsFile(step), JsonSerializer.Serialize(report, TrainingReport.Json));
        logger.LogInformation("{Step}: wrote {Path} in {Seconds:F0} s.", step, checkpoint, seconds);
    }

    private sealed class StepProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

/// <summary>The <c>metrics/train-cam.json</c> and <c>metrics/train-recam.json</c> files.</summary>
/// <param name="Step">Step name.</param>
/// <param name="Images">Training images.</param>
/// <param name="ResumedFromEpoch">Epochs that were already done when this run started.</param>
/// <param name="PerEpoch">Means of each epoch run here.</param>
/// <param name="Seconds">Wall-clock time of the step.</param>
/// <param name="ImagesPerSecond">Training throughput.</param>
/// <param name="Options">The training options, as recorded in the checkpoint.</param>
internal sealed record TrainingReport(string Step, int Images, int ResumedFromEpoch, IReadOnlyList<EpochMetrics> PerEpoch, double Seconds,
    double ImagesPerSecond, IReadOnlyDictionary<string, string> Options)
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
