using Microsoft.Extensions.Logging;
using ReCam.Platform;
using static TorchSharp.torch;

namespace ReCam.Pipeline;

/// <summary>What every step opens first: its work folder, the split's images and labels (checked up front), the device.</summary>
internal sealed record StepContext(WorkFolder Work, DatasetView View, Device Device)
{
    public static StepContext Open(PipelineSettings settings, ILogger logger)
    {
        var view = DatasetView.Open(settings, logger);
        return new StepContext(new WorkFolder(settings.WorkDir), view, ComputeDevice.Select(settings.Device, settings.Threads));
    }
}
