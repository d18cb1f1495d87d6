using Microsoft.ML;
using Microsoft.ML.Data;
using ReCam.Data;
using ReCam.MLNet;
using ReCam.Scenes;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Input row of the ML.NET tests: an absolute image path and the 10-class multi-hot label.</summary>
public sealed class LabelledRow
{
    /// <summary>Absolute image path.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>Multi-hot label over the Fashion-MNIST classes.</summary>
    [VectorType(10)]
    public float[] Label { get; set; } = [];
}

/// <summary>
/// Shared by the ML.NET tests: 16 generated 64-px scenes and one CAM model fitted on them (bundled ResNet-18, 1 epoch,
/// batch 8, crop 64, scale 1.0; threshold 0 so every class gets a map when no label is given), and a ReCAM model
/// re-activated from it and a mask refiner fitted on its maps, each on first use.
/// </summary>
public sealed class CamModelFixture : IDisposable
{
    public const int ImageSize = 64;

    public CamModelFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "recam-mlnet-tests-" + Guid.NewGuid().ToString("N"));
        var set = SceneGenerator.Generate(Root, new SceneOptions { Count = 16, ImageSize = ImageSize, ValFraction = 0, Seed = 3 });
        var dataset = new VocDataset(set.Root, set.ClassNames);
        var labels = dataset.LoadLabels(set.TrainIds);
        Rows = set.TrainIds.Select(id => new LabelledRow { ImagePath = dataset.ImagePath(id), Label = labels[id] }).ToList();
        ClassNames = set.ClassNames.ToArray();

        Ml = new MLContext(seed: 1);
        Ml.Log += (_, e) =>
        {
            lock (Log) Log.Add(e.Message);
        };
        Data = Ml.Data.LoadFromEnumerable(Rows);
        Model = Pipeline(Ml).Fit(Data);
        _reCam = new(() => ReCamEstimator(Ml).Fit(Model.Transform(Data)));
        _refiner = new(() => RefinerEstimator(Ml).Fit(Model.Transform(Data)));
        _segmenter = new(() => SegmenterEstimator(Ml).Fit(RefinerModel.Transform(Model.Transform(Data))));
    }

    private readonly Lazy<DeepLabSegmentationTransformer> _segmenter;

    /// <summary>
    /// A DeepLab segmenter fitted on first use on the pseudo masks of <see cref="RefinerModel"/> (class names from the refiner):
    /// DeepLab-v3 at output stride 16, 1 epoch, batch 8, crop 64 (2 steps); inference at scale 1 with flip.
    /// </summary>
    public DeepLabSegmentationTransformer SegmenterModel => _segmenter.Value;

    /// <summary>The trainer used for <see cref="SegmenterModel"/>.</summary>
    public DeepLabSegmentationTrainer SegmenterEstimator(MLContext ml, Action<DeepLabSegmentationTrainer.Options>? configure = null)
    {
        var options = new DeepLabSegmentationTrainer.Options
        {
            Variant = ReCam.Networks.DeepLabVariant.V3, OutputStride = 16, Epochs = 1, BatchSize = 8, Crop = ImageSize, Scales = [1.0],
        };
        configure?.Invoke(options);
        return ml.MulticlassClassification.Trainers.DeepLabSegmentation(options);
    }

    private readonly Lazy<MaskRefinerTransformer> _refiner;

    /// <summary>
    /// A mask refiner fitted on the CAM maps of <see cref="Model"/> on first use: 1 epoch, batch 8, crop 64 (2 steps), training
    /// radius 5 (the official 10 does not fit the 16-cell grid of a 64-px crop).
    /// </summary>
    public MaskRefinerTransformer RefinerModel => _refiner.Value;

    /// <summary>The mask-refiner estimator used for <see cref="RefinerModel"/> (CAM maps, the walk's default settings).</summary>
    public MaskRefinerEstimator RefinerEstimator(MLContext ml, Action<MaskRefinerEstimator.Options>? configure = null)
    {
        var options = new MaskRefinerEstimator.Options
        {
            MapsColumnName = "Cam", Epochs = 1, BatchSize = 8, Crop = ImageSize, TrainingRadius = 5,
        };
        configure?.Invoke(options);
        return ml.Transforms.RefineMasks(options);
    }

    private readonly Lazy<ReactivatedClassActivationMapTransformer> _reCam;

    /// <summary>
    /// A ReCAM model re-activated from <see cref="Model"/> (found upstream of its input, as in a pipeline), fitted on first use:
    /// 1 head warm-up + 1 joint epoch (backbone frozen), batch 8, crop 64.
    /// </summary>
    public ReactivatedClassActivationMapTransformer ReCamModel => _reCam.Value;

    /// <summary>The re-activation estimator used for <see cref="ReCamModel"/>.</summary>
    public ReactivatedClassActivationMapEstimator ReCamEstimator(MLContext ml, Action<ReactivatedClassActivationMapEstimator.Options>? configure = null)
    {
        // Backbone learning rate 0: on this barely trained CAM model (2 steps) the joint SCE gradient through the backbone blows
        // up at the default learning rate (loss NaN at the next step, reproducibly with the seed-1 batch order); W1 and W2
        // still train jointly on BCE + λ·SCE. See the report of the ML.NET ReCAM work.
        var options = new ReactivatedClassActivationMapEstimator.Options
        {
            HeadWarmupEpochs = 1, Epochs = 1, BatchSize = 8, Crop = ImageSize, LearningRate = 0,
        };
        configure?.Invoke(options);
        return ml.Transforms.ReactivateClassActivationMaps(options);
    }

    public string Root { get; }

    public List<LabelledRow> Rows { get; }

    public string[] ClassNames { get; }

    public MLContext Ml { get; }

    public List<string> Log { get; } = [];

    public IDataView Data { get; }

    public TransformerChain<ClassActivationMapTransformer> Model { get; }

    /// <summary>The test pipeline: LoadImages with an empty folder (absolute paths: portable models), then the CAM estimator.</summary>
    public EstimatorChain<ClassActivationMapTransformer> Pipeline(MLContext ml, CancellationToken cancellationToken = default) =>
        ml.Transforms.LoadImages("Image", "", "ImagePath")
            .Append(ml.Transforms.TrainClassActivationMaps(new ClassActivationMapEstimator.Options
            {
                ClassNames = ClassNames, Epochs = 1, BatchSize = 8, Crop = ImageSize, Scales = [1.0], PredictionThreshold = 0f,
                CancellationToken = cancellationToken,
            }));

    public void Dispose()
    {
        if (_reCam.IsValueCreated) _reCam.Value.Dispose();
        if (_refiner.IsValueCreated) _refiner.Value.Dispose();
        if (_segmenter.IsValueCreated) _segmenter.Value.Dispose();
        Model.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The test classes that share one fitted <see cref="CamModelFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class CamModelCollection : ICollectionFixture<CamModelFixture>
{
    /// <summary>Collection name.</summary>
    public const string Name = "Fitted CAM model";
}
