using ReCam.Networks;

namespace ReCam.MLNet;

/// <summary>Everything besides the weights that a fitted CAM transformer needs, and how it is saved.</summary>
internal sealed record CamModelInfo(
    string[] ClassNames, string BackboneName, ResNetBlock Block, int[] Layers, InputNormalization Normalization,
    double[] Scales, float Threshold, string ImageColumnName, string LabelColumnName, CamColumnNames Columns)
{
    public void Write(BinaryWriter w)
    {
        w.Write(ClassNames.Length);
        foreach (string name in ClassNames) w.Write(name);
        w.Write(BackboneName);
        w.Write((int)Block);
        w.Write(Layers.Length);
        foreach (int n in Layers) w.Write(n);
        w.Write(Normalization.Bgr);
        w.Write(Normalization.Scale);
        for (int c = 0; c < 3; c++) w.Write(Normalization.Mean[c]);
        for (int c = 0; c < 3; c++) w.Write(Normalization.Std[c]);
        w.Write(Scales.Length);
        foreach (double s in Scales) w.Write(s);
        w.Write(Threshold);
        w.Write(ImageColumnName);
        w.Write(LabelColumnName);
        foreach (string name in Columns.All) w.Write(name);
    }

    public static CamModelInfo Read(BinaryReader r, Func<string, Exception> corrupt)
    {
        int classes = r.ReadInt32();
        if (classes is < 1 or > 100_000) throw corrupt($"class count {classes} is out of range");
        var names = new string[classes];
        for (int i = 0; i < classes; i++) names[i] = r.ReadString();
        string backbone = r.ReadString();
        var block = (ResNetBlock)r.ReadInt32();
        if (!Enum.IsDefined(block)) throw corrupt($"unknown residual block type {(int)block}");
        int stages = r.ReadInt32();
        if (stages is < 1 or > 16) throw corrupt($"stage count {stages} is out of range");
        var layers = new int[stages];
        for (int i = 0; i < stages; i++) layers[i] = r.ReadInt32();
        bool bgr = r.ReadBoolean();
        float scale = r.ReadSingle();
        float[] mean = [r.ReadSingle(), r.ReadSingle(), r.ReadSingle()];
        float[] std = [r.ReadSingle(), r.ReadSingle(), r.ReadSingle()];
        int scaleCount = r.ReadInt32();
        if (scaleCount is < 1 or > 64) throw corrupt($"scale count {scaleCount} is out of range");
        var scales = new double[scaleCount];
        for (int i = 0; i < scaleCount; i++) scales[i] = r.ReadDouble();
        float threshold = r.ReadSingle();
        string image = r.ReadString(), label = r.ReadString();
        var c = new string[8];
        for (int i = 0; i < c.Length; i++) c[i] = r.ReadString();
        var columns = new CamColumnNames
        {
            Classes = c[0], Scores = c[1], Maps = c[2], Height = c[3], Width = c[4], Stride4Maps = c[5], Stride4Height = c[6], Stride4Width = c[7],
        };
        return new(names, backbone, block, layers, new InputNormalization(bgr, scale, mean, std), scales, threshold, image, label, columns);
    }
}
