namespace ReCam.Pipeline;

/// <summary>The layout of a work folder: where each step reads and writes.</summary>
/// <param name="Root">The work folder.</param>
public sealed record WorkFolder(string Root)
{
    /// <summary>Trained networks.</summary>
    public string Models => Path.Combine(Root, "models");

    /// <summary>The final CAM checkpoint written by train-cam.</summary>
    public string CamCheckpoint => Path.Combine(Models, "cam.ckpt");

    /// <summary>The CAM checkpoint after epoch <paramref name="epoch"/>.</summary>
    public string CamEpochCheckpoint(int epoch) => Path.Combine(Models, $"cam-epoch{epoch}.ckpt");

    /// <summary>Per-image CAMs written by make-cam (<c>&lt;id&gt;.npz</c>).</summary>
    public string Cams => Path.Combine(Root, "cams");

    /// <summary>Metrics files (<c>&lt;step&gt;.json</c>).</summary>
    public string Metrics => Path.Combine(Root, "metrics");

    /// <summary>The metrics file of a step.</summary>
    public string MetricsFile(string step) => Path.Combine(Metrics, step + ".json");
}
