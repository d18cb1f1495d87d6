using System.Xml;
using System.Xml.Linq;

namespace ReCam.Data;

/// <summary>
/// Image-level labels from PASCAL VOC annotation files (<c>Annotations/&lt;id&gt;.xml</c>): the multi-hot
/// vector of every <c>&lt;object&gt;&lt;name&gt;</c>, including objects marked difficult or truncated, as the
/// official <c>make_cls_labels.py</c> builds <c>cls_labels.npy</c>.
/// </summary>
internal static class VocXmlLabels
{
    /// <summary>Reads the labels of <paramref name="ids"/> from <paramref name="annotationsDir"/>.</summary>
    /// <param name="annotationsDir">The folder holding <c>&lt;id&gt;.xml</c> files.</param>
    /// <param name="ids">Image ids (file names without extension).</param>
    /// <param name="classNames">Class names; object names are matched after trimming, case-insensitively.</param>
    /// <returns>Image id → float multi-hot vector of length <c>classNames.Count</c> (all zeros if the file lists no object).</returns>
    /// <exception cref="FileNotFoundException">An annotation file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is not valid XML, an object has no name, or a name is not a known class.</exception>
    public static IReadOnlyDictionary<string, float[]> Read(
        string annotationsDir, IEnumerable<string> ids, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(classNames);
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string id in ids)
        {
            if (result.ContainsKey(id)) continue;
            result[id] = ReadFile(Path.Combine(annotationsDir, ImageIds.Check(id, annotationsDir) + ".xml"), classNames);
        }
        return result;
    }

    /// <summary>Reads one VOC annotation file into a multi-hot vector.</summary>
    /// <param name="xmlPath">The annotation file.</param>
    /// <param name="classNames">Class names; object names are matched after trimming, case-insensitively.</param>
    /// <returns>A float multi-hot vector of length <c>classNames.Count</c>.</returns>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="InvalidDataException">The file is not valid XML, an object has no name, or a name is unknown.</exception>
    public static float[] ReadFile(string xmlPath, IReadOnlyList<string> classNames)
    {
        if (!File.Exists(xmlPath))
            throw new FileNotFoundException($"VOC annotation file not found: '{xmlPath}'.", xmlPath);
        XDocument doc;
        try
        {
            doc = XDocument.Load(xmlPath);
        }
        catch (XmlException e)
        {
            throw new InvalidDataException($"VOC annotation file '{xmlPath}' is not valid XML: {e.Message}", e);
        }
        var labels = new float[classNames.Count];
        foreach (XElement obj in doc.Root?.Elements("object") ?? [])
        {
            XElement? nameElement = obj.Element("name");
            if (nameElement is null || nameElement.Value.Trim().Length == 0)
                throw new InvalidDataException($"VOC annotation file '{xmlPath}' has an <object> without a <name>.");
            string name = nameElement.Value.Trim();
            int index = ClassNames.IndexOf(classNames, name);
            if (index < 0)
                throw new InvalidDataException(
                    $"VOC annotation file '{xmlPath}' names unknown class '{name}'. Known classes: {string.Join(", ", classNames)}.");
            labels[index] = 1f;
        }
        return labels;
    }
}
