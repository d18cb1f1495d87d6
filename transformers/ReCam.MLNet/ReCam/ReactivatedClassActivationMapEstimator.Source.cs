using Microsoft.ML;
using ReCam.Cam;
using ReCam.Data;
using ReCam.Networks;
using ReCam.Training;

namespace ReCam.MLNet;

// Where the re-activation trainer's CAM model comes from: a given transformer, a checkpoint file, or the transformer upstream.
public sealed partial class ReactivatedClassActivationMapEstimator
{
    /// <summary>The CAM network to re-activate (owned by the caller) and what the transformer needs to know about it.</summary>
    private sealed record CamSource(CamNetwork Network, string[] ClassNames, double[] Scales, int MaxInputSide, float Threshold, string Description);

    private CamSource ResolveSource(IDataView input, LabelColumn label)
    {
        if (_options.CamModel is { } given) return FromTransformer(given, "the given ClassActivationMapTransformer");
        if (_options.CamModelPath is { } path) return FromFile(path, label);
        var upstream = MLNetBridge.UpstreamTransformers(input).OfType<ClassActivationMapTransformer>()
            .FirstOrDefault(t => t.OutputColumns.Maps == _options.CamColumnName);
        return upstream is not null
            ? FromTransformer(upstream, $"the upstream ClassActivationMapTransformer ('{_options.CamColumnName}')")
            : throw MLNetBridge.Error(_host,
                $"No CAM model to re-activate: the input data was not produced by a ClassActivationMapTransformer with maps column '{_options.CamColumnName}'. " +
                "Append this estimator after TrainClassActivationMaps in the same pipeline, or set Options.CamModel (a fitted ClassActivationMapTransformer) " +
                "or Options.CamModelPath (a train-cam checkpoint or a PyTorch .pth with Options.Backbone).");
    }

    private CamSource FromTransformer(ClassActivationMapTransformer cam, string description)
    {
        if (cam.IsDisposed) throw MLNetBridge.ParameterError(_host, nameof(Options.CamModel), "the CAM transformer has been disposed");
        var info = cam.Info;
        var names = CheckedNames(info.ClassNames.Length, info.ClassNames);
        return new CamSource(cam.CloneNetwork(), names, info.Scales, info.MaxInputSide, info.Threshold, description);
    }

    private CamSource FromFile(string path, LabelColumn label)
    {
        var pytorchNames = _options.ClassNames ?? label.AnnotatedNames ?? ClassNames.Placeholders(label.ClassCount);
        var (network, classes) = Checkpoint.LoadAnyCamNetwork(path, _options.Backbone ?? BackboneCatalog.DefaultName, pytorchNames);
        try
        {
            return new CamSource(network, CheckedNames(network.ClassCount, classes.ToArray()), CamExtractor.DefaultScales.ToArray(), CamExtractor.DefaultMaxInputSide,
                ClassActivationMapEstimator.Defaults.PredictionThreshold, $"{path} ({network.Spec.Name})");
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private string[] CheckedNames(int classCount, string[] modelNames)
    {
        if (_options.ClassNames is not { } names) return modelNames;
        if (names.Length != classCount)
            throw MLNetBridge.ParameterError(_host, nameof(Options.ClassNames), $"has {names.Length} names but the CAM model has {classCount} classes");
        return names;
    }
}
