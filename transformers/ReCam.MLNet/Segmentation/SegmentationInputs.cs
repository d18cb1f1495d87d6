using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.Imaging;

namespace ReCam.MLNet;

/// <summary>The validated training columns of the segmenter: the image, and the mask as values with a size, or as a PNG path.</summary>
/// <param name="Image">Index of the image column.</param>
/// <param name="Mask">Index of the mask column.</param>
/// <param name="Height">Index of the mask's height column (values only).</param>
/// <param name="Width">Index of the mask's width column (values only).</param>
internal sealed record MaskColumns(int Image, int Mask, int? Height, int? Width)
{
    /// <summary>The mask column holds paths of label PNGs.</summary>
    public bool IsPath => Height is null;
}

/// <summary>
/// Schema checks of the segmenter's training input: the image column, and a mask column that is either <c>Vector&lt;Byte&gt;</c>
/// with <c>&lt;mask&gt;Height</c> and <c>&lt;mask&gt;Width</c> columns (what the mask refiner adds) or a <c>String</c> path of a
/// label PNG (0 background, c + 1 class c, 255 ignored, as PASCAL VOC's <c>SegmentationClass</c>).
/// </summary>
internal static class SegmentationInputs
{
    public const string MaskRole = "mask";

    private const string Expected = "Vector<Byte> with Int32 columns {0}Height and {0}Width, or String (the path of a label PNG)";

    /// <summary>Estimator side.</summary>
    public static void Check(IExceptionContext ectx, SchemaShape shape, string image, string mask)
    {
        MapInputs.CheckImage(ectx, shape, image);
        if (!MLNetBridge.TryFindColumn(shape, mask, out var column)) throw MLNetBridge.SchemaMismatch(ectx, MaskRole, mask);
        bool path = column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType is TextDataViewType;
        bool values = column.Kind != SchemaShape.Column.VectorKind.Scalar && column.ItemType.RawType == typeof(byte) && !column.IsKey;
        if (!path && !values) throw MLNetBridge.SchemaMismatch(ectx, MaskRole, mask, string.Format(null, Expected, mask), MLNetBridge.TypeString(column));
        if (path) return;
        var names = PseudoMaskColumnNames.FromBaseName(mask);
        foreach (string size in new[] { names.Height, names.Width })
        {
            if (!MLNetBridge.TryFindColumn(shape, size, out var c)) throw MLNetBridge.SchemaMismatch(ectx, MaskRole, size);
            if (c.Kind != SchemaShape.Column.VectorKind.Scalar || c.ItemType.RawType != typeof(int) || c.IsKey)
                throw MLNetBridge.SchemaMismatch(ectx, MaskRole, size, "Int32", MLNetBridge.TypeString(c));
        }
    }

    /// <summary>Fit side.</summary>
    public static MaskColumns Check(IExceptionContext ectx, DataViewSchema schema, string image, string mask)
    {
        int imageIndex = MapInputs.CheckImage(ectx, schema, image);
        var column = schema.GetColumnOrNull(mask) ?? throw MLNetBridge.SchemaMismatch(ectx, MaskRole, mask);
        if (column.Type is TextDataViewType) return new MaskColumns(imageIndex, column.Index, null, null);
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType n } || n.RawType != typeof(byte))
            throw MLNetBridge.SchemaMismatch(ectx, MaskRole, mask, string.Format(null, Expected, mask), column.Type.ToString());
        var names = PseudoMaskColumnNames.FromBaseName(mask);
        int Size(string name)
        {
            var c = schema.GetColumnOrNull(name) ?? throw MLNetBridge.SchemaMismatch(ectx, MaskRole, name);
            if (c.Type != NumberDataViewType.Int32) throw MLNetBridge.SchemaMismatch(ectx, MaskRole, name, "Int32", c.Type.ToString());
            return c.Index;
        }
        return new MaskColumns(imageIndex, column.Index, Size(names.Height), Size(names.Width));
    }
}

/// <summary>Reads the image and the mask of a cursor's rows.</summary>
internal sealed class SegmentationRowReader
{
    private readonly DataViewRow _row;
    private readonly string _imageColumn, _maskColumn;
    private readonly ValueGetter<MLImage> _image;
    private readonly ValueGetter<VBuffer<byte>>? _values;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _path;
    private readonly ValueGetter<int>? _height, _width;
    private MLImage _source = null!;
    private VBuffer<byte> _buffer;

    public SegmentationRowReader(DataViewRow row, MaskColumns columns)
    {
        _row = row;
        var s = row.Schema;
        (_imageColumn, _maskColumn) = (s[columns.Image].Name, s[columns.Mask].Name);
        _image = row.GetGetter<MLImage>(s[columns.Image]);
        if (columns.IsPath) _path = row.GetGetter<ReadOnlyMemory<char>>(s[columns.Mask]);
        else
        {
            _values = row.GetGetter<VBuffer<byte>>(s[columns.Mask]);
            _height = row.GetGetter<int>(s[columns.Height!.Value]);
            _width = row.GetGetter<int>(s[columns.Width!.Value]);
        }
    }

    /// <summary>The columns a reader reads.</summary>
    public static IEnumerable<int> Dependencies(MaskColumns c) => c.IsPath ? [c.Image, c.Mask] : [c.Image, c.Mask, c.Height!.Value, c.Width!.Value];

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
            throw new InvalidOperationException($"Row {_row.Position}: the image of column '{_imageColumn}' could not be loaded: {MapInputs.Innermost(e)}", e);
        }
        if (_source is null) throw new InvalidOperationException($"Row {_row.Position}: image column '{_imageColumn}' has no image.");
        return MLImageConversion.ToRgb(_source, _imageColumn);
    }

    /// <summary>The current row's mask, checked against <paramref name="image"/>'s size and <paramref name="labelCount"/>.</summary>
    /// <exception cref="InvalidOperationException">The mask cannot be read, does not fit the image, or has a value above the class count.</exception>
    public LabelMap Mask(RgbImage image, int labelCount)
    {
        LabelMap mask;
        string source;
        if (_path is not null)
        {
            ReadOnlyMemory<char> path = default;
            _path(ref path);
            source = $"'{path}' (column '{_maskColumn}')";
            try
            {
                mask = PngLabelReader.Read(path.ToString());
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"Row {_row.Position}: mask {source} could not be read: {e.Message}", e);
            }
        }
        else
        {
            int h = 0, w = 0;
            _values!(ref _buffer);
            _height!(ref h);
            _width!(ref w);
            source = $"of column '{_maskColumn}'";
            if (h < 1 || w < 1 || (long)h * w != _buffer.Length)
                throw new InvalidOperationException($"Row {_row.Position}: the mask {source} has {_buffer.Length} values for its stated size {w}x{h}.");
            mask = new LabelMap(w, h, _buffer.DenseValues().ToArray());
        }
        if (mask.Width != image.Width || mask.Height != image.Height)
            throw new InvalidOperationException($"Row {_row.Position}: the mask {source} is {mask.Width}x{mask.Height} but the image of column '{_imageColumn}' is {image.Width}x{image.Height}.");
        foreach (byte v in mask.Values)
            if (v >= labelCount && v != Training.DeepLabTrainer.IgnoreLabel)
                throw new InvalidOperationException($"Row {_row.Position}: the mask {source} has the value {v}, but there are {labelCount - 1} classes (values 0 to {labelCount - 1}, 255 = ignore).");
        return mask;
    }
}
