using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using ReCam.Training;

namespace ReCam.MLNet;

/// <summary>How the label column encodes the image-level classes.</summary>
internal enum LabelEncoding
{
    /// <summary>Multi-hot <c>Vector&lt;Single, C&gt;</c> (value &gt; 0 = present).</summary>
    MultiHotSingle,

    /// <summary>Multi-hot <c>Vector&lt;Boolean, C&gt;</c>.</summary>
    MultiHotBoolean,

    /// <summary>A vector of <c>Key&lt;UInt32, C&gt;</c>: the present classes (missing keys ignored).</summary>
    KeyVector,

    /// <summary>A single <c>Key&lt;UInt32, C&gt;</c>: one class per image.</summary>
    KeyScalar,
}

/// <summary>A validated label column.</summary>
/// <param name="Index">Column index in its schema.</param>
/// <param name="Name">Column name.</param>
/// <param name="Encoding">How classes are encoded.</param>
/// <param name="ClassCount">Number of classes C.</param>
/// <param name="AnnotatedNames">Class names found in the column's slot names / key values, if any.</param>
internal sealed record LabelColumn(int Index, string Name, LabelEncoding Encoding, int ClassCount, string[]? AnnotatedNames);

/// <summary>Schema checks of the map components' input columns (image, label), with ML.NET-style schema errors, and reading of the training rows.</summary>
internal static class MapInputs
{
    public const string DefaultImageColumnName = "Image";
    public const string DefaultLabelColumnName = "Label";
    public const string ImageRole = "image";
    public const string LabelRole = "label";

    /// <summary>The accepted label types, for error messages.</summary>
    public static string ExpectedLabelType(int? classCount)
    {
        string c = classCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "C";
        return $"Vector<Single, {c}>, Vector<Boolean, {c}>, Vector<Key<UInt32, {c}>> or Key<UInt32, {c}>";
    }

    /// <summary>Checks the image column of a schema; returns its index.</summary>
    public static int CheckImage(IExceptionContext ectx, DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw MLNetBridge.SchemaMismatch(ectx, ImageRole, name);
        if (column.Type is not ImageDataViewType)
            throw MLNetBridge.SchemaMismatch(ectx, ImageRole, name, "Image", column.Type.ToString());
        return column.Index;
    }

    /// <summary>Checks the image column of the data given to Fit; returns its index. Names the cache checkpoint when one dropped it.</summary>
    public static int CheckImage(IExceptionContext ectx, IDataView data, string name)
    {
        if (data.Schema.GetColumnOrNull(name) is null && MLNetBridge.DroppedByCache(data, name))
            throw MLNetBridge.SchemaError(ectx,
                $"Image column '{name}' is not in the data given to Fit because a cache checkpoint (AppendCacheCheckpoint) after LoadImages " +
                "dropped it: ML.NET's cache keeps no image columns. Put the cache checkpoint before LoadImages (it then caches the paths), or leave it out.");
        return CheckImage(ectx, data.Schema, name);
    }

    /// <summary>The column holding the file paths that <c>LoadImages</c> turned into image column <paramref name="imageColumn"/>, if the data has it.</summary>
    public static int? ImagePathColumn(IDataView data, string imageColumn)
    {
        string? source = MLNetBridge.ImageLoaderSource(data, imageColumn);
        return source is not null && data.Schema.GetColumnOrNull(source) is { Type: TextDataViewType } path ? path.Index : null;
    }

