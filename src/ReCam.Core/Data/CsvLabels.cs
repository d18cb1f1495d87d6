using System.Globalization;
using System.Text;
using ReCam.IO;

namespace ReCam.Data;

/// <summary>
/// Image-level labels in a plain CSV file, for custom data sets.
/// </summary>
/// <remarks>
/// <para>Format (UTF-8 text):</para>
/// <code>
/// image,labels
/// 2007_000032,aeroplane;person
/// photos/cat_01.jpg,cat
/// dog_03.png,11|14
/// </code>
/// <list type="bullet">
/// <item>The first non-blank line is the header <c>image,labels</c> (case-insensitive).</item>
/// <item>Each row holds an image id or file name (as written; it may be quoted with <c>"</c> if it contains a comma)
/// and its labels separated by <c>;</c> or <c>|</c>. A label is a class name (trimmed, case-insensitive) or a 0-based
/// class index. Repeated labels count once.</item>
/// <item>Blank lines and lines starting with <c>#</c> are skipped. An image may appear only once.</item>
/// <item>An image with no label is an error unless the caller asks to skip such rows.</item>
/// </list>
/// </remarks>
internal static class CsvLabels
{
    /// <summary>The header line <see cref="Write"/> emits and <see cref="Read"/> expects.</summary>
    public const string Header = "image,labels";

    /// <summary>Reads a labels CSV (see the class remarks for the format).</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="classNames">Class names; the vectors have this length.</param>
    /// <param name="skipUnlabelled">When true, rows with an empty label set are left out instead of rejected.</param>
    /// <returns>Image key (first column, trimmed) → float multi-hot vector.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Bad header, malformed row, unknown class, index out of range, repeated image,
    /// or (unless <paramref name="skipUnlabelled"/>) a row without labels; the message names the file and line.</exception>
    public static IReadOnlyDictionary<string, float[]> Read(string path, IReadOnlyList<string> classNames, bool skipUnlabelled = false)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Labels CSV not found: '{path}'.", path);
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        bool headerSeen = false;
        int lineNo = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNo++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string where = $"{path}:{lineNo}";
            if (!headerSeen)
            {
                string compact = line.TrimStart('\uFEFF').Replace(" ", "", StringComparison.Ordinal);
                if (!string.Equals(compact, Header, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidDataException($"{where}: expected the header '{Header}', found '{line}'.");
                headerSeen = true;
                continue;
            }
            var fields = SplitRow(line, where);
            if (fields.Count != 2)
                throw new InvalidDataException($"{where}: expected 2 columns (image,labels), found {fields.Count}.");
            string key = fields[0].Trim();
            if (key.Length == 0)
                throw new InvalidDataException($"{where}: the image column is empty.");
            // The key may be a relative file name ("photos/img2.jpg"); the id it stands for is its file name without extension.
            // A key that climbs out of its folder or is absolute names no image of the data set: refused, not reduced to its stem.
            string relative = key.Replace('\\', '/');
            if (relative.StartsWith('/') || relative.Split('/').Contains(".."))
                throw new InvalidDataException($"{where}: image '{key}' is not a file name or a path inside the data set.");
            ImageIds.Check(Path.GetFileNameWithoutExtension(relative), where);
            if (firstLine.TryGetValue(key, out int previous))
                throw new InvalidDataException($"{where}: image '{key}' already listed on line {previous}.");
            firstLine[key] = lineNo;
            var vector = new float[classNames.Count];
            bool any = false;
            foreach (string token in fields[1].Split([';', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                vector[ParseLabel(token, classNames, where)] = 1f;
                any = true;
            }
            if (!any)
            {
                if (skipUnlabelled) continue;
                throw new InvalidDataException($"{where}: image '{key}' has no label (every image needs at least one class).");
            }
            result[key] = vector;
        }
        if (!headerSeen)
            throw new InvalidDataException($"Labels CSV '{path}' is empty (expected the header '{Header}' and one row per image).");
        return result;
    }

    /// <summary>Writes labels in the format <see cref="Read"/> accepts, using class names, atomically.</summary>
    /// <param name="path">Destination CSV.</param>
    /// <param name="labels">Image key → multi-hot vector (value &gt; 0.5 means present), written in the given order.</param>
    /// <param name="classNames">Class names; each vector must have this length.</param>
    /// <exception cref="ArgumentException">A vector has the wrong length, or a key is empty, has surrounding spaces or
    /// contains a line break.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, float[]>> labels, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        var text = new StringBuilder(Header).Append('\n');
        foreach (var (key, vector) in labels)
        {
            if (vector.Length != classNames.Count)
                throw new ArgumentException($"Labels of '{key}' have {vector.Length} values for {classNames.Count} classes.", nameof(labels));
            if (key.Contains('\n') || key.Contains('\r'))
                throw new ArgumentException($"Image key '{key}' contains a line break.", nameof(labels));
            if (key.Length == 0 || key != key.Trim())
                throw new ArgumentException($"Image key '{key}' is empty or has surrounding spaces.", nameof(labels));
            bool quote = key.Contains(',') || key.Contains('"') || key.StartsWith('#');
            text.Append(quote ? "\"" + key.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : key).Append(',');
            text.AppendJoin(';', Enumerable.Range(0, vector.Length).Where(c => vector[c] > 0.5f).Select(c => classNames[c]));
            text.Append('\n');
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }

    private static int ParseLabel(string token, IReadOnlyList<string> classNames, string where)
    {
        int index = ClassNames.IndexOf(classNames, token);
        if (index >= 0) return index;
        if (int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            if (number < classNames.Count) return number;
            throw new InvalidDataException($"{where}: class index {number} is out of range (0..{classNames.Count - 1}).");
        }
        throw new InvalidDataException(
            $"{where}: unknown class '{token}'. Known classes: {string.Join(", ", classNames)}.");
    }

    private static List<string> SplitRow(string line, string where)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch != '"') current.Append(ch);
                else if (i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else quoted = false;
            }
            else if (ch == '"' && current.ToString().Trim().Length == 0) { current.Clear(); quoted = true; }
            else if (ch == ',') { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(ch);
        }
        if (quoted) throw new InvalidDataException($"{where}: unterminated quoted field.");
        fields.Add(current.ToString());
        return fields;
    }
}
