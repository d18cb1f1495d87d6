using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using ReCam.MLNet;

namespace ReCam.Serving;

/// <summary>
/// The input row of a scoring-only segmenter model: the uploaded file's bytes (JPEG or PNG). ML.NET's prediction engines cannot
/// take an in-memory <c>MLImage</c>, and the segmenter decodes encoded bytes itself.
/// </summary>
public sealed class ImageInput
{
    /// <summary>The encoded image.</summary>
    public byte[] Image { get; set; } = [];
}

/// <summary>What the segmenter adds to a row (column names of <see cref="SegmentationColumnNames"/>' default base).</summary>
public sealed class MaskOutput
{
    /// <summary>H×W labels, row-major: 0 background, c + 1 class c.</summary>
    public byte[] PredictedMask { get; set; } = [];

    /// <summary>H.</summary>
    public int PredictedMaskHeight { get; set; }

    /// <summary>W.</summary>
    public int PredictedMaskWidth { get; set; }

    /// <summary>Share of the pixels per label (background first).</summary>
    public float[] PredictedMaskAreas { get; set; } = [];
}

/// <summary>
/// The model, loaded once, and a pool of prediction engines over it. A prediction engine is not thread-safe and costs a
/// schema binding to create, so requests borrow one and give it back, as Microsoft.Extensions.ML's PredictionEnginePool does;
/// the engines do not own the model, so returning or dropping one never frees the network.
/// </summary>
public sealed class SegmenterService : IDisposable
{
    private readonly ITransformer _model;
    private readonly DefaultObjectPool<PredictionEngine<ImageInput, MaskOutput>> _engines;

    /// <summary>Loads the model at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="FormatException">A ReCam component of the model is damaged or of a newer format.</exception>
    public SegmenterService(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Model not found: '{path}'.", path);
        var ml = new MLContext();
        _model = ml.Model.LoadReCamModel(path, out _);
        var segmenter = (_model as IEnumerable<ITransformer>)?.OfType<DeepLabSegmentationTransformer>().LastOrDefault() ?? _model as DeepLabSegmentationTransformer
            ?? throw new InvalidDataException($"Model '{path}' holds no DeepLab segmenter; save one with the ML.NET sample or DeepLabSegmentation().");
        ClassNames = ["background", .. segmenter.ClassNames];
        _engines = new DefaultObjectPool<PredictionEngine<ImageInput, MaskOutput>>(new EnginePolicy(ml, _model), Environment.ProcessorCount * 2);
    }

    /// <summary>Background, then the model's class names (index = mask value).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Segments one encoded image.</summary>
    public MaskOutput Segment(byte[] image)
    {
        var engine = _engines.Get();
        try
        {
            return engine.Predict(new ImageInput { Image = image });
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    /// <inheritdoc />
    public void Dispose() => (_model as IDisposable)?.Dispose();

    private sealed class EnginePolicy(MLContext ml, ITransformer model) : PooledObjectPolicy<PredictionEngine<ImageInput, MaskOutput>>
    {
        public override PredictionEngine<ImageInput, MaskOutput> Create() =>
            ml.Model.CreatePredictionEngine<ImageInput, MaskOutput>(model, new PredictionEngineOptions { OwnsTransformer = false });

        public override bool Return(PredictionEngine<ImageInput, MaskOutput> obj) => true;
    }
}
