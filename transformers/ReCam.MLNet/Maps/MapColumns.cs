using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Cam;

namespace ReCam.MLNet;

/// <summary>
/// The map columns a CAM or ReCAM transformer adds (one list, used by the transformer's mapper and by the estimator's
/// output schema), and the way back from those columns to <see cref="CamMaps"/>.
/// </summary>
public static class MapColumns
{
    /// <summary>
    /// The added columns for <paramref name="classNames"/>, with their annotations (class names as key values of
    /// <see cref="MapColumnNames.Classes"/> and as slot names of <see cref="MapColumnNames.Scores"/>), in
    /// <see cref="MapColumnNames.All"/> order.
    /// </summary>
    internal static DataViewSchema.DetachedColumn[] Build(MapColumnNames names, IReadOnlyList<string> classNames)
    {
        int c = classNames.Count;
        var text = classNames.Select(n => n.AsMemory()).ToArray();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getNames = (ref VBuffer<ReadOnlyMemory<char>> dst) => dst = new VBuffer<ReadOnlyMemory<char>>(c, text);
        var keyAnnotations = new DataViewSchema.Annotations.Builder();
        keyAnnotations.AddKeyValues(c, TextDataViewType.Instance, getNames);
        var slotAnnotations = new DataViewSchema.Annotations.Builder();
        slotAnnotations.AddSlotNames(c, getNames);
        var maps = new VectorDataViewType(NumberDataViewType.Single);
        return
        [
            new(names.Classes, new VectorDataViewType(new KeyDataViewType(typeof(uint), c)), keyAnnotations.ToAnnotations()),
            new(names.Scores, new VectorDataViewType(NumberDataViewType.Single, c), slotAnnotations.ToAnnotations()),
            new(names.Maps, maps),
            new(names.Height, NumberDataViewType.Int32),
            new(names.Width, NumberDataViewType.Int32),
            new(names.Stride4Maps, maps),
            new(names.Stride4Height, NumberDataViewType.Int32),
            new(names.Stride4Width, NumberDataViewType.Int32),
        ];
    }

    /// <summary>
    /// An estimator's output schema shape: <paramref name="input"/> plus the columns <see cref="Build"/> gives (a schema shape
    /// carries no vector sizes, so the class count does not matter here).
    /// </summary>
    internal static SchemaShape OutputShape(SchemaShape input, MapColumnNames names, IReadOnlyList<string>? classNames) =>
        WithAdded(input, Build(names, classNames ?? ["class0"]));

    /// <summary><paramref name="input"/> with <paramref name="added"/> columns (replacing any of the same name), as an estimator promises them.</summary>
    internal static SchemaShape WithAdded(SchemaShape input, IEnumerable<DataViewSchema.DetachedColumn> added)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var column in added) builder.AddColumn(column.Name, column.Type, column.Annotations);
        var columns = input.ToDictionary(c => c.Name);
        foreach (var column in MLNetBridge.ShapeOf(builder.ToSchema())) columns[column.Name] = column;
        return new SchemaShape(columns.Values);
    }

    /// <summary>
    /// The maps of every row of <paramref name="data"/> from the columns named by <paramref name="names"/> (for example
    /// <c>MapColumnNames.FromBaseName("ReCam")</c>): what the command line's make-cam writes to <c>&lt;id&gt;.npz</c>, ready for
    /// <see cref="ReCam.Evaluation.SeedPrediction"/> or <see cref="CamMapsFile.Write"/>. One network pass per row.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing from <paramref name="data"/>.</exception>
    public static IEnumerable<CamMaps> Read(IDataView data, MapColumnNames names)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(names);
        var s = data.Schema;
        DataViewSchema.Column Column(string name) =>
            s.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(names), $"The data has no column '{name}'.");
        var columns = new[] { names.Classes, names.Maps, names.Stride4Maps, names.Height, names.Width }.Select(Column).ToArray();
        return Rows(data, columns);
    }

    private static IEnumerable<CamMaps> Rows(IDataView data, DataViewSchema.Column[] c)
    {
        using var cursor = data.GetRowCursor(c);
        var classes = cursor.GetGetter<VBuffer<uint>>(c[0]);
        var maps = cursor.GetGetter<VBuffer<float>>(c[1]);
        var stride4 = cursor.GetGetter<VBuffer<float>>(c[2]);
        var height = cursor.GetGetter<int>(c[3]);
        var width = cursor.GetGetter<int>(c[4]);
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
            yield return ToMaps(k.DenseValues().ToArray(), m.DenseValues().ToArray(), m4.DenseValues().ToArray(), h, w);
        }
    }

    /// <summary>
    /// The maps of one predicted row, from the values of its columns (for example the properties of a
    /// <see cref="PredictionEngine{TSrc, TDst}"/> output class): the class keys (0-based class index + 1), the full-resolution
    /// and the stride-4 maps, and the image size.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths do not fit the keys and the size.</exception>
    public static CamMaps ToMaps(uint[] classes, float[] maps, float[] stride4Maps, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Any(k => k == 0)) throw new ArgumentException("Class keys start at 1 (key 0 is ML.NET's missing value).", nameof(classes));
        return new CamMaps(classes.Select(key => (long)key - 1).ToArray(), stride4Maps, CamMaps.StridedSize(height), CamMaps.StridedSize(width),
            maps, height, width);
    }
}
