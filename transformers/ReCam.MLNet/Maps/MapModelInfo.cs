using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Networks;

namespace ReCam.MLNet;

/// <summary>
/// Everything besides the weights that a fitted map transformer (CAM or ReCAM) needs, and how it is saved.
/// </summary>
/// <remarks>
/// Binary layout of the model's main stream, after ML.NET's model header, written by <see cref="Write"/> with a
/// <see cref="BinaryWriter"/> (little-endian; strings are .NET length-prefixed UTF-8):
/// <list type="number">
/// <item><description><c>int32</c> C, then C strings: the class names;</description></item>
/// <item><description>string: the backbone name; <c>int32</c>: the block type (0 basic, 1 bottleneck); <c>int32</c> S, then S
/// <c>int32</c>: blocks per stage;</description></item>
/// <item><description>the input convention: <c>bool</c> BGR, <c>float32</c> scale, 3 <c>float32</c> means, 3 <c>float32</c> stds;</description></item>
/// <item><description><c>int32</c> N, then N <c>float64</c>: the extraction scales; <c>float32</c>: the prediction threshold;</description></item>
/// <item><description>strings: the image column, the label column, then the 8 output column names in
/// <see cref="MapColumnNames.All"/> order;</description></item>
/// <item><description>from format 0x00010002: <c>int32</c>, the extraction's largest input side, and <c>float32</c>, the
/// automatic background threshold chosen at fit (older models read as the defaults, 2048 and 0.21).</description></item>
/// </list>
/// The transformer then appends its own fields (see its <c>SaveState</c>) and its weights as separate binary entries; from
/// format 0x00010002 each weights entry starts with the SHA-256 of the rest of the entry, checked on load.
/// </remarks>
internal sealed record MapModelInfo(
    string[] ClassNames, BackboneSpec Backbone, double[] Scales, float Threshold, string ImageColumnName, string LabelColumnName, MapColumnNames Columns,
    int MaxInputSide, float BackgroundThreshold = SeedPrediction.DefaultThreshold)
{
    /// <summary>The format version that added <see cref="MaxInputSide"/> and the weights digests.</summary>
    public const uint DigestsVersion = ModelState.DigestsVersion;

    public void Write(BinaryWriter w)
    {
        w.Write(ClassNames.Length);
        foreach (string name in ClassNames) w.Write(name);
        ModelState.WriteBackbone(w, Backbone);
        w.Write(Scales.Length);
        foreach (double s in Scales) w.Write(s);
        w.Write(Threshold);
        w.Write(ImageColumnName);
        w.Write(LabelColumnName);
        Columns.Write(w);
        w.Write(MaxInputSide);
        w.Write(BackgroundThreshold);
    }

    public static MapModelInfo Read(BinaryReader r, uint version, Func<string, Exception> corrupt)
    {
        int classes = r.ReadInt32();
        if (classes is < 1 or > 100_000) throw corrupt($"class count {classes} is out of range");
        var names = new string[classes];
        for (int i = 0; i < classes; i++) names[i] = r.ReadString();
        var spec = ModelState.ReadBackbone(r, corrupt);
        int scaleCount = r.ReadInt32();
        if (scaleCount is < 1 or > 64) throw corrupt($"scale count {scaleCount} is out of range");
        var scales = new double[scaleCount];
        for (int i = 0; i < scaleCount; i++) scales[i] = r.ReadDouble();
        float threshold = r.ReadSingle();
        string image = r.ReadString(), label = r.ReadString();
        var columns = MapColumnNames.Read(r);
        int maxInputSide = version >= DigestsVersion ? r.ReadInt32() : CamExtractor.DefaultMaxInputSide;
        if (maxInputSide is < CamExtractor.MinMaxInputSide or > CamExtractor.MaxMaxInputSide) throw corrupt($"largest input side {maxInputSide} is out of range");
        float background = version >= DigestsVersion ? r.ReadSingle() : SeedPrediction.DefaultThreshold;
        if (!(background is >= 0 and <= 1)) throw corrupt($"background threshold {background} is out of range");
        return new(names, spec, scales, threshold, image, label, columns, maxInputSide, background);
    }
}
