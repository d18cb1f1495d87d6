// ML.NET internal API: the model load context (reading a saved map component's header). The CAM and ReCAM transformers
// derive from this class.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.Cam;
using ReCam.Evaluation;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Training;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// What the CAM and the ReCAM transformers share: a CAM network (backbone + W1) and the classifier weight its maps use; the
/// model's description; a row mapper that computes each row lazily, once for all its columns; the background threshold chosen
/// at fit. Not meant to be derived from outside ReCam.MLNet.
/// </summary>
public abstract class MapTransformerBase : NetworkTransformerBase<CamNetwork>
{
    private readonly CamExtractor _extractor;
    private readonly Tensor? _ownedWeight;
    private readonly Tensor? _pixelClassWeight;
    private long _scoreCount, _extractCount;

    /// <summary>
    /// Takes ownership of <paramref name="network"/> and moves it to <paramref name="device"/>. The maps use W1, or the weight
    /// <paramref name="extractionWeight"/> builds from the moved network; <paramref name="pixelClassWeight"/>, when given, builds the
    /// weight that ranks the classes at each pixel (see <see cref="CamExtractor"/>). Both are owned and disposed by this transformer.
    /// </summary>
    private protected MapTransformerBase(IHostEnvironment env, string registrationName, CamNetwork network, MapModelInfo info, Device device,
        Func<CamNetwork, Tensor>? extractionWeight = null, Func<CamNetwork, Tensor>? pixelClassWeight = null)
        : base(env, registrationName, network, device)
    {
        Info = info;
        using (no_grad())
        {
            _ownedWeight = extractionWeight?.Invoke(network);
            _pixelClassWeight = pixelClassWeight?.Invoke(network);
        }
        _extractor = new CamExtractor(network, _ownedWeight, info.Scales, info.MaxInputSide, pixelClassWeight: _pixelClassWeight);
    }

    /// <summary>The class names, in class-index order; their count is C.</summary>
    public IReadOnlyList<string> ClassNames => Info.ClassNames;

    /// <summary>The backbone name (see ReCam.Networks.BackboneCatalog).</summary>
    public string Backbone => Info.Backbone.Name;

    /// <summary>The extraction scales.</summary>
    public IReadOnlyList<double> Scales => Info.Scales;

    /// <summary>Longest side of any image the backbone sees; larger images are processed at proportionally smaller scales.</summary>
    public int MaxInputSide => Info.MaxInputSide;

    /// <summary>Probability (of the classifier W1) above which a class counts as present when the input has no label column.</summary>
    public float Threshold => Info.Threshold;

    /// <summary>Name of the image column read.</summary>
    public string ImageColumnName => Info.ImageColumnName;

    /// <summary>Name of the label column, used at transform time when present in the input.</summary>
    public string LabelColumnName => Info.LabelColumnName;

    /// <summary>Names of the added columns.</summary>
    public MapColumnNames OutputColumns => Info.Columns;

    /// <summary>The model's metadata (for components that continue from it).</summary>
    internal MapModelInfo Info { get; private set; }

    /// <summary>
    /// The background threshold for seeds (<c>SeedPrediction.Predict(maps, BackgroundThreshold)</c>), chosen at fit from the maps of
    /// up to <see cref="ThresholdImages"/> training images and their maps, without masks (the normalised cut of <see cref="AutomaticThreshold"/>, as <c>threshold.json</c> on the command line).
    /// </summary>
    public float BackgroundThreshold => Info.BackgroundThreshold;

    /// <summary>Training images whose maps choose <see cref="BackgroundThreshold"/> at fit.</summary>
    public const int ThresholdImages = 64;

    /// <summary>Chooses <see cref="BackgroundThreshold"/> from the maps of the first labelled <paramref name="samples"/> (called once, by Fit).</summary>
    internal void ChooseBackgroundThreshold(IReadOnlyList<TrainingSample> samples, IChannel ch)
    {
        var estimate = new AutomaticThreshold();
        foreach (var sample in samples.Where(s => s.Labels.Any(v => v > 0)).Take(ThresholdImages))
        {
            long[] keys = Enumerable.Range(0, sample.Labels.Length).Where(k => sample.Labels[k] > 0).Select(k => (long)k).ToArray();
            var image = sample.Image ?? ImageDecoder.LoadRgb(sample.ImagePath);
            CamMaps maps;
            lock (Gate) maps = _extractor.Extract(image, keys);
            estimate.Add(maps, image);
        }
        if (estimate.Pixels == 0) return;
        Info = Info with { BackgroundThreshold = estimate.Estimate() };
        ch.Info(MessageSensitivity.None, $"Background threshold {BackgroundThreshold:F3}, chosen without masks ({estimate.Method}; Otsu {estimate.Otsu():F3}) from the maps of {estimate.Images} training images.");
    }

    /// <summary>Number of classifier passes and of map extractions run so far (for tests of laziness).</summary>
    internal (long Scores, long Extractions) WorkDone => (Interlocked.Read(ref _scoreCount), Interlocked.Read(ref _extractCount));

