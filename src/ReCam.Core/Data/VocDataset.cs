namespace ReCam.Data;

/// <summary>
/// A data set in the PASCAL VOC 2012 layout: <c>JPEGImages/</c>, <c>Annotations/</c>, <c>SegmentationClass/</c>
/// (or SBD's <c>SegmentationClassAug/</c>) and split lists in <c>ImageSets/Segmentation/&lt;split&gt;.txt</c>.
/// The scene generator writes the same layout.
/// </summary>
public sealed class VocDataset
{
    private static readonly string[] ImageExtensions = [".jpg", ".png", ".jpeg", ".JPG", ".PNG", ".JPEG"];

    /// <summary>Opens the data set rooted at <paramref name="root"/>.</summary>
    /// <param name="root">The folder holding <c>JPEGImages</c> (e.g. <c>VOCdevkit/VOC2012</c>).</param>
    /// <param name="classNames">Class names, in class-index order (e.g. <see cref="ClassNames.Voc20"/>).</param>
    /// <exception cref="DirectoryNotFoundException">The root or its <c>JPEGImages</c> folder does not exist.</exception>
    /// <exception cref="ArgumentException">The class list is empty.</exception>
    public VocDataset(string root, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count == 0) throw new ArgumentException("The class list is empty.", nameof(classNames));
        Root = Path.GetFullPath(root);
        if (!Directory.Exists(Root))
            throw new DirectoryNotFoundException($"VOC data set folder not found: '{Root}'.");
        if (!Directory.Exists(Path.Combine(Root, "JPEGImages")))
            throw new DirectoryNotFoundException(
                $"'{Root}' has no JPEGImages folder; pass the folder that holds JPEGImages (e.g. VOCdevkit/VOC2012).");
        ClassNames = classNames;
    }

    /// <summary>The data set folder (absolute).</summary>
    public string Root { get; }

    /// <summary>Class names in class-index order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The folder of split lists, <c>ImageSets/Segmentation</c>.</summary>
    public string SplitDirectory => Path.Combine(Root, "ImageSets", "Segmentation");

    /// <summary>Reads the ids of a split: the first token of each non-blank line of <c>ImageSets/Segmentation/&lt;name&gt;.txt</c>.</summary>
    /// <param name="name">Split name such as <c>train</c>, <c>val</c> or <c>train_aug</c> (a trailing <c>.txt</c> is accepted).</param>
    /// <returns>The ids in file order.</returns>
    /// <exception cref="FileNotFoundException">The split file is missing; the message lists the splits that exist.</exception>
    /// <exception cref="InvalidDataException">The split lists no id.</exception>
    public IReadOnlyList<string> ReadSplit(string name)
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
    public string ImagePath(string id)
    {
        string stem = Path.Combine(Root, "JPEGImages", id);
        foreach (string ext in ImageExtensions)
            if (File.Exists(stem + ext)) return stem + ext;
        return stem + ".jpg";
    }

    /// <summary>The ground-truth mask of <paramref name="id"/>: <c>SegmentationClass/&lt;id&gt;.png</c>, else
    /// <c>SegmentationClassAug/&lt;id&gt;.png</c>, else null.</summary>
    /// <param name="id">The image id.</param>
    public string? MaskPath(string id)
    {
        foreach (string folder in new[] { "SegmentationClass", "SegmentationClassAug" })
        {
            string path = Path.Combine(Root, folder, id + ".png");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Loads the image-level labels of <paramref name="ids"/>.</summary>
    /// <param name="ids">The image ids.</param>
    /// <param name="labelsFile">Null to read <c>Annotations/&lt;id&gt;.xml</c>; a <c>.npy</c> file (e.g. the official
    /// <c>cls_labels.npy</c>) or a <c>.csv</c> file (<see cref="CsvLabels"/>; keys may be ids or file names).</param>
    /// <returns>Id → multi-hot vector of length <c>ClassNames.Count</c>, for exactly <paramref name="ids"/>.</returns>
    /// <exception cref="InvalidDataException">Ids are missing from the label source (the first few are named), vectors
    /// have the wrong length, or the source itself is invalid.</exception>
    /// <exception cref="ArgumentException">The labels file has another extension.</exception>
    public IReadOnlyDictionary<string, float[]> LoadLabels(IReadOnlyList<string> ids, string? labelsFile = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (labelsFile is null)
            return VocXmlLabels.Read(Path.Combine(Root, "Annotations"), ids, ClassNames);
        string ext = Path.GetExtension(labelsFile).ToLowerInvariant();
        IReadOnlyDictionary<string, float[]> source = ext switch
        {
            ".npy" => ClsLabelsNpy.Read(labelsFile),
            ".csv" => CsvLabels.Read(labelsFile, ClassNames),
            _ => throw new ArgumentException($"Labels file '{labelsFile}' must be a .npy (cls_labels.npy) or .csv file.", nameof(labelsFile)),
        };
        var byStem = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (key, vector) in source)
            byStem.TryAdd(Path.GetFileNameWithoutExtension(key.Replace('\\', '/')), vector);
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (string id in ids)
        {
            if (!source.TryGetValue(id, out var vector) && !byStem.TryGetValue(id, out vector)) { missing.Add(id); continue; }
            if (vector.Length != ClassNames.Count)
                throw new InvalidDataException(
                    $"'{labelsFile}': labels of '{id}' have {vector.Length} values but the data set has {ClassNames.Count} classes.");
            result[id] = vector;
        }
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"'{labelsFile}' has no labels for {missing.Count} of {ids.Count} images, e.g. {string.Join(", ", missing.Take(5))}.");
        return result;
    }

    /// <summary>Checks that every id has an image file, throwing one error that lists the missing ones.</summary>
    /// <param name="ids">The image ids.</param>
    /// <exception cref="FileNotFoundException">Some images are missing (count and the first ten are named).</exception>
    public void CheckImagesExist(IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var missing = ids.Select(ImagePath).Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} image file(s) missing under '{Path.Combine(Root, "JPEGImages")}': "
                + string.Join(", ", missing.Take(10).Select(Path.GetFileName)) + (missing.Count > 10 ? ", ..." : "") + ".");
    }
}
