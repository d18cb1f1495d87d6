using ReCam.Data;
using ReCam.Data.Coco;
using ReCam.Networks;

namespace ReCam.Pipeline;

/// <summary>
/// The settings every pipeline step shares: where the data and the work folder are, which images,
/// which backbone, and how to compute. Mirrors the command-line options of the same names.
/// </summary>
public sealed record PipelineSettings
{
    /// <summary>Dataset root in PASCAL VOC layout (the folder that holds JPEGImages); set this or <see cref="CocoRoot"/>.</summary>
    public string? VocRoot { get; init; }

    /// <summary>Dataset root in MS COCO layout (the folder that holds <c>annotations/</c> and the image folders); set this or
    /// <see cref="VocRoot"/>. Splits are then COCO's (<c>train2014</c>, <c>val2014</c>, ...) and the classes its categories.</summary>
    public string? CocoRoot { get; init; }

    /// <summary>The dataset root, whichever layout.</summary>
    public string DatasetRoot => VocRoot ?? CocoRoot ?? throw new ArgumentException("No dataset: set --voc (PASCAL VOC layout) or --coco (MS COCO layout).");

    /// <summary>Work folder holding every step's outputs.</summary>
    public required string WorkDir { get; init; }

    /// <summary>Class names file (one per line); null = <c>classes.txt</c> in the dataset root if present, else VOC's 20.
    /// With <see cref="CocoRoot"/> the categories name the classes, and a file given must list the same names in the same order.</summary>
    public string? ClassesFile { get; init; }

    /// <summary>Image-level labels file (.npy cls_labels or .csv); null = the layout's own (VOC XML, COCO instances).</summary>
    public string? LabelsFile { get; init; }

    /// <summary>Split: a list name in ImageSets/Segmentation (default "train"); with COCO a split such as "train2014".</summary>
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

    /// <summary>The class names in effect for a VOC-layout dataset.</summary>
    public IReadOnlyList<string> LoadClassNames()
    {
        if (ClassesFile is not null) return ClassNames.ReadFile(ClassesFile);
        string beside = Path.Combine(DatasetRoot, "classes.txt");
        return File.Exists(beside) ? ClassNames.ReadFile(beside) : ClassNames.Voc20;
    }

    /// <summary>Opens the dataset in its layout; <paramref name="split"/> (default <see cref="Split"/>) is the COCO split whose
    /// annotations name the classes.</summary>
    /// <exception cref="InvalidDataException">With COCO, a classes file was given that differs from the categories.</exception>
    public ImageDataset OpenDataset(string? split = null)
    {
        if (CocoRoot is null) return new VocDataset(DatasetRoot, LoadClassNames());
        var coco = CocoDataset.Open(CocoRoot, split ?? Split);
        if (ClassesFile is not null && !ClassNames.ReadFile(ClassesFile).SequenceEqual(coco.ClassNames))
            throw new InvalidDataException(
                $"--classes '{ClassesFile}' differs from the categories of the COCO annotations ([{string.Join(", ", coco.ClassNames.Take(5))}, ...]); leave it out with --coco.");
        return coco;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for inconsistent settings.</summary>
    public void Validate()
    {
        if ((VocRoot is null) == (CocoRoot is null))
            throw new ArgumentException(VocRoot is null
                ? "No dataset: set --voc (a folder in PASCAL VOC layout) or --coco (a folder in MS COCO layout)."
                : "Both --voc and --coco are set; a run reads one dataset.");
        if (VocRoot is not null && !Directory.Exists(VocRoot))
            throw new ArgumentException($"Dataset folder '{VocRoot}' does not exist (--voc must be the folder that holds JPEGImages).");
        if (CocoRoot is not null && !Directory.Exists(CocoRoot))
            throw new ArgumentException($"Dataset folder '{CocoRoot}' does not exist (--coco must be the folder that holds annotations/).");
        if (Shard.Count < 1 || Shard.Index < 0 || Shard.Index >= Shard.Count)
            throw new ArgumentException($"Invalid shard {Shard.Index}/{Shard.Count}: expected i/N with 0 <= i < N.");
        if (Weights is not null && !File.Exists(Weights)) throw new ArgumentException($"Weights file '{Weights}' does not exist.");
        if (Checkpoint is not null && !File.Exists(Checkpoint)) throw new FileNotFoundException($"Checkpoint '{Checkpoint}' does not exist.", Checkpoint);
        if (Threads is < 0 or > 256) throw new Training.InvalidOptionException(nameof(Threads), $"must be between 0 (all cores) and 256 (got {Threads})");
        BackboneCatalog.Get(Backbone);
    }
}
