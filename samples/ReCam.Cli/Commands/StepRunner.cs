using Microsoft.Extensions.Logging;
using ReCam.Training;

namespace ReCam.Cli.Commands;

/// <summary>Runs one command with the program's logger and turns failures into exit codes and one-line messages.</summary>
internal sealed class StepRunner(ILogger logger)
{
    /// <summary>Core option names and the command-line options that set them, for error messages.</summary>
    private static readonly Dictionary<string, string> OptionNames = new()
    {
        ["Epochs"] = "--epochs", ["BatchSize"] = "--batch", ["Crop"] = "--crop", ["ResizeLongMin"] = "--resize-long", ["ResizeLongMax"] = "--resize-long",
        ["LearningRate"] = "--lr", ["ClassifierLearningRate"] = "--w1-lr", ["HeadLearningRate"] = "--w2-lr", ["HeadWarmupEpochs"] = "--head-warmup", ["WarmupSteps"] = "--lr-warmup",
        ["HeadInit"] = "--w2-init", ["BackgroundClass"] = "--background-class", ["Combination"] = "--weights-combination", ["W2Gain"] = "--w2-gain", ["PixelClass"] = "--pixel-class", ["Lambda"] = "--lambda",
        ["Momentum"] = "--momentum", ["Scales"] = "--scales", ["MaxInputSide"] = "--max-input-side", ["Threads"] = "--threads", ["Threshold"] = "--threshold", ["Count"] = "--count", ["ImageSize"] = "--size",
        ["ForegroundThreshold"] = "--fg-threshold", ["BackgroundThreshold"] = "--bg-threshold", ["Maps"] = "--maps", ["Beta"] = "--beta", ["Steps"] = "--walk-steps", ["SemSegThreshold"] = "--sem-seg-threshold",
        ["HeadRateMultiplier"] = "--head-lr-multiplier", ["RandomScales"] = "--random-scales", ["Flip"] = "--no-flip",
    };

    /// <summary>A pipeline step command: the common options, the step's own, and its action run by this runner.</summary>
    public System.CommandLine.Command StepCommand(CliOptions o, string name, string description, Action<System.CommandLine.Command> addOptions,
        Action<System.CommandLine.ParseResult, ILogger, CancellationToken> action)
    {
        var cmd = new System.CommandLine.Command(name, description);
        o.AddCommon(cmd);
        addOptions(cmd);
        cmd.SetAction((r, ct) => Run(name, ct, (log, token) => action(r, log, token)));
        return cmd;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on a worker thread, so that the command line's signal handling can cancel
    /// <paramref name="cancellationToken"/> and wait for the step to stop cleanly.
    /// </summary>
    public Task<int> Run(string name, CancellationToken cancellationToken, Action<ILogger, CancellationToken> body) =>
        Task.Run(() => RunNow(name, cancellationToken, body), CancellationToken.None);

    private int RunNow(string name, CancellationToken cancellationToken, Action<ILogger, CancellationToken> body)
    {
        try
        {
            body(logger, cancellationToken);
            return 0;
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("{Name}: cancelled; finished outputs are kept and a rerun resumes.", name);
            return 130;
        }
        catch (InvalidOptionException e) when (e.OptionName is { } option && OptionNames.TryGetValue(option, out string? cli))
        {
            logger.LogError("{Name}: {Option} {Reason}.", name, cli, e.Reason);
            return 2;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or NotSupportedException or TrainingDivergedException)
        {
            logger.LogError("{Name}: {Message}", name, e.Message);
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Missing files, a read-only or full work folder: the message names the path; what was written before is kept.
            logger.LogError("{Name}: {Message} (nothing half-written is kept; fix the cause and rerun to resume).", name, e.Message);
            return 2;
        }
        catch (OutOfMemoryException)
        {
            logger.LogError("{Name}: out of memory; use smaller images, a smaller --crop or --batch, or fewer --scales.", name);
            return 2;
        }
    }
}
