using Microsoft.Extensions.Logging;
using ReCam.IO;
using ReCam.Platform;
using static TorchSharp.torch;

namespace ReCam.Pipeline;

/// <summary>What every step opens first: its work folder, the split's images and labels (checked up front), the device.</summary>
internal sealed record StepContext(WorkFolder Work, DatasetView View, Device Device)
{
    public static StepContext Open(PipelineSettings settings, ILogger logger)
    {
        var view = DatasetView.Open(settings, logger);
        var work = new WorkFolder(settings.WorkDir);
        int stale = new[] { work.Models, work.Cams, work.ReCams, work.Metrics }.Sum(AtomicFile.RemoveStaleTemporaries);
        if (stale > 0) logger.LogInformation("Removed {Count} temporary file(s) left by an interrupted earlier run.", stale);
        return new StepContext(work, view, ComputeDevice.Select(settings.Device, settings.Threads));
    }
}
