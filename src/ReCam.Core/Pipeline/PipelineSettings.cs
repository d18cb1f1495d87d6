using ReCam.Data;
using ReCam.Networks;

namespace ReCam.Pipeline;

/// <summary>
/// The settings every pipeline step shares: where the data and the work folder are, which images,
/// which backbone, and how to compute. Mirrors the command-line options of the same names.
/// </summary>
public sealed record PipelineSettings
{
    /// <summary>Dataset root in PASCAL VOC layout (the folder that holds JPEGImages).</summary>
    public required string VocRoot { get; init; }

    /// <summary>Work folder holding every step's outputs.</summary>
    public required string WorkDir { get; init; }

    /// <summary>Class names file (one per line); null = <c>classes.txt</c> in the dataset root if present, else VOC's 20.</summary>
    public string? ClassesFile { get; init; }

    /// <summary>Image-level labels file (.npy cls_labels or .csv); null = VOC XML annotations.</summary>
    public string? LabelsFile { get; init; }

    /// <summary>Split list name in ImageSets/Segmentation (default "train").</summary>
    public string Split { get; init; } = "train";

    /// <summary>Backbone name.</summary>
    public string Backbone { get; init; } = BackboneCatalog.DefaultName;

    /// <summary>Initial backbone weights file (.onnx or PyTorch .pth); null = the backbone's bundled weights.</summary>
    public string? Weights { get; init; }

    /// <summary>Random seed.</summary>
    public int Seed { get; init; }

    /// <summary>Torch intra-op threads; 0 = leave the default.</summary>
    public int Threads { get; init; }

    /// <summary>"cpu" or "cuda" / "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>This process's share of the images: (index, count), e.g. (0, 1) for all.</summary>
    public (int Index, int Count) Shard { get; init; } = (0, 1);

    /// <summary>Redo outputs that already exist instead of skipping them.</summary>
    public bool Force { get; init; }

    /// <summary>
    /// The model a step reads (make-cam, train-recam: a CAM checkpoint or a PyTorch <c>.pth</c> read with
    /// <see cref="Backbone"/>; make-recam: a ReCAM checkpoint); null = the work folder's own (<c>models/cam.ckpt</c>,
    /// <c>models/recam.ckpt</c>).
    /// </summary>
    public string? Checkpoint { get; init; }

    /// <summary>The class names in effect.</summary>
    public IReadOnlyList<string> LoadClassNames()
    {
        if (ClassesFile is not null) return ClassNames.ReadFile(ClassesFile);
        string beside = Path.Combine(VocRoot, "classes.txt");
        return File.Exists(beside) ? ClassNames.ReadFile(beside) : ClassNames.Voc20;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for inconsistent settings.</summary>
    public void Validate()
    {
        if (!Directory.Exists(VocRoot))
            throw new ArgumentException($"Dataset folder '{VocRoot}' does not exist (--voc must be the folder that holds JPEGImages).");
        if (Shard.Count < 1 || Shard.Index < 0 || Shard.Index >= Shard.Count)
            throw new ArgumentException($"Invalid shard {Shard.Index}/{Shard.Count}: expected i/N with 0 <= i < N.");
        if (Weights is not null && !File.Exists(Weights)) throw new ArgumentException($"Weights file '{Weights}' does not exist.");
        if (Checkpoint is not null && !File.Exists(Checkpoint)) throw new FileNotFoundException($"Checkpoint '{Checkpoint}' does not exist.", Checkpoint);
        if (Threads is < 0 or > 256) throw new Training.InvalidOptionException(nameof(Threads), $"must be between 0 (all cores) and 256 (got {Threads})");
        BackboneCatalog.Get(Backbone);
    }
}