    /// <summary>The message of the innermost exception: ML.NET wraps image-loading failures in cursor and worker errors.</summary>
    public static string Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }

    /// <summary>Checks the image column of a schema shape (estimator side).</summary>
    public static void CheckImage(IExceptionContext ectx, SchemaShape shape, string name)
    {
        if (!MLNetBridge.TryFindColumn(shape, name, out var column)) throw MLNetBridge.SchemaMismatch(ectx, ImageRole, name);
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not ImageDataViewType)
            throw MLNetBridge.SchemaMismatch(ectx, ImageRole, name, "Image", MLNetBridge.TypeString(column));
    }

    /// <summary>Checks the label column of a schema shape (estimator side; vector sizes are checked by Fit).</summary>
    public static void CheckLabel(IExceptionContext ectx, SchemaShape shape, string name, int? classCount)
    {
        if (!MLNetBridge.TryFindColumn(shape, name, out var column)) throw MLNetBridge.SchemaMismatch(ectx, LabelRole, name);
        bool multiHot = !column.IsKey && column.Kind == SchemaShape.Column.VectorKind.Vector &&
            (column.ItemType == NumberDataViewType.Single || column.ItemType == BooleanDataViewType.Instance);
        bool keys = column.IsKey && column.ItemType.RawType == typeof(uint);
        if (!multiHot && !keys)
            throw MLNetBridge.SchemaMismatch(ectx, LabelRole, name, ExpectedLabelType(classCount), MLNetBridge.TypeString(column));
    }

    /// <summary>Checks the label column of a schema; with <paramref name="classCount"/> its class count must match.</summary>
    public static LabelColumn CheckLabel(IExceptionContext ectx, DataViewSchema.Column column, int? classCount)
    {
        var type = column.Type;
        LabelEncoding encoding;
        int count;
        if (type is VectorDataViewType vector && !(vector.ItemType is KeyDataViewType))
        {
            encoding = vector.ItemType == NumberDataViewType.Single ? LabelEncoding.MultiHotSingle
                : vector.ItemType == BooleanDataViewType.Instance ? LabelEncoding.MultiHotBoolean
                : throw MLNetBridge.SchemaMismatch(ectx, LabelRole, column.Name, ExpectedLabelType(classCount), type.ToString());
            count = vector.Size;
            if (count == 0)
                throw MLNetBridge.SchemaMismatch(ectx, LabelRole, column.Name, ExpectedLabelType(classCount) + " (a vector of known size)", type.ToString());
        }
        else if ((type is VectorDataViewType keys ? keys.ItemType : type) is KeyDataViewType key && key.RawType == typeof(uint) && key.Count is > 0 and <= int.MaxValue)
        {
            encoding = type is VectorDataViewType ? LabelEncoding.KeyVector : LabelEncoding.KeyScalar;
            count = (int)key.Count;
        }
        else
        {
            throw MLNetBridge.SchemaMismatch(ectx, LabelRole, column.Name, ExpectedLabelType(classCount), type.ToString());
        }
        if (classCount is int c && count != c)
            throw MLNetBridge.SchemaMismatch(ectx, LabelRole, column.Name, ExpectedLabelType(c), type.ToString());
        string kind = encoding is LabelEncoding.KeyVector or LabelEncoding.KeyScalar ? AnnotationKinds.KeyValues : AnnotationKinds.SlotNames;
        return new LabelColumn(column.Index, column.Name, encoding, count, ReadNames(column.Annotations, kind, count));
    }

    /// <summary>
    /// Reads the training rows: every image with at least one positive label, decoded into memory (rows without a positive
    /// label are skipped and counted in the log, as the command line's train steps do). Label keys that name no class (for
    /// example a name <c>MapValueToKey</c> did not know) are dropped with a warning. An image that cannot be loaded is an
    /// error naming the row and, when the data has it, the file.
    /// </summary>
    public static List<TrainingSample> ReadTrainingSamples(IExceptionContext ectx, IChannel ch, IDataView input, int imageIndex, LabelColumn label,
        CancellationToken cancellationToken)
    {
        var samples = new List<TrainingSample>();
        int skipped = 0;
        string imageName = input.Schema[imageIndex].Name;
        int? pathIndex = ImagePathColumn(input, imageName);
        var columns = new List<DataViewSchema.Column> { input.Schema[imageIndex], input.Schema[label.Index] };
        if (pathIndex is int p) columns.Add(input.Schema[p]);
        using var cursor = input.GetRowCursor(columns);
        var imageGetter = cursor.GetGetter<MLImage>(input.Schema[imageIndex]);
        var pathGetter = pathIndex is int pi ? cursor.GetGetter<ReadOnlyMemory<char>>(input.Schema[pi]) : null;
        var labels = LabelReader.Create(cursor, label);
        MLImage image = null!;
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var multiHot = labels.Read();
            if (!multiHot.Any(v => v > 0))
            {
                skipped++;
                continue;
            }
            try
            {
                imageGetter(ref image);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ReadOnlyMemory<char> path = default;
                pathGetter?.Invoke(ref path);
                throw MLNetBridge.Error(ectx, e, $"Row {cursor.Position}: the image of column '{imageName}'" +
                    (pathGetter is null ? "" : $" ('{path}')") + $" could not be loaded: {Innermost(e)}");
            }
            if (image is null) throw MLNetBridge.Error(ectx, $"Image column '{imageName}' has no image in row {cursor.Position}.");
            samples.Add(new TrainingSample($"row {cursor.Position}", MLImageConversion.ToRgb(image, imageName), multiHot));
        }
        if (skipped > 0) ch.Info(MessageSensitivity.None, $"{skipped} row(s) without any positive label skipped.");
        if (labels.UnknownKeys > 0)
            ch.Warning(MessageSensitivity.None, $"{labels.UnknownKeys} label value(s) in column '{label.Name}' name no class (a missing key: for example " +
                "a name that MapValueToKey did not know) and were dropped. Check the names, or build the key mapping from the full class list.");
        return samples;
    }

    internal static string[]? ReadNames(DataViewSchema.Annotations annotations, string kind, int count)
    {
        var slot = annotations.Schema.GetColumnOrNull(kind);
        if (slot is null || slot.Value.Type is not VectorDataViewType { ItemType: TextDataViewType } t || t.Size != count) return null;
        VBuffer<ReadOnlyMemory<char>> names = default;
        annotations.GetValue(kind, ref names);
        var dense = names.DenseValues().Select(n => n.ToString()).ToArray();
        return dense.Length == count && dense.All(n => n.Length > 0) ? dense : null;
    }
}

