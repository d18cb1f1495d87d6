using ReCam.Networks;
using ReCam.Segmentation;

namespace ReCam.MLNet;

/// <summary>Everything besides the weights that a fitted DeepLab segmenter needs, and how it is saved.</summary>
/// <remarks>
/// Binary layout of the model's main stream, after ML.NET's model header (little-endian; strings are .NET length-prefixed
/// UTF-8): <c>int32</c> C, then C strings, the class names; the backbone (see <c>ModelState.WriteBackbone</c>); string the
/// head ("v2"/"v3"/"v3+"); <c>int32</c> the output stride; strings: the image column, the 4 output names; inference: <c>int32</c> S
/// then S <c>float64</c> scales, <c>bool</c> flip, <c>int32</c> the longest side, <c>bool</c> dense CRF post-processing. The
/// network's weights follow in the binary entry <c>DeepLabWeights</c> (SHA-256 digest, then a TorchSharp state dict).
/// </remarks>
internal sealed record SegmenterModelInfo(
    string[] ClassNames, BackboneSpec Backbone, DeepLabShape Shape, string ImageColumnName, SegmentationColumnNames Columns, SegmentationOptions Inference)
{
    public void Write(BinaryWriter w)
    {
        w.Write(ClassNames.Length);
        foreach (string name in ClassNames) w.Write(name);
        ModelState.WriteBackbone(w, Backbone);
        w.Write(Shape.VariantName);
        w.Write(Shape.OutputStride);
        w.Write(ImageColumnName);
        Columns.Write(w);
        w.Write(Inference.Scales.Count);
        foreach (double s in Inference.Scales) w.Write(s);
        w.Write(Inference.Flip);
        w.Write(Inference.MaxInputSide);
        w.Write(Inference.Crf is not null);
    }

    public static SegmenterModelInfo Read(BinaryReader r, Func<string, Exception> corrupt)
    {
        int classes = r.ReadInt32();
        if (classes is < 1 or > SeedMapInputs.IrLabelClassLimit) throw corrupt($"class count {classes} is out of range");
        var names = new string[classes];
        for (int i = 0; i < classes; i++) names[i] = r.ReadString();
        var backbone = ModelState.ReadBackbone(r, corrupt);
        string variant = r.ReadString();
        int stride = r.ReadInt32();
        DeepLabShape shape;
        try
        {
            shape = DeepLabShape.Parse(variant, stride.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (ArgumentException e)
        {
            throw corrupt(e.Message);
        }
        string image = r.ReadString();
        var columns = SegmentationColumnNames.Read(r);
        int count = r.ReadInt32();
        if (count is < 1 or > 64) throw corrupt($"scale count {count} is out of range");
        var scales = new double[count];
        for (int i = 0; i < count; i++) scales[i] = r.ReadDouble();
        var inference = new SegmentationOptions
        {
            Scales = scales, Flip = r.ReadBoolean(), MaxInputSide = r.ReadInt32(),
            Crf = r.ReadBoolean() ? Refinement.DenseCrfOptions.DeepLabPostProcessing : null,
        };
        try
        {
            inference.Validate();
        }
        catch (Training.InvalidOptionException e)
        {
            throw corrupt($"{e.OptionName} {e.Reason}");
        }
        return new(names, backbone, shape, image, columns, inference);
    }
}
