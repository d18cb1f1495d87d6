using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Segmentation;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// A trained DeepLab segmentation network as an ML.NET transformer: for each row, the image (an <c>MLImage</c> column, or a
/// <c>Vector&lt;Byte&gt;</c> column of encoded JPEG or PNG bytes, which prediction engines can take) is segmented (the scales and
/// flip of <see cref="Scales"/> and <see cref="Flip"/>, optional dense CRF) into a mask and its class areas (columns in
/// <see cref="SegmentationColumnNames"/>: 0 background, c + 1 class c). Reads only the image column, so a model of this
/// transformer alone (after <c>LoadImages</c>) serves images that have no labels. Lazy, once per row; safe to use from
/// several prediction engines at once (the network runs one row at a time). Saves into ML.NET <c>.zip</c> models and loads
/// in any process without registration. Dispose it to free native memory.
/// </summary>
public sealed class DeepLabSegmentationTransformer : NetworkTransformerBase<DeepLabNetwork>
{
    internal const string LoaderSignature = "ReCamDeepLabSegmenter";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMDLB", ModelState.DigestsVersion, ModelState.DigestsVersion, LoaderSignature, "ReCam DeepLab segmentation model");

    internal const string WeightsEntry = "DeepLabWeights";

    private long _segmented;

    /// <summary>Takes ownership of <paramref name="network"/> and moves it to <paramref name="device"/>.</summary>
    internal DeepLabSegmentationTransformer(IHostEnvironment env, DeepLabNetwork network, SegmenterModelInfo info, Device device)
        : base(env, nameof(DeepLabSegmentationTransformer), network, device)
    {
        Info = info;
    }

    /// <summary>The class names; mask value c + 1 is class c.</summary>
    public IReadOnlyList<string> ClassNames => Info.ClassNames;

    /// <summary>The backbone.</summary>
    public string Backbone => Info.Backbone.Name;

    /// <summary>The DeepLab head: "v2", "v3" or "v3+".</summary>
    public string Variant => Info.Shape.VariantName;

    /// <summary>The backbone's output stride (8 or 16).</summary>
    public int OutputStride => Info.Shape.OutputStride;

    /// <summary>The scales whose probabilities are averaged.</summary>
    public IReadOnlyList<double> Scales => Info.Inference.Scales;

    /// <summary>Whether each scale also runs on the mirrored image.</summary>
    public bool Flip => Info.Inference.Flip;

    /// <summary>Whether a dense CRF post-processes the probabilities.</summary>
    public bool Crf => Info.Inference.Crf is not null;

    /// <summary>The longest side the network sees; larger images are shrunk first.</summary>
    public int MaxInputSide => Info.Inference.MaxInputSide;

    /// <summary>Name of the image column read.</summary>
    public string ImageColumnName => Info.ImageColumnName;

    /// <summary>Names of the added columns.</summary>
    public SegmentationColumnNames OutputColumns => Info.Columns;

    internal SegmenterModelInfo Info { get; }

    /// <summary>Number of images segmented so far (for tests of laziness).</summary>
    internal long ImagesSegmented => Interlocked.Read(ref _segmented);

    /// <summary>Segments one image.</summary>
    internal SegmentationResult Segment(RgbImage image) => UseNetwork(network =>
    {
        Interlocked.Increment(ref _segmented);
        return Segmenter.Segment(network, image, Info.Inference, ComputeDevice);
    });

    private protected override ModelFormat Format => ModelFormat;

    private protected override void WriteInfo(BinaryWriter writer) => Info.Write(writer);

    private protected override void SaveState(ModelStateWriter writer) => writer.WriteWeights(WeightsEntry, Network);

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static DeepLabSegmentationTransformer Load(ModelStateReader reader)
    {
        var info = SegmenterModelInfo.Read(reader.Reader, m => reader.Corrupt($"Damaged {ModelFormat.Description}: {m}."));
        var device = SelectDevice(reader, ModelFormat);
        var network = DeepLabNetwork.Empty(info.Backbone, info.Shape, info.ClassNames.Length + 1);
        return LoadWeights(reader, ModelFormat, () => new DeepLabSegmentationTransformer(reader.Environment, network, info, device), (WeightsEntry, network));
    }

    private protected override IRowMapper CreateMapper(DataViewSchema schema) => new Mapper(this, schema);

