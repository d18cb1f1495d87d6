using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReCam.MLNet.LoadCheck;

/// <summary>Serialises every output column of CAM/ReCAM transforms, row by row, so two processes' outputs compare bytewise.</summary>
public static class CamOutputDump
{
    /// <summary>Input row of the save/load check: an absolute image path and an optional multi-hot label.</summary>
    public sealed class PathRow
    {
        /// <summary>Absolute image path.</summary>
        public string ImagePath { get; set; } = "";
    }

    /// <summary>
    /// Reads all rows of the map columns of every base name in <paramref name="baseNames"/> (default: "Cam"; for example "Cam", "ReCam"
    /// for a pipeline holding both transformers) into bytes.
    /// </summary>
    public static byte[] Dump(IDataView data, params string[] baseNames)
    {
        if (baseNames.Length == 0) baseNames = ["Cam"];
        var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        var s = data.Schema;
        string[] floatVectors = baseNames.SelectMany(b => new[] { b + "Scores", b, b + "Stride4" }).ToArray();
        string[] ints = baseNames.SelectMany(b => new[] { b + "Height", b + "Width", b + "Stride4Height", b + "Stride4Width" }).ToArray();
        string[] keys = baseNames.Select(b => b + "Classes").ToArray();
        using var cursor = data.GetRowCursor(floatVectors.Concat(ints).Concat(keys).Select(n => s[n]));
        var vectorGetters = floatVectors.Select(n => cursor.GetGetter<VBuffer<float>>(s[n])).ToArray();
        var intGetters = ints.Select(n => cursor.GetGetter<int>(s[n])).ToArray();
        var keyGetters = keys.Select(n => cursor.GetGetter<VBuffer<uint>>(s[n])).ToArray();
        VBuffer<float> v = default;
        VBuffer<uint> k = default;
        while (cursor.MoveNext())
        {
            foreach (var classes in keyGetters)
            {
                classes(ref k);
                w.Write(k.Length);
                foreach (uint key in k.DenseValues()) w.Write(key);
            }
            foreach (var g in vectorGetters)
            {
                g(ref v);
                w.Write(v.Length);
                foreach (float f in v.DenseValues()) w.Write(f);
            }
            foreach (var g in intGetters)
            {
                int value = 0;
                g(ref value);
                w.Write(value);
            }
        }
        w.Flush();
        return stream.ToArray();
    }

    /// <summary>Builds the unlabeled input rows for <paramref name="imagePaths"/>.</summary>
    public static IDataView Rows(MLContext ml, IEnumerable<string> imagePaths) =>
        ml.Data.LoadFromEnumerable(imagePaths.Select(p => new PathRow { ImagePath = p }).ToList());
}
