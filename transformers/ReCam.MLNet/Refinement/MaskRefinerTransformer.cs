using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Refinement;
using static TorchSharp.torch;

namespace ReCam.MLNet;

/// <summary>
/// The mask refiner (IRNet's inference, as the command line's make-sem-seg): for each row, the boundary map of the image
/// (image + flip) from the fitted boundary network, the random walk of the row's seed maps over the affinities it implies,
/// a background plane at <see cref="BackgroundThreshold"/>, argmax → a pseudo mask (columns in <see cref="PseudoMaskColumnNames"/>:
/// 0 background, c + 1 class c). Reads the image column and the seed-map columns of the CAM or ReCAM transformer before it.
/// Lazy, once per row; saves into ML.NET <c>.zip</c> models and loads in any process without registration. Dispose it to
/// free native memory.
/// </summary>
/// <remarks>
/// Saved layout: the main stream described by <see cref="RefinerModelInfo"/>, and the boundary network (backbone + edge
/// layers) in the binary entry <c>BoundaryWeights</c>.
/// </remarks>
public sealed class MaskRefinerTransformer : NetworkTransformerBase<BoundaryNetwork>
{
    internal const string LoaderSignature = "ReCamMaskRefiner";

    internal static readonly ModelFormat ModelFormat =
        new("RECAMIRN", RefinerModelInfo.MaskCrfVersion, ModelState.DigestsVersion, LoaderSignature, "ReCam mask refiner model");

    internal const string WeightsEntry = "BoundaryWeights";

    private long _maskCount;

    /// <summary>Takes ownership of <paramref name="network"/> and moves it to <paramref name="device"/>.</summary>
    internal MaskRefinerTransformer(IHostEnvironment env, BoundaryNetwork network, RefinerModelInfo info, Device device)
        : base(env, nameof(MaskRefinerTransformer), network, device)
    {
        Info = info;
    }

    /// <summary>The class names of the seed maps it was fitted on; mask value c + 1 is class c.</summary>
    public IReadOnlyList<string> ClassNames => Info.ClassNames;

    /// <summary>The boundary network's backbone.</summary>
    public string Backbone => Info.Backbone.Name;

    /// <summary>
    /// The background plane after the random walk, relative to the image's largest walked value: by default the automatic
    /// threshold of the seed maps (the CAM or ReCAM transformer's <see cref="MapTransformerBase.BackgroundThreshold"/>).
    /// </summary>
    public float BackgroundThreshold => Info.BackgroundThreshold;

    /// <summary>Affinity exponent β of the random walk.</summary>
    public double Beta => Info.Beta;

    /// <summary>Neighbourhood radius of the random walk, in stride-4 cells.</summary>
    public int WalkRadius => Info.WalkRadius;

    /// <summary>Random-walk steps.</summary>
    public int WalkSteps => Info.WalkSteps;

    /// <summary>Pixels whose winning score leads the runner-up by less than this are 255 (ignored) in the pseudo masks; 0 labels every pixel.</summary>
    public float UncertainMargin => Info.UncertainMargin;

    /// <summary>Whether each pseudo mask is snapped to the image's edges by a dense CRF after the walk.</summary>
    public bool MaskCrf => Info.MaskCrf;

    /// <summary>The confident foreground and background thresholds the IR labels were made with at fit.</summary>
    public (double Foreground, double Background) IrLabelThresholds => (Info.ConfidentForeground, Info.ConfidentBackground);

    /// <summary>Name of the image column read.</summary>
    public string ImageColumnName => Info.ImageColumnName;

    /// <summary>Names of the seed-map columns read.</summary>
    public MapColumnNames MapsColumns => Info.MapsColumns;

    /// <summary>Names of the added columns.</summary>
    public PseudoMaskColumnNames OutputColumns => Info.Columns;

    internal RefinerModelInfo Info { get; }

    /// <summary>Number of pseudo masks computed so far (for tests of laziness).</summary>
    internal long MasksMade => Interlocked.Read(ref _maskCount);

