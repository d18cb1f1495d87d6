namespace ReCam.Data;

/// <summary>
/// Class-name lists: the 20 PASCAL VOC classes in their standard (alphabetical) order, and plain-text
/// class files for custom data. Class index <c>c</c> corresponds to mask value <c>c + 1</c>; 0 is background.
/// </summary>
public static class ClassNames
{
    /// <summary>The 20 VOC classes in the order of <c>cls_labels.npy</c> and the VOC masks (aeroplane = 0 ... tvmonitor = 19).</summary>
    public static IReadOnlyList<string> Voc20 { get; } = Array.AsReadOnly(new[]
    {
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    });

    /// <summary>Characters a class name cannot contain (they separate names in label files).</summary>
    private static readonly char[] Forbidden = [',', ';', '|'];

    /// <summary>
    /// Reads a class file: one class name per line, in class-index order. Lines are trimmed; blank lines and
    /// lines starting with <c>#</c> are skipped.
    /// </summary>
    /// <param name="path">The class file (UTF-8 text).</param>
    /// <returns>The names, index 0 first.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A name is repeated (case-insensitively) or contains ',', ';' or '|',
    /// or the file lists no class.</exception>
    public static IReadOnlyList<string> ReadFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Class-name file not found: '{path}'.", path);
        var names = new List<string>();
        var firstLine = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        int lineNo = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNo++;
            string name = raw.Trim();
            if (name.Length == 0 || name.StartsWith('#')) continue;
            if (name.IndexOfAny(Forbidden) >= 0)
                throw new InvalidDataException(
                    $"{path}:{lineNo}: class name '{name}' contains one of ',', ';', '|' (reserved as separators in label files).");
            if (firstLine.TryGetValue(name, out int previous))
                throw new InvalidDataException(
                    $"{path}:{lineNo}: class name '{name}' is repeated (first on line {previous}).");
            firstLine[name] = lineNo;
            names.Add(name);
        }
        if (names.Count == 0)
            throw new InvalidDataException($"Class-name file '{path}' lists no class (one name per line expected).");
        return names.AsReadOnly();
    }

    /// <summary>
    /// Finds the index of <paramref name="name"/> in <paramref name="classNames"/>, comparing trimmed names
    /// case-insensitively; -1 when absent.
    /// </summary>
    /// <param name="classNames">The class list.</param>
    /// <param name="name">The name to find.</param>
    public static int IndexOf(IReadOnlyList<string> classNames, string name)
    {
        string key = name.Trim();
        for (int i = 0; i < classNames.Count; i++)
            if (string.Equals(classNames[i].Trim(), key, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    /// <summary>Names for <paramref name="count"/> classes that nobody named: <c>class0</c>, <c>class1</c>, ...</summary>
    public static string[] Placeholders(int count) =>
        Enumerable.Range(0, count).Select(i => "class" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
