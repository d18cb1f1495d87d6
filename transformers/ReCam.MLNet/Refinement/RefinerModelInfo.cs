using ReCam.Networks;

namespace ReCam.MLNet;

/// <summary>
/// Everything besides the weights that a fitted mask refiner needs, and how it is saved.
/// </summary>
/// <remarks>
/// Binary layout of the model's main stream, after ML.NET's model header (little-endian; strings are .NET length-prefixed
/// UTF-8): <c>int32</c> C, then C strings, the class names; the backbone (see <c>ModelState.WriteBackbone</c>); strings: the
/// image column, the 8 seed-map column names in <see cref="MapColumnNames.All"/> order, the 3 output names; <c>float32</c> the
/// background plane; <c>float64</c> β; <c>int32</c> the walk's radius and steps; <c>float64</c> the maps exponent;
/// <c>float64</c> the confident foreground and background thresholds the IR labels were made with; from format
/// <see cref="UncertainMarginVersion"/> on, <c>float32</c> the uncertain margin (older models: 0); from format
/// <see cref="MaskCrfVersion"/> on, a <c>bool</c> byte, whether the masks get the dense CRF (older models: no). The boundary network's
/// weights follow in the binary entry <c>BoundaryWeights</c> (SHA-256 digest, then a TorchSharp state dict).
/// </remarks>
internal sealed record RefinerModelInfo(
    string[] ClassNames, BackboneSpec Backbone, string ImageColumnName, MapColumnNames MapsColumns, PseudoMaskColumnNames Columns,
    float BackgroundThreshold, double Beta, int WalkRadius, int WalkSteps, double MapsExponent, double ConfidentForeground, double ConfidentBackground,
    float UncertainMargin, bool MaskCrf)
{
    /// <summary>The format version that added <see cref="UncertainMargin"/>.</summary>
    public const uint UncertainMarginVersion = 0x00010003;

    /// <summary>The format version that added <see cref="MaskCrf"/>.</summary>
    public const uint MaskCrfVersion = 0x00010004;

    public void Write(BinaryWriter w)
    {
        w.Write(ClassNames.Length);
        foreach (string name in ClassNames) w.Write(name);
        ModelState.WriteBackbone(w, Backbone);
        w.Write(ImageColumnName);
        MapsColumns.Write(w);
        Columns.Write(w);
        w.Write(BackgroundThreshold);
        w.Write(Beta);
        w.Write(WalkRadius);
        w.Write(WalkSteps);
        w.Write(MapsExponent);
        w.Write(ConfidentForeground);
        w.Write(ConfidentBackground);
        w.Write(UncertainMargin);
        w.Write(MaskCrf);
    }

    public static RefinerModelInfo Read(BinaryReader r, uint version, Func<string, Exception> corrupt)
    {
        int classes = r.ReadInt32();
        if (classes is < 1 or > SeedMapInputs.IrLabelClassLimit) throw corrupt($"class count {classes} is out of range");
        var names = new string[classes];
        for (int i = 0; i < classes; i++) names[i] = r.ReadString();
        var backbone = ModelState.ReadBackbone(r, corrupt);
        string image = r.ReadString();
        var maps = MapColumnNames.Read(r);
        var columns = PseudoMaskColumnNames.Read(r);
        float background = r.ReadSingle();
        double beta = r.ReadDouble();
        int radius = r.ReadInt32(), steps = r.ReadInt32();
        double exponent = r.ReadDouble(), foreground = r.ReadDouble(), confidentBackground = r.ReadDouble();
        float margin = version >= UncertainMarginVersion ? r.ReadSingle() : 0;
        bool maskCrf = version >= MaskCrfVersion && r.ReadBoolean();
        // The core's own checks: a damaged value is refused here, not deep inside the first transform.
        var walk = new Pipeline.SemSegOptions
        {
            SemSegThreshold = background, Beta = beta, Radius = radius, Steps = steps, MapsExponent = exponent, UncertainMargin = margin,
        };
        try
        {
            walk.Validate();
        }
        catch (Training.InvalidOptionException e)
        {
            throw corrupt($"{e.OptionName} {e.Reason}");
        }
        return new(names, backbone, image, maps, columns, background, beta, radius, steps, exponent, foreground, confidentBackground, margin, maskCrf);
    }
}
