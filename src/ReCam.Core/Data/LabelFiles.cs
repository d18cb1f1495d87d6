namespace ReCam.Data;

/// <summary>Image-level labels from a file given beside any layout: the official <c>cls_labels.npy</c> or a CSV.</summary>
internal static class LabelFiles
{
    /// <summary>Reads <paramref name="labelsFile"/> and returns the labels of exactly <paramref name="ids"/>; keys may be ids or file names.</summary>
    /// <exception cref="InvalidDataException">Ids are missing (the first few are named), vectors have the wrong length, or the file is invalid.</exception>
    /// <exception cref="ArgumentException">The file is neither <c>.npy</c> nor <c>.csv</c>.</exception>
    public static IReadOnlyDictionary<string, float[]> Read(string labelsFile, IReadOnlyList<string> ids, IReadOnlyList<string> classNames)
    {
        string ext = Path.GetExtension(labelsFile).ToLowerInvariant();
        IReadOnlyDictionary<string, float[]> source = ext switch
        {
            ".npy" => ClsLabelsNpy.Read(labelsFile),
            ".csv" => CsvLabels.Read(labelsFile, classNames),
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
            if (vector.Length != classNames.Count)
                throw new InvalidDataException(
                    $"'{labelsFile}': labels of '{id}' have {vector.Length} values but the data set has {classNames.Count} classes.");
            result[id] = vector;
        }
        if (missing.Count > 0)
            throw new InvalidDataException(
                $"'{labelsFile}' has no labels for {missing.Count} of {ids.Count} images, e.g. {string.Join(", ", missing.Take(5))}.");
        return result;
    }
}
