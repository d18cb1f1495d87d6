using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Imaging;
using ReCam.IO;

namespace ReCam.MLNet;

/// <summary>
/// What the map columns are computed from: a fitted CAM model (<see cref="ClassActivationMapTransformer"/>) or a re-activated
/// one (<see cref="ReactivatedClassActivationMapTransformer"/>). Both emit the same columns.
/// </summary>
internal interface IMapModel
{
    /// <summary>Class names, backbone, scales, threshold and column names.</summary>
    CamModelInfo Info { get; }

    /// <summary>Sigmoid probabilities of every class for one image.</summary>
    float[] Score(RgbImage image);

    /// <summary>The maps of the given classes (0-based, ascending) for one image.</summary>
    CamMaps Extract(RgbImage image, long[] keys);
}

/// <summary>
/// A map transformer (CAM or ReCAM) bound to an input schema. All getters of one cursor share a <see cref="RowResult"/>: the image
/// is decoded, the classifier scored and the maps extracted at most once per row, and only when an output needs it.
/// </summary>
internal sealed class CamRowBinding : RowBinding
{
    private const int Classes = 0, Scores = 1, Maps = 2, Height = 3, Width = 4, Stride4Maps = 5, Stride4Height = 6, Stride4Width = 7;

    private readonly IMapModel _parent;
    private readonly int _imageIndex;
    private readonly LabelColumn? _label;

    public CamRowBinding(IMapModel parent, int imageIndex, LabelColumn? label)
    {
        _parent = parent;
        _imageIndex = imageIndex;
        _label = label;
        OutputColumns = MakeColumns(parent.Info);
    }

    public override DataViewSchema.DetachedColumn[] OutputColumns { get; }

    /// <summary>The output columns and their annotations (class names as key values and slot names).</summary>
    public static DataViewSchema.DetachedColumn[] MakeColumns(CamModelInfo info)
    {
        var names = info.Columns;
        int c = info.ClassNames.Length;
        var text = info.ClassNames.Select(n => n.AsMemory()).ToArray();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> classNames = (ref VBuffer<ReadOnlyMemory<char>> dst) => dst = new VBuffer<ReadOnlyMemory<char>>(c, text);

        var keyAnnotations = new DataViewSchema.Annotations.Builder();
        keyAnnotations.AddKeyValues(c, TextDataViewType.Instance, classNames);
        var slotAnnotations = new DataViewSchema.Annotations.Builder();
        slotAnnotations.AddSlotNames(c, classNames);
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

    public override HashSet<int> InputColumnsNeeded(Func<int, bool> activeOutput)
    {
        var needed = new HashSet<int>();
        if (!Enumerable.Range(0, OutputColumns.Length).Any(activeOutput)) return needed;
        needed.Add(_imageIndex);
        if (_label is not null && (activeOutput(Classes) || Enumerable.Range(Maps, 6).Any(i => i != Height && i != Width && activeOutput(i))))
            needed.Add(_label.Index);
        return needed;
    }

    public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
    {
        disposer = () => { };
        var getters = new Delegate[OutputColumns.Length];
        // Nothing of ours is read (a later transform reads only pass-through columns): the image column is then inactive.
        if (!Enumerable.Range(0, getters.Length).Any(activeOutput)) return getters;
        var row = new RowResult(_parent, input, _imageIndex, _label is not null && InputColumnsNeeded(activeOutput).Contains(_label.Index) ? _label : null);
        for (int i = 0; i < getters.Length; i++)
        {
            if (!activeOutput(i)) continue;
            getters[i] = i switch
            {
                Classes => (ValueGetter<VBuffer<uint>>)((ref VBuffer<uint> dst) =>
                {
                    var keys = row.Keys();
                    var editor = VBufferEditor.Create(ref dst, keys.Length);
                    for (int k = 0; k < keys.Length; k++) editor.Values[k] = (uint)keys[k] + 1;
                    dst = editor.Commit();
                }),
                Scores => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Copy(row.Scores(), ref dst)),
                Maps => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Copy(row.Maps().HighRes, ref dst)),
                Stride4Maps => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Copy(row.Maps().Cam, ref dst)),
                Height => (ValueGetter<int>)((ref int dst) => dst = row.Image().Height),
                Width => (ValueGetter<int>)((ref int dst) => dst = row.Image().Width),
                Stride4Height => (ValueGetter<int>)((ref int dst) => dst = CamMaps.StridedSize(row.Image().Height)),
                _ => (ValueGetter<int>)((ref int dst) => dst = CamMaps.StridedSize(row.Image().Width)),
            };
        }
        return getters;
    }

    private static void Copy(float[] source, ref VBuffer<float> dst)
    {
        var editor = VBufferEditor.Create(ref dst, source.Length);
        source.CopyTo(editor.Values);
        dst = editor.Commit();
    }

    /// <summary>The lazily computed results of the cursor's current row.</summary>
    private sealed class RowResult(IMapModel parent, DataViewRow input, int imageIndex, LabelColumn? label)
    {
        private readonly ValueGetter<MLImage> _imageGetter = input.GetGetter<MLImage>(input.Schema[imageIndex]);
        private readonly LabelReader? _labels = label is null ? null : LabelReader.Create(input, label);
        private readonly string _imageColumn = input.Schema[imageIndex].Name;
        private long _position = -1;
        private MLImage? _source;
        private RgbImage? _image;
        private float[]? _scores;
        private long[]? _keys;
        private CamMaps? _maps;

        public RgbImage Image()
        {
            if (_position != input.Position || _image is null)
            {
                _scores = null;
                _keys = null;
                _maps = null;
                // ML.NET getter convention: the previous value is handed back, for the source to reuse or release.
                _imageGetter(ref _source!);
                if (_source is null) throw new InvalidOperationException($"Image column '{_imageColumn}' has no image in row {input.Position}.");
                _image = MLImageConversion.ToRgb(_source, _imageColumn);
                _position = input.Position;
            }
            return _image;
        }

        public float[] Scores()
        {
            var image = Image();
            return _scores ??= parent.Score(image);
        }

        public long[] Keys()
        {
            var image = Image();
            if (_keys is not null) return _keys;
            if (_labels is not null)
            {
                var multiHot = _labels.Read();
                _keys = Enumerable.Range(0, multiHot.Length).Where(k => multiHot[k] > 0).Select(k => (long)k).ToArray();
            }
            else
            {
                _scores ??= parent.Score(image);
                _keys = Enumerable.Range(0, _scores.Length).Where(k => _scores[k] > parent.Info.Threshold).Select(k => (long)k).ToArray();
            }
            return _keys;
        }

        public CamMaps Maps()
        {
            var image = Image();
            return _maps ??= parent.Extract(image, Keys());
        }
    }
}
