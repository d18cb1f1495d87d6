using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.IO;

namespace ReCam.QuickStart.MLNet;

/// <summary>A training row: an absolute image path and its multi-hot label (vector size set by a schema definition).</summary>
public sealed class SceneRow
{
    /// <summary>Absolute image path.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>1 for each class present in the image.</summary>
    public float[] Label { get; set; } = [];
}

/// <summary>The ReCAM columns of one predicted row.</summary>
public sealed class ReCamPrediction
{
    /// <summary>Present classes as keys (0-based class index + 1).</summary>
    public uint[] ReCamClasses { get; set; } = [];

    /// <summary>Probability of every class (re-activated classifier W1).</summary>
    public float[] ReCamScores { get; set; } = [];

    /// <summary>Full-resolution maps, K×H×W.</summary>
    public float[] ReCam { get; set; } = [];

    /// <summary>Stride-4 maps, K×⌈H/4⌉×⌈W/4⌉.</summary>
    public float[] ReCamStride4 { get; set; } = [];

    /// <summary>Image height H.</summary>
    public int ReCamHeight { get; set; }

    /// <summary>Image width W.</summary>
    public int ReCamWidth { get; set; }
}

/// <summary>Reads the map columns of a transformed data view back into <see cref="CamMaps"/>.</summary>
public static class MapColumns
{
    /// <summary>The maps of every row for the columns with base name <paramref name="name"/> ("Cam" or "ReCam"); one network pass per row.</summary>
    public static IEnumerable<CamMaps> Read(IDataView data, string name)
    {
        var s = data.Schema;
        using var cursor = data.GetRowCursor([s[name + "Classes"], s[name], s[name + "Stride4"], s[name + "Height"], s[name + "Width"]]);
        var classes = cursor.GetGetter<VBuffer<uint>>(s[name + "Classes"]);
        var maps = cursor.GetGetter<VBuffer<float>>(s[name]);
        var stride4 = cursor.GetGetter<VBuffer<float>>(s[name + "Stride4"]);
        var height = cursor.GetGetter<int>(s[name + "Height"]);
        var width = cursor.GetGetter<int>(s[name + "Width"]);
        VBuffer<uint> k = default;
        VBuffer<float> m = default, m4 = default;
        int h = 0, w = 0;
        while (cursor.MoveNext())
        {
            classes(ref k);
            maps(ref m);
            stride4(ref m4);
            height(ref h);
            width(ref w);
            yield return new CamMaps(k.DenseValues().Select(key => (long)key - 1).ToArray(), m4.DenseValues().ToArray(),
                CamMaps.StridedSize(h), CamMaps.StridedSize(w), m.DenseValues().ToArray(), h, w);
        }
    }
}
