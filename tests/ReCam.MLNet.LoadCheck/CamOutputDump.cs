using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReCam.MLNet.LoadCheck;

/// <summary>Serialises every output column of a CAM transform, row by row, so two processes' outputs compare bytewise.</summary>
public static class CamOutputDump
{
    /// <summary>Input row of the save/load check: an absolute image path and an optional multi-hot label.</summary>
    public sealed class PathRow
    {
        /// <summary>Absolute image path.</summary>
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Reads all rows of <paramref name="data"/>'s CAM columns (base name "Cam") into bytes.</summary>
    public static byte[] Dump(IDataView data)
    {
        var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        var s = data.Schema;
        string[] floatVectors = ["CamScores", "Cam", "CamStride4"];
        string[] ints = ["CamHeight", "CamWidth", "CamStride4Height", "CamStride4Width"];
        using var cursor = data.GetRowCursor(floatVectors.Concat(ints).Append("CamClasses").Select(n => s[n]));
        var vectorGetters = floatVectors.Select(n => cursor.GetGetter<VBuffer<float>>(s[n])).ToArray();
        var intGetters = ints.Select(n => cursor.GetGetter<int>(s[n])).ToArray();
        var classes = cursor.GetGetter<VBuffer<uint>>(s["CamClasses"]);
        VBuffer<float> v = default;
        VBuffer<uint> k = default;
        while (cursor.MoveNext())
        {
            classes(ref k);
            w.Write(k.Length);
            foreach (uint key in k.DenseValues()) w.Write(key);
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
