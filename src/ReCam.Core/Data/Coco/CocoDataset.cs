namespace ReCam.Data.Coco;

/// <summary>
/// A data set in the MS COCO layout: the images of a split in <c>&lt;split&gt;/</c> (or <c>images/&lt;split&gt;/</c>), its
/// instance annotations in <c>annotations/instances_&lt;split&gt;.json</c>, e.g. <c>train2014</c>, <c>val2014</c>,
/// <c>train2017</c>. As in the official code: the images of a split are those of its annotation file, sorted by image id; an
/// image's labels are the categories of all its annotations, crowd regions included (an image without any is kept and gets
/// empty maps); class c is the c-th category by id (COCO's ids 1..90 with gaps become 0..79). Ground-truth masks are the
/// files <c>mask/&lt;split&gt;/&lt;id&gt;.png</c> that <c>recam make-coco-masks</c> paints from the annotations (the official
/// <c>annToMask</c>).
/// </summary>
public sealed class CocoDataset : ImageDataset
{
    private readonly Dictionary<string, (string Split, CocoImage Image)> _images = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CocoAnnotations> _splits = new(StringComparer.Ordinal);

    private CocoDataset(string root, IReadOnlyList<string> classNames) : base(root, classNames) { }

    /// <inheritdoc/>
    public override string MaskLocation => $"mask/<split>/ under '{Root}' (make them with recam make-coco-masks)";

