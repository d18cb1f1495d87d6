namespace ReCam.Data;

/// <summary>
/// A data set in the PASCAL VOC 2012 layout: <c>JPEGImages/</c>, <c>Annotations/</c>, <c>SegmentationClass/</c>
/// (or SBD's <c>SegmentationClassAug/</c>) and split lists in <c>ImageSets/Segmentation/&lt;split&gt;.txt</c>.
/// The scene generator writes the same layout.
/// </summary>
public sealed class VocDataset : ImageDataset
{
    private static readonly string[] ImageExtensions = [".jpg", ".png", ".jpeg", ".JPG", ".PNG", ".JPEG"];

    /// <summary>Opens the data set rooted at <paramref name="root"/>.</summary>
    /// <param name="root">The folder holding <c>JPEGImages</c> (e.g. <c>VOCdevkit/VOC2012</c>).</param>
    /// <param name="classNames">Class names, in class-index order (e.g. <see cref="ClassNames.Voc20"/>).</param>
    /// <exception cref="DirectoryNotFoundException">The root or its <c>JPEGImages</c> folder does not exist.</exception>
    /// <exception cref="ArgumentException">The class list is empty.</exception>
    public VocDataset(string root, IReadOnlyList<string> classNames) : base(root, classNames)
    {
        if (!Directory.Exists(Root))
            throw new DirectoryNotFoundException($"VOC data set folder not found: '{Root}'.");
        if (!Directory.Exists(Path.Combine(Root, "JPEGImages")))
            throw new DirectoryNotFoundException(
                $"'{Root}' has no JPEGImages folder; pass the folder that holds JPEGImages (e.g. VOCdevkit/VOC2012).");
    }

    /// <inheritdoc/>
    public override string MaskLocation => $"SegmentationClass/ or SegmentationClassAug/ under '{Root}'";

    /// <summary>The folder of split lists, <c>ImageSets/Segmentation</c>.</summary>
    public string SplitDirectory => Path.Combine(Root, "ImageSets", "Segmentation");

    /// <summary>Reads the ids of a split: the first token of each non-blank line of <c>ImageSets/Segmentation/&lt;name&gt;.txt</c>.</summary>
    /// <param name="name">Split name such as <c>train</c>, <c>val</c> or <c>train_aug</c> (a trailing <c>.txt</c> is accepted).</param>
    /// <returns>The ids in file order.</returns>
    /// <exception cref="FileNotFoundException">The split file is missing; the message lists the splits that exist.</exception>
    /// <exception cref="InvalidDataException">The split lists no id.</exception>
    public override IReadOnlyList<string> ReadSplit(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase)) name = name[..^4];
        string path = Path.Combine(SplitDirectory, name + ".txt");
        if (!File.Exists(path))
        {
            string[] existing = Directory.Exists(SplitDirectory)
                ? Directory.GetFiles(SplitDirectory, "*.txt").Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal).ToArray()
                : [];
            string available = existing.Length > 0 ? "available splits: " + string.Join(", ", existing) : $"'{SplitDirectory}' holds no split list";
            throw new FileNotFoundException($"Split list not found: '{path}' ({available}).", path);
        }
        var ids = new List<string>();
        int lineNo = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNo++;
            string trimmed = line.Trim();
            if (trimmed.Length == 0) continue;
            int space = trimmed.IndexOfAny([' ', '\t']);
            ids.Add(ImageIds.Check(space < 0 ? trimmed : trimmed[..space], $"{path}:{lineNo}"));
        }
        if (ids.Count == 0) throw new InvalidDataException($"Split list '{path}' lists no image id.");
        return ids;
    }

    /// <summary>The image file of <paramref name="id"/>: <c>JPEGImages/&lt;id&gt;.jpg</c>, or a <c>.png</c>/<c>.jpeg</c>
    /// file of that id when no <c>.jpg</c> exists. When none exists the <c>.jpg</c> path is returned.</summary>
    /// <param name="id">The image id.</param>
    public override string ImagePath(string id)
    {
        string stem = Path.Combine(Root, "JPEGImages", id);
        foreach (string ext in ImageExtensions)
            if (File.Exists(stem + ext)) return stem + ext;
        return stem + ".jpg";
    }

    /// <summary>The ground-truth mask of <paramref name="id"/>: <c>SegmentationClass/&lt;id&gt;.png</c>, else
    /// <c>SegmentationClassAug/&lt;id&gt;.png</c>, else null.</summary>
    /// <param name="id">The image id.</param>
    public override string? MaskPath(string id)
    {
        foreach (string folder in new[] { "SegmentationClass", "SegmentationClassAug" })
        {
            string path = Path.Combine(Root, folder, id + ".png");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Labels from <c>Annotations/&lt;id&gt;.xml</c> (every object's name).</summary>
    /// <param name="ids">The image ids.</param>
    /// <exception cref="InvalidDataException">An annotation is missing or names an unknown class.</exception>
    protected override IReadOnlyDictionary<string, float[]> LoadOwnLabels(IReadOnlyList<string> ids) =>
        VocXmlLabels.Read(Path.Combine(Root, "Annotations"), ids, ClassNames);
}
