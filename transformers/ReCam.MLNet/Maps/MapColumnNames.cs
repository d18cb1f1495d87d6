namespace ReCam.MLNet;

/// <summary>
/// Names of the columns a map transformer adds: the CAM extractor (<see cref="ClassActivationMapTransformer"/>, base name
/// <c>Cam</c>) and the re-activation trainer (<see cref="ReactivatedClassActivationMapTransformer"/>, base name <c>ReCam</c>)
/// emit the same layout. With the base name <c>"Cam"</c>:
/// <list type="table">
/// <item><term><c>Cam</c></term><description><c>Vector&lt;Single&gt;</c> (variable size): the full-resolution maps, K×H×W values
/// in C order (class-major, then rows), one map per present class, each divided by its maximum (values in [0, 1)).</description></item>
/// <item><term><c>CamHeight</c>, <c>CamWidth</c></term><description><c>Int32</c>: H and W, the image size.</description></item>
/// <item><term><c>CamStride4</c></term><description><c>Vector&lt;Single&gt;</c>: the stride-4 maps, K×⌈H/4⌉×⌈W/4⌉, same order.</description></item>
/// <item><term><c>CamStride4Height</c>, <c>CamStride4Width</c></term><description><c>Int32</c>: ⌈H/4⌉ and ⌈W/4⌉.</description></item>
/// <item><term><c>CamClasses</c></term><description><c>Vector&lt;Key&lt;UInt32, C&gt;&gt;</c>: the K present classes in ascending order,
/// as ML.NET keys (raw value = 0-based class index + 1) whose key values are the class names; map k of <c>Cam</c> belongs
/// to class <c>CamClasses[k] - 1</c>.</description></item>
/// <item><term><c>CamScores</c></term><description><c>Vector&lt;Single, C&gt;</c>: the classifier's sigmoid probability of every class,
/// with the class names as slot names.</description></item>
/// </list>
/// This is the layout of the command line's <c>cams/&lt;id&gt;.npz</c> files (<c>high_res</c>, <c>cam</c>, <c>keys</c>);
/// <see cref="MapColumns.Read(Microsoft.ML.IDataView, MapColumnNames)"/> reads the columns back into <see cref="ReCam.Cam.CamMaps"/>.
/// </summary>
public sealed record MapColumnNames
{
    /// <summary>The default base name of the CAM extractor's columns.</summary>
    public const string CamBaseName = "Cam";

    /// <summary>The default base name of the re-activation trainer's columns.</summary>
    public const string ReCamBaseName = "ReCam";

    /// <summary>Full-resolution maps.</summary>
    public required string Maps { get; init; }

    /// <summary>Image height H.</summary>
    public required string Height { get; init; }

    /// <summary>Image width W.</summary>
    public required string Width { get; init; }

    /// <summary>Stride-4 maps.</summary>
    public required string Stride4Maps { get; init; }

    /// <summary>Height of the stride-4 maps.</summary>
    public required string Stride4Height { get; init; }

    /// <summary>Width of the stride-4 maps.</summary>
    public required string Stride4Width { get; init; }

    /// <summary>Present classes (keys).</summary>
    public required string Classes { get; init; }

    /// <summary>Per-class probabilities.</summary>
    public required string Scores { get; init; }

    /// <summary>The names derived from a base name: <c>name</c>, <c>nameHeight</c>, <c>nameWidth</c>, <c>nameStride4</c>,
    /// <c>nameStride4Height</c>, <c>nameStride4Width</c>, <c>nameClasses</c>, <c>nameScores</c>.</summary>
    /// <param name="baseName">The maps column's name.</param>
    public static MapColumnNames FromBaseName(string baseName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(baseName);
        return new()
        {
            Maps = baseName, Height = baseName + "Height", Width = baseName + "Width", Stride4Maps = baseName + "Stride4",
            Stride4Height = baseName + "Stride4Height", Stride4Width = baseName + "Stride4Width", Classes = baseName + "Classes",
            Scores = baseName + "Scores",
        };
    }

    /// <summary>All names in output order (the order of the columns in the schema).</summary>
    public IReadOnlyList<string> All => [Classes, Scores, Maps, Height, Width, Stride4Maps, Stride4Height, Stride4Width];

    /// <summary>Writes the names in <see cref="All"/> order (8 .NET strings).</summary>
    internal void Write(BinaryWriter w)
    {
        foreach (string name in All) w.Write(name);
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    internal static MapColumnNames Read(BinaryReader r)
    {
        var c = new string[8];
        for (int i = 0; i < c.Length; i++) c[i] = r.ReadString();
        return new MapColumnNames
        {
            Classes = c[0], Scores = c[1], Maps = c[2], Height = c[3], Width = c[4], Stride4Maps = c[5], Stride4Height = c[6], Stride4Width = c[7],
        };
    }
}