    /// <summary>Opens the data set at <paramref name="root"/> and reads the annotations of <paramref name="split"/>, whose
    /// categories give the class names.</summary>
    /// <param name="root">The folder that holds <c>annotations/</c>.</param>
    /// <param name="split">The split whose annotation file names the classes, e.g. <c>train2014</c>.</param>
    /// <exception cref="DirectoryNotFoundException">The root or its <c>annotations</c> folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The split has no annotation file; the message lists those that exist.</exception>
    /// <exception cref="InvalidDataException">The annotation file is invalid, or there are more than 254 categories.</exception>
    public static CocoDataset Open(string root, string split)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentException.ThrowIfNullOrWhiteSpace(split);
        string full = Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"COCO data set folder not found: '{full}'.");
        var annotations = CocoAnnotations.Read(AnnotationPath(full, split), withSegmentation: false);
        if (annotations.Categories.Count > 254)
            throw new InvalidDataException($"'{annotations.Path}' has {annotations.Categories.Count} categories; masks hold at most 254 classes.");
        var dataset = new CocoDataset(full, annotations.Categories.Select(c => c.Name).ToArray());
        dataset.Add(split, annotations);
        return dataset;
    }

    /// <summary>The instances file of <paramref name="split"/>: <c>annotations/instances_&lt;split&gt;.json</c>.</summary>
    /// <exception cref="DirectoryNotFoundException">There is no <c>annotations</c> folder.</exception>
    /// <exception cref="FileNotFoundException">The file is missing (the splits that exist are named).</exception>
    internal static string AnnotationPath(string root, string split)
    {
        string folder = Path.Combine(root, "annotations");
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"'{root}' has no annotations folder; pass the COCO folder that holds annotations/ and the image folders.");
        string path = Path.Combine(folder, $"instances_{split}.json");
        if (File.Exists(path)) return path;
        string[] existing = Directory.GetFiles(folder, "instances_*.json")
            .Select(p => Path.GetFileNameWithoutExtension(p)["instances_".Length..]).Order(StringComparer.Ordinal).ToArray();
        throw new FileNotFoundException(
            $"No annotations for split '{split}': '{path}' does not exist ({(existing.Length > 0 ? "splits: " + string.Join(", ", existing) : "no instances_*.json there")}).",
            path);
    }

    /// <summary>The folder of a split's images: <c>&lt;split&gt;/</c>, else <c>images/&lt;split&gt;/</c>.</summary>
    public string ImageFolder(string split)
    {
        string plain = Path.Combine(Root, split), nested = Path.Combine(Root, "images", split);
        return Directory.Exists(plain) || !Directory.Exists(nested) ? plain : nested;
    }

    /// <summary>The folder <c>make-coco-masks</c> writes a split's masks to: <c>mask/&lt;split&gt;/</c>.</summary>
    public string MaskFolder(string split) => Path.Combine(Root, "mask", split);

    /// <summary>The ids of a split: the stems of its images' file names, sorted by image id.</summary>
    /// <param name="name">The split, e.g. <c>train2014</c>.</param>
    /// <exception cref="FileNotFoundException">The split has no annotation file.</exception>
    /// <exception cref="InvalidDataException">Its categories differ from the data set's, a file name is not a plain name, or two
    /// images share a stem.</exception>
    public override IReadOnlyList<string> ReadSplit(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_splits.ContainsKey(name))
        {
            var annotations = CocoAnnotations.Read(AnnotationPath(Root, name), withSegmentation: false);
            if (!annotations.Categories.Select(c => c.Name).SequenceEqual(ClassNames))
                throw new InvalidDataException($"'{annotations.Path}' has other categories than the split this data set was opened with.");
            Add(name, annotations);
        }
        return _splits[name].Images.Select(i => Stem(i.FileName)).ToList();
    }

    /// <summary>The image of <paramref name="id"/> in the folder of the split it was read from.</summary>
    /// <exception cref="InvalidOperationException">No split read so far lists the id.</exception>
    public override string ImagePath(string id)
    {
        var (split, image) = Find(id);
        return Path.Combine(ImageFolder(split), Path.GetFileName(image.FileName.Replace('\\', '/')));
    }

    /// <summary><c>mask/&lt;split&gt;/&lt;id&gt;.png</c>, or the official <c>annToMask</c>'s name for it (the numeric image id), or null.</summary>
    public override string? MaskPath(string id)
    {
        var (split, image) = Find(id);
        foreach (string stem in new[] { id, image.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            string path = Path.Combine(MaskFolder(split), stem + ".png");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>The split an id was read from and its image record.</summary>
    internal (string Split, CocoImage Image) Find(string id) =>
        _images.TryGetValue(id, out var found) ? found
            : throw new InvalidOperationException($"Image '{id}' is in no split read from '{Root}' (read its split first).");

    /// <summary>The annotations of a split already read.</summary>
    internal CocoAnnotations Split(string name) => _splits[name];

    /// <summary>Labels from the annotations: every category an image has an annotation of, crowd regions included.</summary>
    protected override IReadOnlyDictionary<string, float[]> LoadOwnLabels(IReadOnlyList<string> ids)
    {
        var index = new Dictionary<(string Split, long CategoryId), int>();
        foreach (var (split, annotations) in _splits)
            for (int c = 0; c < annotations.Categories.Count; c++) index[(split, annotations.Categories[c].Id)] = c;
        var bySplitImage = new Dictionary<(string, long), float[]>();
        foreach (var (split, annotations) in _splits)
            foreach (var a in annotations.Annotations)
            {
                var key = (split, a.ImageId);
                if (!bySplitImage.TryGetValue(key, out var vector)) bySplitImage[key] = vector = new float[ClassNames.Count];
                vector[index[(split, a.CategoryId)]] = 1;
            }
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string id in ids)
        {
            var (split, image) = Find(id);
            result[id] = bySplitImage.TryGetValue((split, image.Id), out var vector) ? vector : new float[ClassNames.Count];
        }
        return result;
    }

    /// <summary>
    /// Besides the dict and CSV files of any layout, the official COCO label file (<c>mscoco/train_labels.npy</c>): a matrix with
    /// one row per image of the split, in image-id order, and one column per category, binarised with &gt; 0.
    /// </summary>
    /// <exception cref="InvalidDataException">The matrix's shape does not match the split's images and categories, or the ids
    /// come from several splits.</exception>
    protected override IReadOnlyDictionary<string, float[]> LoadLabelsFile(string labelsFile, IReadOnlyList<string> ids)
    {
        if (!LabelMatrixNpy.IsMatrix(labelsFile)) return base.LoadLabelsFile(labelsFile, ids);
        var matrix = LabelMatrixNpy.Read(labelsFile, out int rows, out int columns);
        var splits = ids.Select(id => Find(id).Split).Distinct().ToList();
        if (splits.Count != 1)
            throw new InvalidDataException($"'{labelsFile}' is a label matrix of one split, but the images come from {string.Join(", ", splits)}.");
        var images = _splits[splits[0]].Images;
        if (rows != images.Count || columns != ClassNames.Count)
            throw new InvalidDataException(
                $"'{labelsFile}' is a {rows} x {columns} label matrix, but split '{splits[0]}' has {images.Count} images and {ClassNames.Count} categories.");
        var row = new Dictionary<long, int>(images.Count);
        for (int i = 0; i < images.Count; i++) row[images[i].Id] = i;
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string id in ids)
        {
            int r = row[Find(id).Image.Id];
            result[id] = matrix.AsSpan(r * columns, columns).ToArray();
        }
        return result;
    }

    private void Add(string split, CocoAnnotations annotations)
    {
        foreach (var image in annotations.Images)
        {
            string id = ImageIds.Check(Stem(image.FileName), $"{annotations.Path}: image {image.Id}");
            if (_images.TryGetValue(id, out var other))
                throw new InvalidDataException($"'{annotations.Path}': images {other.Image.Id} ({other.Split}) and {image.Id} ({split}) share the name '{id}'.");
            _images[id] = (split, image);
        }
        _splits[split] = annotations;
    }

    /// <summary>The id of a file name: its stem (COCO 2014's <c>COCO_train2014_000000000009</c>, 2017's <c>000000000009</c>).</summary>
    private static string Stem(string fileName) => Path.GetFileNameWithoutExtension(fileName.Replace('\\', '/'));
}
