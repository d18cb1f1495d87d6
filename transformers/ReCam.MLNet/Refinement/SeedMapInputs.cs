using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.Cam;
using ReCam.Imaging;

namespace ReCam.MLNet;

/// <summary>The validated input columns of the mask refiner: the image and the seed maps of a CAM or ReCAM transformer.</summary>
/// <param name="Image">Index of the image column.</param>
/// <param name="Classes">Index of the maps' class-key column.</param>
/// <param name="Maps">Index of the full-resolution maps column.</param>
/// <param name="Stride4">Index of the stride-4 maps column.</param>
/// <param name="Height">Index of the maps' height column.</param>
/// <param name="Width">Index of the maps' width column.</param>
/// <param name="ClassCount">C, the key count of the class column.</param>
/// <param name="ClassNames">The class names the keys carry, if any.</param>
internal sealed record SeedMapColumns(int Image, int Classes, int Maps, int Stride4, int Height, int Width, int ClassCount, string[]? ClassNames);

/// <summary>
/// Schema checks of the mask refiner's input (the image, and the maps columns a CAM or ReCAM transformer adds; see
/// <see cref="MapColumnNames"/>), with ML.NET schema errors, and the reading of one row's maps.
/// </summary>
internal static class SeedMapInputs
{
    public const string MapsRole = "seed maps";

    /// <summary>Estimator side: the columns exist with the right kinds.</summary>
    public static void Check(IExceptionContext ectx, SchemaShape shape, string image, MapColumnNames maps)
    {
        MapInputs.CheckImage(ectx, shape, image);
        foreach (var (name, vector, key, item) in Expected(maps))
        {
            if (!MLNetBridge.TryFindColumn(shape, name, out var column)) throw MLNetBridge.SchemaMismatch(ectx, MapsRole, name);
            bool fits = column.IsKey == key && (column.Kind != SchemaShape.Column.VectorKind.Scalar) == vector && column.ItemType.RawType == item;
            if (!fits) throw MLNetBridge.SchemaMismatch(ectx, MapsRole, name, TypeName(vector, key, item), MLNetBridge.TypeString(column));
        }
    }

    /// <summary>Transformer and Fit side: the columns exist with the right types; with <paramref name="classCount"/>, the class keys must count as many classes.</summary>
    public static SeedMapColumns Check(IExceptionContext ectx, DataViewSchema schema, string image, MapColumnNames maps, int? classCount)
    {
        int imageIndex = MapInputs.CheckImage(ectx, schema, image);
        var indices = new List<int>();
        foreach (var (name, vector, key, item) in Expected(maps))
        {
            var column = schema.GetColumnOrNull(name) ?? throw MLNetBridge.SchemaMismatch(ectx, MapsRole, name);
            var type = column.Type;
            var itemType = type is VectorDataViewType v ? v.ItemType : type;
            bool fits = (type is VectorDataViewType) == vector && (itemType is KeyDataViewType) == key &&
                (itemType is KeyDataViewType k ? k.RawType : itemType.RawType) == item;
            if (!fits) throw MLNetBridge.SchemaMismatch(ectx, MapsRole, name, TypeName(vector, key, item), type.ToString());
            indices.Add(column.Index);
        }
        var classes = schema[indices[0]];
        var keyType = (KeyDataViewType)((VectorDataViewType)classes.Type).ItemType;
        if (keyType.Count is 0 or > IrLabelClassLimit)
            throw MLNetBridge.SchemaMismatch(ectx, MapsRole, classes.Name, $"Vector<Key<UInt32, C>> with 1 <= C <= {IrLabelClassLimit}", classes.Type.ToString());
        int count = (int)keyType.Count;
        if (classCount is int c && c != count)
            throw MLNetBridge.SchemaMismatch(ectx, MapsRole, classes.Name, $"Vector<Key<UInt32, {c}>> (the refiner was fitted on maps of {c} classes)", classes.Type.ToString());
        var names = MapInputs.ReadNames(classes.Annotations, AnnotationKinds.KeyValues, count);
        return new SeedMapColumns(imageIndex, indices[0], indices[1], indices[2], indices[3], indices[4], count, names);
    }

    /// <summary>The most classes an 8-bit IR label or pseudo mask holds (c + 1 for class c, 255 for unsure).</summary>
    public const int IrLabelClassLimit = 253;