    /// <summary>The pseudo mask of one image from its seed maps.</summary>
    internal LabelMap Mask(RgbImage image, Cam.CamMaps maps)
    {
        float[] boundary = UseNetwork(network =>
        {
            Interlocked.Increment(ref _maskCount);
            return network.BoundaryMap(image, ComputeDevice);
        });
        // The walk runs on the CPU outside the lock: rows of concurrent cursors overlap here.
        var mask = PseudoMask.FromSeedMaps(maps, boundary, Info.BackgroundThreshold, Info.Beta, Info.WalkSteps, Info.WalkRadius, Info.MapsExponent,
            Info.UncertainMargin);
        return Info.MaskCrf ? PseudoMask.RefineWithCrf(image, mask) : mask;
    }

    private protected override ModelFormat Format => ModelFormat;

    private protected override void WriteInfo(BinaryWriter writer) => Info.Write(writer);

    private protected override void SaveState(ModelStateWriter writer) => writer.WriteWeights(WeightsEntry, Network);

    /// <summary>Rebuilds a transformer from a saved model (called by the loader in MLNetInternals/).</summary>
    internal static MaskRefinerTransformer Load(ModelStateReader reader)
    {
        var info = RefinerModelInfo.Read(reader.Reader, reader.Version, m => reader.Corrupt($"Damaged {ModelFormat.Description}: {m}."));
        var device = SelectDevice(reader, ModelFormat);
        var network = BoundaryNetwork.Empty(info.Backbone);
        return LoadWeights(reader, ModelFormat, () => new MaskRefinerTransformer(reader.Environment, network, info, device), (WeightsEntry, network));
    }

    private protected override IRowMapper CreateMapper(DataViewSchema schema) => new Mapper(this, schema);

    /// <summary>The mapper bound to one input schema: all getters of a cursor share one mask per row, made only when read.</summary>
    private sealed class Mapper : RowMapper
    {
        private const int MaskColumn = 0, HeightColumn = 1, WidthColumn = 2;

        private readonly MaskRefinerTransformer _owner;
        private readonly SeedMapColumns _columns;

        public Mapper(MaskRefinerTransformer parent, DataViewSchema inputSchema)
            : base(parent, inputSchema)
        {
            _owner = parent;
            var info = parent.Info;
            _columns = SeedMapInputs.Check(parent.Host, inputSchema, info.ImageColumnName, info.MapsColumns, info.ClassNames.Length);
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() => _owner.Info.Columns.Build();

        // The size needs only the maps' size columns (for a CAM transformer: the decoded image, no network pass).
        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
        {
            var needed = new HashSet<int>();
            if (activeOutput(MaskColumn)) needed.UnionWith(SeedMapRowReader.Dependencies(_columns));
            if (activeOutput(HeightColumn) || activeOutput(WidthColumn)) needed.UnionWith([_columns.Height, _columns.Width]);
            return needed.Contains;
        }

        public override Delegate[] CreateGetters(DataViewRow input, Func<int, bool> activeOutput, out Action disposer)
        {
            _owner.ThrowIfDisposed();
            disposer = () => { };
            var getters = new Delegate[3];
            if (activeOutput(MaskColumn))
            {
                var reader = new SeedMapRowReader(input, _columns);
                long position = -1;
                LabelMap? mask = null;
                getters[MaskColumn] = (ValueGetter<VBuffer<byte>>)((ref VBuffer<byte> dst) =>
                {
                    if (mask is null || position != input.Position)
                    {
                        var image = reader.Image();
                        mask = _owner.Mask(image, reader.Maps(image));
                        position = input.Position;
                    }
                    var editor = VBufferEditor.Create(ref dst, mask.Values.Length);
                    mask.Values.CopyTo(editor.Values);
                    dst = editor.Commit();
                });
            }
            if (activeOutput(HeightColumn)) getters[HeightColumn] = input.GetGetter<int>(input.Schema[_columns.Height]);
            if (activeOutput(WidthColumn)) getters[WidthColumn] = input.GetGetter<int>(input.Schema[_columns.Width]);
            return getters;
        }
    }
}
