namespace ReCam.Data;

/// <summary>
/// A data set the pipeline reads: named splits of image ids, the image and (when there is one) the ground-truth mask of
/// each id, and image-level labels. <see cref="VocDataset"/> reads the PASCAL VOC layout (also the layout of a folder of
/// images with a labels file), <see cref="Coco.CocoDataset"/> the MS COCO layout.
/// </summary>
public abstract class ImageDataset
{
    /// <summary>Sets the root folder and the class names.</summary>
    /// <param name="root">The data set folder (made absolute).</param>
    /// <param name="classNames">Class names in class-index order.</param>
    /// <exception cref="ArgumentException">The class list is empty.</exception>
    protected ImageDataset(string root, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count == 0) throw new ArgumentException("The class list is empty.", nameof(classNames));
        Root = Path.GetFullPath(root);
        ClassNames = classNames;
    }

    /// <summary>The data set folder (absolute).</summary>
    public string Root { get; }

    /// <summary>Class names in class-index order (mask value c + 1 is class c; 0 is background).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Where this layout keeps its ground-truth masks, for messages (e.g. "SegmentationClass/ under '/data/voc'").</summary>
    public abstract string MaskLocation { get; }

    /// <summary>Reads the ids of a split, in the layout's order.</summary>
    /// <param name="name">The split's name.</param>
    /// <returns>The ids.</returns>
    public abstract IReadOnlyList<string> ReadSplit(string name);

    /// <summary>The image file of <paramref name="id"/> (a path that may not exist; see <see cref="CheckImagesExist"/>).</summary>
    /// <param name="id">The image id.</param>
    public abstract string ImagePath(string id);

    /// <summary>The ground-truth mask of <paramref name="id"/> (8-bit PNG: 0 background, c + 1 class c, 255 ignored), or null.</summary>
    /// <param name="id">The image id.</param>
    public abstract string? MaskPath(string id);

    /// <summary>Loads the image-level labels of <paramref name="ids"/>.</summary>
    /// <param name="ids">The image ids.</param>
    /// <param name="labelsFile">Null for the layout's own labels; else a <c>.npy</c> (<c>cls_labels.npy</c>) or <c>.csv</c> file.</param>
    /// <returns>Id → multi-hot vector of length <c>ClassNames.Count</c>, for exactly <paramref name="ids"/>.</returns>
    public IReadOnlyDictionary<string, float[]> LoadLabels(IReadOnlyList<string> ids, string? labelsFile = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return labelsFile is null ? LoadOwnLabels(ids) : LoadLabelsFile(labelsFile, ids);
    }

    /// <summary>The labels of <paramref name="ids"/> from a labels file (<c>cls_labels.npy</c>'s dict, or a CSV).</summary>
    /// <param name="labelsFile">The file.</param>
    /// <param name="ids">The image ids.</param>
    protected virtual IReadOnlyDictionary<string, float[]> LoadLabelsFile(string labelsFile, IReadOnlyList<string> ids) =>
        LabelFiles.Read(labelsFile, ids, ClassNames);

    /// <summary>The labels the layout itself holds (VOC XML annotations, COCO's instance annotations).</summary>
    /// <param name="ids">The image ids.</param>
    protected abstract IReadOnlyDictionary<string, float[]> LoadOwnLabels(IReadOnlyList<string> ids);

    /// <summary>Checks that every id has an image file, throwing one error that lists the missing ones.</summary>
    /// <param name="ids">The image ids.</param>
    /// <exception cref="FileNotFoundException">Some images are missing (count and the first ten are named).</exception>
    public void CheckImagesExist(IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var missing = ids.Select(ImagePath).Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} image file(s) missing under '{Path.GetDirectoryName(missing[0])}': "
                + string.Join(", ", missing.Take(10).Select(Path.GetFileName)) + (missing.Count > 10 ? ", ..." : "") + ".");
    }
}
