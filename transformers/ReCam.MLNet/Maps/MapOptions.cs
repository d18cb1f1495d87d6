using Microsoft.ML;
using Microsoft.ML.Runtime;
using ReCam.Networks;
using ReCam.Training;

namespace ReCam.MLNet;

/// <summary>
/// The checks of the map estimators' Options that are ML.NET's own (column names, class names); every training and
/// extraction rule is the core's, reported here as an ML.NET parameter error naming the Options field.
/// </summary>
internal static class MapOptions
{
    public static void CheckColumns(IExceptionContext ectx, params (string Field, string Value)[] columns)
    {
        foreach (var (field, value) in columns)
            if (string.IsNullOrWhiteSpace(value)) throw MLNetBridge.ParameterError(ectx, field, "must not be empty");
    }

    /// <summary>The torch thread count of an Options, when set, is between 1 and 256.</summary>
    public static void CheckThreads(IExceptionContext ectx, int? threads)
    {
        if (threads is < 1 or > 256) throw MLNetBridge.ParameterError(ectx, "NumberOfThreads", $"must be between 1 and 256 (got {threads})");
    }

    public static void CheckBackbone(IExceptionContext ectx, string field, string name)
    {
        try
        {
            BackboneCatalog.Get(name);
        }
        catch (ArgumentException e)
        {
            throw MLNetBridge.ParameterError(ectx, field, e.Message);
        }
    }

    /// <summary>Runs a core validation; its <see cref="InvalidOptionException"/> becomes a parameter error naming the same field.</summary>
    /// <param name="ectx">The estimator's exception context.</param>
    /// <param name="validate">The core validation.</param>
    /// <param name="fieldNames">Core option names whose Options field is named differently.</param>
    public static void CheckCore(IExceptionContext ectx, Action validate, IReadOnlyDictionary<string, string>? fieldNames = null)
    {
        try
        {
            validate();
        }
        catch (InvalidOptionException e)
        {
            string field = e.OptionName ?? "Options";
            throw MLNetBridge.ParameterError(ectx, fieldNames?.GetValueOrDefault(field) ?? field, e.Reason ?? e.Message);
        }
    }

    public static void CheckThreshold(IExceptionContext ectx, string field, float threshold)
    {
        if (!(threshold is >= 0 and < 1)) throw MLNetBridge.ParameterError(ectx, field, $"must be in [0, 1) (got {threshold})");
    }

    public static void CheckNames(IExceptionContext ectx, string field, string[]? classNames)
    {
        if (classNames is { } names && (names.Length == 0 || names.Any(string.IsNullOrEmpty) || names.Distinct().Count() != names.Length))
            throw MLNetBridge.ParameterError(ectx, field, "must be non-empty, distinct names");
    }

    /// <summary>
    /// The training rows of a fit (rows with a positive label, decoded): a clear error when they do not fill one batch.
    /// </summary>
    public static List<TrainingSample> TrainingRows(IExceptionContext ectx, IChannel ch, IDataView input, int imageIndex, LabelColumn label,
        MapEstimatorOptions options, string what)
    {
        var samples = MapInputs.ReadTrainingSamples(ectx, ch, input, imageIndex, label, options.CancellationToken);
        if (samples.Count < options.BatchSize)
            throw MLNetBridge.Error(ectx, $"{what} needs at least one batch ({options.BatchSize}) of rows with a positive label " +
                $"in column '{label.Name}'; the data has {samples.Count}. Lower BatchSize or add data.");
        return samples;
    }
}