    private static (string Name, bool Vector, bool Key, Type Item)[] Expected(MapColumnNames maps) =>
    [
        (maps.Classes, true, true, typeof(uint)), (maps.Maps, true, false, typeof(float)), (maps.Stride4Maps, true, false, typeof(float)),
        (maps.Height, false, false, typeof(int)), (maps.Width, false, false, typeof(int)),
    ];

    private static string TypeName(bool vector, bool key, Type item)
    {
        string inner = key ? "Key<UInt32>" : item == typeof(float) ? "Single" : "Int32";
        return vector ? $"Vector<{inner}>" : inner;
    }
}

/// <summary>Reads the image and the seed maps of a cursor's rows (one decode and one maps read per row).</summary>
internal sealed class SeedMapRowReader
{
    private readonly DataViewRow _row;
    private readonly string _imageColumn, _mapsColumn;
    private readonly ValueGetter<MLImage> _image;
    private readonly ValueGetter<VBuffer<uint>> _classes;
    private readonly ValueGetter<VBuffer<float>> _maps, _stride4;
    private readonly ValueGetter<int> _height, _width;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _path;
    private MLImage _source = null!;
    private VBuffer<uint> _k;
    private VBuffer<float> _m, _m4;

    /// <summary>Binds to <paramref name="row"/>; <paramref name="pathIndex"/> is the image-path column, for messages.</summary>
    public SeedMapRowReader(DataViewRow row, SeedMapColumns columns, int? pathIndex = null)
    {
        _row = row;
        var s = row.Schema;
        (_imageColumn, _mapsColumn) = (s[columns.Image].Name, s[columns.Maps].Name);
        _image = row.GetGetter<MLImage>(s[columns.Image]);
        _classes = row.GetGetter<VBuffer<uint>>(s[columns.Classes]);
        _maps = row.GetGetter<VBuffer<float>>(s[columns.Maps]);
        _stride4 = row.GetGetter<VBuffer<float>>(s[columns.Stride4]);
        _height = row.GetGetter<int>(s[columns.Height]);
        _width = row.GetGetter<int>(s[columns.Width]);
        if (pathIndex is int p) _path = row.GetGetter<ReadOnlyMemory<char>>(s[p]);
    }

    /// <summary>The columns a reader reads.</summary>
    public static IEnumerable<int> Dependencies(SeedMapColumns c) => [c.Image, c.Classes, c.Maps, c.Stride4, c.Height, c.Width];

    /// <summary>What names the current row in messages: its position, and its file when the data has the path column.</summary>
    public string RowName
    {
        get
        {
            if (_path is null) return $"Row {_row.Position}";
            ReadOnlyMemory<char> path = default;
            _path(ref path);
            return $"Row {_row.Position} ('{path}')";
        }
    }

    /// <summary>The current row's image.</summary>
    /// <exception cref="InvalidOperationException">The image cannot be loaded, or the row has none.</exception>
    public RgbImage Image()
    {
        try
        {
            _image(ref _source);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{RowName}: the image of column '{_imageColumn}' could not be loaded: {MapInputs.Innermost(e)}", e);
        }
        if (_source is null) throw new InvalidOperationException($"{RowName}: image column '{_imageColumn}' has no image.");
        return MLImageConversion.ToRgb(_source, _imageColumn);
    }

    /// <summary>The current row's maps, checked against <paramref name="image"/>'s size.</summary>
    /// <exception cref="InvalidOperationException">The maps do not fit the image or each other.</exception>
    public CamMaps Maps(RgbImage image)
    {
        int h = 0, w = 0;
        _classes(ref _k);
        _maps(ref _m);
        _stride4(ref _m4);
        _height(ref h);
        _width(ref w);
        if (h != image.Height || w != image.Width)
            throw new InvalidOperationException($"{RowName}: the maps of column '{_mapsColumn}' are {w}x{h} but the image of column '{_imageColumn}' is " +
                $"{image.Width}x{image.Height}. The maps must come from the same image column.");
        try
        {
            return MapColumns.ToMaps(_k.DenseValues().ToArray(), _m.DenseValues().ToArray(), _m4.DenseValues().ToArray(), h, w);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{RowName}: the maps of column '{_mapsColumn}' are inconsistent: {e.Message}", e);
        }
    }
}
