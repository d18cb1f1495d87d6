using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReCam.MLNet;

/// <summary>
/// Names of the columns the DeepLab segmenter (<see cref="DeepLabSegmentationTransformer"/>) adds. With the base name
/// <c>PredictedMask</c>:
/// <list type="table">
/// <item><term><c>PredictedMask</c></term><description><c>Vector&lt;Byte&gt;</c> (variable size): H×W values, row-major; 0 is
/// background and c + 1 is class c.</description></item>
/// <item><term><c>PredictedMaskHeight</c>, <c>PredictedMaskWidth</c></term><description><c>Int32</c>: H and W, the image size.</description></item>
/// <item><term><c>PredictedMaskAreas</c></term><description><c>Vector&lt;Single&gt;</c> of C + 1: the share of the image's pixels
/// given to background and to each class (the mask's histogram, summing to 1).</description></item>
/// </list>
/// </summary>
public sealed record SegmentationColumnNames
{
    /// <summary>The default base name.</summary>
    public const string DefaultBaseName = "PredictedMask";

    /// <summary>The mask values.</summary>
    public required string Mask { get; init; }

    /// <summary>Mask height H.</summary>
    public required string Height { get; init; }

    /// <summary>Mask width W.</summary>
    public required string Width { get; init; }

    /// <summary>The share of pixels per label.</summary>
    public required string Areas { get; init; }

    /// <summary>The names derived from a base name: <c>name</c>, <c>nameHeight</c>, <c>nameWidth</c>, <c>nameAreas</c>.</summary>
    /// <param name="baseName">The mask column's name.</param>
    public static SegmentationColumnNames FromBaseName(string baseName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseName);
        return new() { Mask = baseName, Height = baseName + "Height", Width = baseName + "Width", Areas = baseName + "Areas" };
    }

    /// <summary>All names in output order.</summary>
    public IReadOnlyList<string> All => [Mask, Height, Width, Areas];

    /// <summary>The added columns for <paramref name="labelCount"/> labels (background + C).</summary>
    internal DataViewSchema.DetachedColumn[] Build(int labelCount) =>
    [
        new(Mask, new VectorDataViewType(NumberDataViewType.Byte)),
        new(Height, NumberDataViewType.Int32),
        new(Width, NumberDataViewType.Int32),
        new(Areas, new VectorDataViewType(NumberDataViewType.Single, labelCount)),
    ];

    internal void Write(BinaryWriter w)
    {
        foreach (string name in All) w.Write(name);
    }

    internal static SegmentationColumnNames Read(BinaryReader r) =>
        new() { Mask = r.ReadString(), Height = r.ReadString(), Width = r.ReadString(), Areas = r.ReadString() };
}
