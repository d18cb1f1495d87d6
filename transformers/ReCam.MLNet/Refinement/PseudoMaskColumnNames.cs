using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReCam.MLNet;

/// <summary>
/// Names of the columns the mask refiner (<see cref="MaskRefinerTransformer"/>) adds. With the base name <c>PseudoMask</c>:
/// <list type="table">
/// <item><term><c>PseudoMask</c></term><description><c>Vector&lt;Byte&gt;</c> (variable size): H×W values, row-major; 0 is
/// background and c + 1 is class c (the command line's <c>pseudo_masks/&lt;id&gt;.png</c>, and PASCAL VOC's
/// <c>SegmentationClass</c> values).</description></item>
/// <item><term><c>PseudoMaskHeight</c>, <c>PseudoMaskWidth</c></term><description><c>Int32</c>: H and W, the image size.</description></item>
/// </list>
/// </summary>
public sealed record PseudoMaskColumnNames
{
    /// <summary>The default base name.</summary>
    public const string DefaultBaseName = "PseudoMask";

    /// <summary>The mask values.</summary>
    public required string Mask { get; init; }

    /// <summary>Mask height H.</summary>
    public required string Height { get; init; }

    /// <summary>Mask width W.</summary>
    public required string Width { get; init; }

    /// <summary>The names derived from a base name: <c>name</c>, <c>nameHeight</c>, <c>nameWidth</c>.</summary>
    /// <param name="baseName">The mask column's name.</param>
    public static PseudoMaskColumnNames FromBaseName(string baseName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseName);
        return new() { Mask = baseName, Height = baseName + "Height", Width = baseName + "Width" };
    }

    /// <summary>All names in output order.</summary>
    public IReadOnlyList<string> All => [Mask, Height, Width];

    /// <summary>The added columns (the estimator's output schema and the transformer's mapper share this list).</summary>
    internal DataViewSchema.DetachedColumn[] Build() =>
    [
        new(Mask, new VectorDataViewType(NumberDataViewType.Byte)),
        new(Height, NumberDataViewType.Int32),
        new(Width, NumberDataViewType.Int32),
    ];

    internal void Write(BinaryWriter w)
    {
        foreach (string name in All) w.Write(name);
    }

    internal static PseudoMaskColumnNames Read(BinaryReader r) => new() { Mask = r.ReadString(), Height = r.ReadString(), Width = r.ReadString() };
}