    private protected override void WriteInfo(BinaryWriter writer) => Info.Write(writer);

    /// <summary>Frees the extraction weight; a derived transformer that owns more frees it too and calls this.</summary>
    private protected override void DisposeOwned()
    {
        _ownedWeight?.Dispose();
        _pixelClassWeight?.Dispose();
    }

    /// <summary>Copies this classifier's backbone into a segmenter of the same backbone, for it to start from.</summary>
    internal void CopyBackboneTo(DeepLabNetwork segmenter) => UseNetwork(network => segmenter.LoadBackbone(network.Backbone));

    /// <summary>Sigmoid probabilities of every class for one image: one forward pass at scale 1, no flip, classifier W1.</summary>
    internal float[] Score(RgbImage image) => UseNetwork(network =>
    {
        Interlocked.Increment(ref _scoreCount);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int pixels = image.Width * image.Height;
        var chw = new float[3 * pixels];
        network.Normalization.ToChw(image.Pixels, pixels, chw);
        var x = tensor(chw, [1, 3, image.Height, image.Width]).to(ComputeDevice);
        return network.call(x).sigmoid().cpu().contiguous().data<float>().ToArray();
    });

    /// <summary>The maps of the given classes (0-based, ascending) for one image.</summary>
    internal CamMaps Extract(RgbImage image, long[] keys) => UseNetwork(_ =>
    {
        Interlocked.Increment(ref _extractCount);
        return _extractor.Extract(image, keys);
    });

    private protected override IRowMapper CreateMapper(DataViewSchema schema) => new Mapper(this, schema);

    /// <summary>Reads the header of a saved map component (<see cref="ModelState.Open"/>), then its <see cref="MapModelInfo"/>.</summary>
    internal static ModelStateReader OpenState(IHostEnvironment env, ModelLoadContext ctx, ModelFormat format, Type type)
    {
        var reader = ModelState.Open(env, ctx, format, type);
        return reader with { Info = MapModelInfo.Read(ctx.Reader, reader.Version, m => reader.Corrupt($"Damaged {format.Description}: {m}.")) };
    }

    /// <summary>
    /// The mapper bound to one input schema. Getter → <see cref="RowState"/> → <see cref="Extract"/> (or <see cref="Score"/>) →
    /// the network: all getters of one cursor share a <see cref="RowState"/>, so the image is decoded, the classifier scored
    /// and the maps extracted at most once per row, and only when an output needs it.
    /// </summary>
    private sealed class Mapper : RowMapper
    {
        private const int Classes = 0, Scores = 1, Maps = 2, Height = 3, Width = 4, Stride4Maps = 5, Stride4Height = 6, Stride4Width = 7;

        private readonly MapTransformerBase _owner;
        private readonly int _imageIndex;
        private readonly LabelColumn? _label;

        public Mapper(MapTransformerBase parent, DataViewSchema inputSchema)
            : base(parent, inputSchema)
        {
            _owner = parent;
            var info = parent.Info;
            _imageIndex = MapInputs.CheckImage(parent.Host, inputSchema, info.ImageColumnName);
            var labelColumn = inputSchema.GetColumnOrNull(info.LabelColumnName);
            _label = labelColumn is null ? null : MapInputs.CheckLabel(parent.Host, labelColumn.Value, info.ClassNames.Length);
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => MapColumns.Build(_owner.Info.Columns, _owner.Info.ClassNames);

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput) => Needed(activeOutput).Contains;

        private HashSet<int> Needed(Func<int, bool> activeOutput)
        {
            var needed = new HashSet<int>();
            if (!Enumerable.Range(0, 8).Any(activeOutput)) return needed;
            needed.Add(_imageIndex);
            // The label chooses the classes; only the classes and the maps depend on it (sizes and scores do not).
            if (_label is not null && new[] { Classes, Maps, Stride4Maps }.Any(activeOutput)) needed.Add(_label.Index);
            return needed;
        }

        public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
        {
            _owner.ThrowIfDisposed();
            disposer = () => { };
            var getters = new Delegate[8];
            // Nothing of ours is read (a later transform reads only pass-through columns): the image column is then inactive.
            if (!Enumerable.Range(0, getters.Length).Any(activeOutput)) return getters;
            var row = new RowState(_owner, input, _imageIndex, Needed(activeOutput).Contains(_label?.Index ?? -1) ? _label : null);
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
    }

    /// <summary>The lazily computed results of a cursor's current row.</summary>
    private sealed class RowState(MapTransformerBase parent, DataViewRow input, int imageIndex, LabelColumn? label)
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
                try
                {
                    // ML.NET getter convention: the previous value is handed back, for the source to reuse or release.
                    _imageGetter(ref _source!);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new InvalidOperationException(
                        $"Row {input.Position}: the image of column '{_imageColumn}' could not be loaded: {MapInputs.Innermost(e)}", e);
                }
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
            // No label column, or a row whose label names no class (an image to segment, not to train on): the classifier decides.
            if (_keys is null || _keys.Length == 0)
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
