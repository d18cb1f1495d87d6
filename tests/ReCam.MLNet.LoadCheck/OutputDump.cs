using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReCam.MLNet.LoadCheck;

/// <summary>
/// Serialises the columns a model adds, row by row, so that two processes' outputs compare bytewise. Used for every
/// ReCam component (the estimator contract test): a column type it cannot write is an error, so a new component's
/// columns are never silently left out of the comparison.
/// </summary>
public static class OutputDump
{
    /// <summary>Input row of the save/load check: an absolute image path (no label: the model's classifier chooses the classes).</summary>
    public sealed class PathRow
    {
        /// <summary>Absolute image path.</summary>
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Builds the unlabelled input rows for <paramref name="imagePaths"/>.</summary>
    public static IDataView Rows(MLContext ml, IEnumerable<string> imagePaths) =>
        ml.Data.LoadFromEnumerable(imagePaths.Select(p => new PathRow { ImagePath = p }).ToList());

    /// <summary>
    /// The columns of <paramref name="data"/> that are not in <paramref name="input"/> (the ones a model added), except decoded
    /// images, which are an input of the components rather than an output.
    /// </summary>
    public static IReadOnlyList<DataViewSchema.Column> AddedColumns(IDataView data, DataViewSchema input) =>
        data.Schema.Where(c => !c.IsHidden && input.GetColumnOrNull(c.Name) is null && c.Type is not Microsoft.ML.Transforms.Image.ImageDataViewType).ToList();

    /// <summary>Reads every row of the columns that <paramref name="data"/> has beyond <paramref name="input"/> into bytes.</summary>
    public static byte[] Dump(IDataView data, DataViewSchema input)
    {
        var columns = AddedColumns(data, input);
        if (columns.Count == 0) throw new InvalidOperationException("The model added no column to dump.");
        var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        foreach (var c in columns) w.Write(c.Name);
        using var cursor = data.GetRowCursor(columns);
        var writers = columns.Select(c => Writer(cursor, c, w)).ToArray();
        while (cursor.MoveNext())
        {
            foreach (var write in writers) write();
        }
        w.Flush();
        return stream.ToArray();
    }

    private static Action Writer(DataViewRowCursor cursor, DataViewSchema.Column column, BinaryWriter w)
    {
        var type = column.Type;
        var item = type is VectorDataViewType v ? v.ItemType : type;
        var raw = item is KeyDataViewType key ? key.RawType : item.RawType;
        if (type is VectorDataViewType)
        {
            if (raw == typeof(float)) return Vector<float>(cursor, column, w, w.Write);
            if (raw == typeof(uint)) return Vector<uint>(cursor, column, w, w.Write);
            if (raw == typeof(byte)) return Vector<byte>(cursor, column, w, w.Write);
        }
        else
        {
            if (raw == typeof(int)) return Scalar<int>(cursor, column, w.Write);
            if (raw == typeof(float)) return Scalar<float>(cursor, column, w.Write);
            if (raw == typeof(uint)) return Scalar<uint>(cursor, column, w.Write);
        }
        throw new NotSupportedException($"Column '{column.Name}' of type {type} cannot be dumped; extend OutputDump.");
    }

    private static Action Vector<T>(DataViewRowCursor cursor, DataViewSchema.Column column, BinaryWriter w, Action<T> write)
    {
        var getter = cursor.GetGetter<VBuffer<T>>(column);
        VBuffer<T> buffer = default;
        return () =>
        {
            getter(ref buffer);
            w.Write(buffer.Length);
            foreach (var value in buffer.DenseValues()) write(value);
        };
    }

    private static Action Scalar<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Action<T> write)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () =>
        {
            getter(ref value);
            write(value);
        };
    }
}
