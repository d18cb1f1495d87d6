using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using ReCam.MLNet;

namespace ReCam.Serving;

/// <summary>
/// The model, loaded once, and a pool of prediction engines over it. A prediction engine is not thread-safe and costs a
/// schema binding to create, so requests borrow one and give it back, as Microsoft.Extensions.ML's PredictionEnginePool does;
/// the engines do not own the model, so returning or dropping one never frees the network.
/// </summary>
public sealed class SegmenterService : IDisposable
{
    private readonly ITransformer _model;
    private readonly DefaultObjectPool<PredictionEngine<SegmenterInput, SegmenterPrediction>> _engines;

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
        _engines = new DefaultObjectPool<PredictionEngine<SegmenterInput, SegmenterPrediction>>(new EnginePolicy(ml, _model), Environment.ProcessorCount * 2);
    }

    /// <summary>Background, then the model's class names (index = mask value).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Segments one encoded image.</summary>
    public SegmenterPrediction Segment(byte[] image)
    {
        var engine = _engines.Get();
        try
        {
            return engine.Predict(new SegmenterInput { Image = image });
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    /// <inheritdoc />
    public void Dispose() => (_model as IDisposable)?.Dispose();

    private sealed class EnginePolicy(MLContext ml, ITransformer model) : PooledObjectPolicy<PredictionEngine<SegmenterInput, SegmenterPrediction>>
    {
        public override PredictionEngine<SegmenterInput, SegmenterPrediction> Create() =>
            ml.Model.CreatePredictionEngine<SegmenterInput, SegmenterPrediction>(model, new PredictionEngineOptions { OwnsTransformer = false });

        public override bool Return(PredictionEngine<SegmenterInput, SegmenterPrediction> obj) => true;
    }
}