/// <summary>Names of the ML.NET annotation kinds used here.</summary>
internal static class AnnotationKinds
{
    public const string SlotNames = "SlotNames";
    public const string KeyValues = "KeyValues";
}

/// <summary>Reads one row's label as a multi-hot vector.</summary>
internal sealed class LabelReader
{
    private Func<float[]> _read = () => [];

    /// <summary>Key values read so far that name no class (0, ML.NET's missing key, or above C).</summary>
    public int UnknownKeys { get; private set; }

    /// <summary>The multi-hot label of the current row (length C).</summary>
    public float[] Read() => _read();

    /// <summary>Binds a reader to <paramref name="row"/>.</summary>
    public static LabelReader Create(DataViewRow row, LabelColumn label)
    {
        var column = row.Schema[label.Index];
        int c = label.ClassCount;
        switch (label.Encoding)
        {
            case LabelEncoding.MultiHotSingle:
            {
                var getter = row.GetGetter<VBuffer<float>>(column);
                VBuffer<float> buffer = default;
                return new LabelReader
                {
                    _read = () =>
                    {
                        getter(ref buffer);
                        var result = new float[c];
                        foreach (var (i, v) in buffer.Items()) result[i] = v > 0 ? 1f : 0f;
                        return result;
                    },
                };
            }
            case LabelEncoding.MultiHotBoolean:
            {
                var getter = row.GetGetter<VBuffer<bool>>(column);
                VBuffer<bool> buffer = default;
                return new LabelReader
                {
                    _read = () =>
                    {
                        getter(ref buffer);
                        var result = new float[c];
                        foreach (var (i, v) in buffer.Items()) result[i] = v ? 1f : 0f;
                        return result;
                    },
                };
            }
            case LabelEncoding.KeyVector:
            {
                var getter = row.GetGetter<VBuffer<uint>>(column);
                VBuffer<uint> buffer = default;
                var reader = new LabelReader();
                reader._read = () =>
                {
                    getter(ref buffer);
                    var result = new float[c];
                    foreach (uint k in buffer.DenseValues())
                    {
                        if (k >= 1 && k <= c) result[k - 1] = 1f;
                        else reader.UnknownKeys++;
                    }
                    return result;
                };
                return reader;
            }
            default:
            {
                var getter = row.GetGetter<uint>(column);
                uint value = 0;
                var reader = new LabelReader();
                reader._read = () =>
                {
                    getter(ref value);
                    var result = new float[c];
                    if (value >= 1 && value <= c) result[value - 1] = 1f;
                    else reader.UnknownKeys++;
                    return result;
                };
                return reader;
            }
        }
    }
}
