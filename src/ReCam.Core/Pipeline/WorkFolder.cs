namespace ReCam.Pipeline;

/// <summary>The layout of a work folder: where each step reads and writes.</summary>
/// <param name="Root">The work folder.</param>
public sealed record WorkFolder(string Root)
{
    /// <summary>Trained networks.</summary>
    public string Models => Path.Combine(Root, "models");

    /// <summary>The final checkpoint of a training step: <c>models/&lt;kind&gt;.ckpt</c> (kind "cam" or "recam").</summary>
    public string Checkpoint(string kind) => Path.Combine(Models, kind + ".ckpt");

    /// <summary>The checkpoint of a training step after epoch <paramref name="epoch"/>.</summary>
    public string EpochCheckpoint(string kind, int epoch) => Path.Combine(Models, $"{kind}-epoch{epoch}.ckpt");

    /// <summary>The final CAM checkpoint written by train-cam.</summary>
    public string CamCheckpoint => Checkpoint("cam");

    /// <summary>The CAM checkpoint after epoch <paramref name="epoch"/>.</summary>
    public string CamEpochCheckpoint(int epoch) => EpochCheckpoint("cam", epoch);

    /// <summary>The final re-activated checkpoint written by train-recam.</summary>
    public string ReCamCheckpoint => Checkpoint("recam");

    /// <summary>Per-image CAMs written by make-cam (<c>&lt;id&gt;.npz</c>).</summary>
    public string Cams => Path.Combine(Root, "cams");

    /// <summary>Per-image ReCAMs written by make-recam (<c>&lt;id&gt;.npz</c>).</summary>
    public string ReCams => Path.Combine(Root, "cams-recam");

    /// <summary>Per-image AdvCAMs written by make-advcam (<c>&lt;id&gt;.npz</c>).</summary>
    public string AdvCams => Path.Combine(Root, "cams-advcam");

    /// <summary>The maps folder of a seed-map kind.</summary>
    public string MapsFolder(MapsSource source) => source switch
    {
        MapsSource.Cam => Cams,
        MapsSource.ReCam => ReCams,
        MapsSource.AdvCam => AdvCams,
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "Choose cam, recam or advcam."),
    };

    /// <summary>
    /// The maps a refinement step reads when none is named: the ReCAMs when make-recam has written any, else the CAMs.
    /// </summary>
    public MapsSource DefaultMapsSource() =>
        Directory.Exists(ReCams) && Directory.EnumerateFiles(ReCams, "*.npz").Any() ? MapsSource.ReCam : MapsSource.Cam;

    /// <summary>What to run to get the maps of <paramref name="source"/> for <paramref name="split"/>, for error messages.</summary>
    internal static string HowToMake(MapsSource source, string split) => source switch
    {
        MapsSource.ReCam => $"run {MakeReCamStep.Name} for split '{split}' first",
        MapsSource.AdvCam => $"run {MakeAdvCamStep.Name} for split '{split}' first",
        _ => $"run {MakeCamStep.Name} for split '{split}' first",
    };

    /// <summary>Per-image IR labels written by cam-to-ir-label (<c>&lt;id&gt;.png</c>: 0 background, c+1 class c, 255 unsure).</summary>
    public string IrLabels => Path.Combine(Root, "ir_labels");

    /// <summary>Per-image pseudo masks written by make-sem-seg (<c>&lt;id&gt;.png</c>, VOC palette: 0 background, c+1 class c).</summary>
    public string PseudoMasks => Path.Combine(Root, "pseudo_masks");

    /// <summary>Masks predicted by eval-deeplab (<c>&lt;id&gt;.png</c>, VOC palette); <c>deeplab_masks_crf</c> with CRF post-processing.</summary>
    public string DeepLabMasks(bool crf) => Path.Combine(Root, crf ? "deeplab_masks_crf" : "deeplab_masks");

    /// <summary>Metrics files (<c>&lt;step&gt;.json</c>).</summary>
    public string Metrics => Path.Combine(Root, "metrics");

    /// <summary>The metrics file of a step.</summary>
    public string MetricsFile(string step) => Path.Combine(Metrics, step + ".json");

    /// <summary>
    /// The latest epoch checkpoint of a run with the same description as <paramref name="info"/>
    /// (backbone, classes, options), for resuming; null if there is none.
    /// </summary>
    public (string Path, int Epoch)? FindResumable(ReCam.Training.CheckpointInfo info)
    {
        for (int epoch = info.Epochs - 1; epoch >= 1; epoch--)
        {
            string path = EpochCheckpoint(info.Kind, epoch);
            if (!File.Exists(path)) continue;
            ReCam.Training.CheckpointInfo saved;
            try
            {
                saved = ReCam.Training.Checkpoint.Verify(path);
            }
            catch (InvalidDataException)
            {
                continue; // damaged (a kill while it was copied, a bad disk): resume from an earlier epoch
            }
            bool same = saved.Backbone == info.Backbone && saved.Classes.SequenceEqual(info.Classes) &&
                        saved.Options.OrderBy(kv => kv.Key).SequenceEqual(info.Options.OrderBy(kv => kv.Key));
            return same ? (path, epoch) : null;
        }
        return null;
    }
}
