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
    public static void CheckCore(IExceptionContext ectx, Action validate)
    {
        try
        {
            validate();
        }
        catch (InvalidOptionException e)
        {
            throw MLNetBridge.ParameterError(ectx, e.OptionName ?? "Options", e.Reason ?? e.Message);
        }
    }

    public static void CheckThreshold(IExceptionContext ectx, string field, float threshold)
    {
        if (!(threshold is >= 0 and < 1)) throw MLNetBridge.ParameterError(ectx, field, $"must be in [0, 1) (got {threshold})");
    }

    public static void CheckNames(IExceptionContext ectx, string field, string[]? classNames, MapColumnNames outputs)
    {
        if (classNames is { } names && (names.Length == 0 || names.Any(string.IsNullOrEmpty) || names.Distinct().Count() != names.Length))
            throw MLNetBridge.ParameterError(ectx, field, "must be non-empty, distinct names");
        var all = outputs.All;
        if (all.Distinct(StringComparer.Ordinal).Count() != all.Count)
            throw MLNetBridge.ParameterError(ectx, "OutputColumns", "output column names must be distinct");
    }
}
