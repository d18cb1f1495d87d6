using Microsoft.Extensions.Logging;

namespace ReCam.Pipeline;

/// <summary>The "skip what is already done" rule the training steps share.</summary>
public static class StepOutputs
{
    /// <summary>True (and logged) if <paramref name="path"/> exists and the run is not forced: the step has nothing to do.</summary>
    public static bool AlreadyDone(string path, bool force, string step, ILogger logger)
    {
        if (force || !File.Exists(path)) return false;
        logger.LogInformation("{Step}: {Path} exists; skipping (use --force to redo it).", step, path);
        return true;
    }
}
