using ReCam.Networks;
using ReCam.Training;

namespace ReCam.Pipeline;

/// <summary>Loads the CAM network a step continues from: one of our checkpoints or an official PyTorch state dict.</summary>
public static class CamModels
{
    /// <summary>
    /// Loads a CAM network (backbone + W1) from <paramref name="path"/>: a ReCam checkpoint (cam or recam), or a
    /// PyTorch <c>.pth</c>/<c>.pt</c> state dict interpreted with <c>settings.Backbone</c>. Checks the classes.
    /// </summary>
    /// <returns>The network and its backbone name.</returns>
    public static (CamNetwork Network, string Backbone) Load(string path, PipelineSettings settings, IReadOnlyList<string> classes)
    {
        if (path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase))
            return (Checkpoint.LoadPyTorchCamNetwork(path, settings.Backbone, classes), settings.Backbone);
        var (network, info) = Checkpoint.LoadCamNetwork(path);
        CheckClasses(path, info, classes, network);
        return (network, info.Backbone);
    }

    /// <summary>Throws (disposing <paramref name="owned"/>) if the checkpoint's classes differ from the data set's.</summary>
    public static void CheckClasses(string path, CheckpointInfo info, IReadOnlyList<string> classes, IDisposable owned)
    {
        if (info.Classes.SequenceEqual(classes)) return;
        owned.Dispose();
        throw new InvalidDataException(
            $"Checkpoint '{path}' was trained on classes [{string.Join(", ", info.Classes)}] but the data set has [{string.Join(", ", classes)}].");
    }
}