    /// <summary>The mapper bound to one input schema: all getters of a cursor share one segmentation per row, made only when read.</summary>
    private sealed class Mapper : RowMapper
    {
        private const int MaskColumn = 0, HeightColumn = 1, WidthColumn = 2, AreasColumn = 3;

        private readonly DeepLabSegmentationTransformer _owner;
        private readonly int _image;
        private readonly bool _encoded;

        public Mapper(DeepLabSegmentationTransformer parent, DataViewSchema inputSchema)
            : base(parent, inputSchema)
        {
            _owner = parent;
            string name = parent.Info.ImageColumnName;
            var column = inputSchema.GetColumnOrNull(name) ?? throw MLNetBridge.SchemaMismatch(parent.Host, MapInputs.ImageRole, name);
            // Encoded bytes (a JPEG or PNG file's content, such as an upload) are accepted too: ML.NET's prediction engines cannot
            // take an in-memory MLImage, so a server passes the bytes.
            _encoded = column.Type is VectorDataViewType { ItemType: NumberDataViewType n } && n.RawType == typeof(byte);
            if (!_encoded && column.Type is not Microsoft.ML.Transforms.Image.ImageDataViewType)
                throw MLNetBridge.SchemaMismatch(parent.Host, MapInputs.ImageRole, name, "Image, or Vector<Byte> holding an encoded JPEG or PNG", column.Type.ToString());
            _image = column.Index;
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => _owner.Info.Columns.Build(_owner.Info.ClassNames.Length + 1);

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput) =>
            column => column == _image && Enumerable.Range(0, 4).Any(activeOutput);

        public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
        {
            _owner.ThrowIfDisposed();
            disposer = () => { };
            var getters = new Delegate[4];
            if (!Enumerable.Range(0, 4).Any(activeOutput)) return getters;
            var decode = ImageReader(input);
            long position = -1;
            RgbImage? image = null;
            SegmentationResult? result = null;
            RgbImage Image()
            {
                if (image is null || position != input.Position)
                {
                    image = decode();
                    result = null;
                    position = input.Position;
                }
                return image;
            }
            SegmentationResult Result()
            {
                var current = Image();
                return result ??= _owner.Segment(current);
            }
            // The size needs only the decoded image, not a network pass.
            if (activeOutput(MaskColumn)) getters[MaskColumn] = (ValueGetter<VBuffer<byte>>)((ref VBuffer<byte> dst) =>
            {
                var values = Result().Mask.Values;
                var editor = VBufferEditor.Create(ref dst, values.Length);
                values.CopyTo(editor.Values);
                dst = editor.Commit();
            });
            if (activeOutput(HeightColumn)) getters[HeightColumn] = (ValueGetter<int>)((ref int dst) => dst = Image().Height);
            if (activeOutput(WidthColumn)) getters[WidthColumn] = (ValueGetter<int>)((ref int dst) => dst = Image().Width);
            if (activeOutput(AreasColumn)) getters[AreasColumn] = (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
            {
                var r = Result();
                var areas = r.Areas();
                float total = r.Mask.Values.Length;
                var editor = VBufferEditor.Create(ref dst, areas.Length);
                for (int i = 0; i < areas.Length; i++) editor.Values[i] = areas[i] / total;
                dst = editor.Commit();
            });
            return getters;
        }

        private Func<RgbImage> ImageReader(DataViewRow input)
        {
            string column = input.Schema[_image].Name;
            if (_encoded)
            {
                var bytesGetter = input.GetGetter<VBuffer<byte>>(input.Schema[_image]);
                VBuffer<byte> bytes = default;
                return () =>
                {
                    bytesGetter(ref bytes);
                    if (bytes.Length == 0) throw new InvalidOperationException($"Row {input.Position}: image column '{column}' is empty.");
                    try
                    {
                        return ImageDecoder.LoadRgb(new MemoryStream(bytes.DenseValues().ToArray()), $"row {input.Position} of column '{column}'");
                    }
                    catch (InvalidDataException e)
                    {
                        throw new InvalidOperationException($"Row {input.Position}: image column '{column}' holds no decodable image: {e.Message}", e);
                    }
                };
            }
            var imageGetter = input.GetGetter<MLImage>(input.Schema[_image]);
            MLImage source = null!;
            return () =>
            {
                imageGetter(ref source);
                if (source is null) throw new InvalidOperationException($"Row {input.Position}: image column '{column}' has no image.");
                return MLImageConversion.ToRgb(source, column);
            };
        }
    }
}
