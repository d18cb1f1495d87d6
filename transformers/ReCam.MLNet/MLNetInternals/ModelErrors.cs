using System.Runtime.ExceptionServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace ReCam.MLNet;

/// <summary>
/// Errors of ReCam's model loaders. ML.NET calls loaders by reflection and wraps what they throw, twice per nesting level, as
/// "Error during class instantiation"; the errors made here carry a mark so that <see cref="ReCamCatalog.LoadReCamModel(ModelOperationsCatalog, string, out DataViewSchema)"/>
/// can find them under the wrappers and throw them as they are.
/// </summary>
internal static class ModelErrors
{
    private const string Mark = "ReCam.ModelError";

    /// <summary>An ML.NET "bad model data" error (<see cref="FormatException"/>) carrying ReCam's mark.</summary>
    public static Exception Create(IExceptionContext ectx, string message)
    {
        var e = ectx.ExceptDecode(message);
        e.Data[Mark] = true;
        return e;
    }

    /// <summary>Runs <paramref name="load"/>; if a ReCam loader failed inside it, throws that error instead of ML.NET's wrappers.</summary>
    public static T Unwrapped<T>(Func<T> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (Find(e) is { } ours && !ReferenceEquals(ours, e))
        {
            ExceptionDispatchInfo.Capture(ours).Throw();
            throw; // not reached
        }
    }

    private static Exception? Find(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x.Data.Contains(Mark)) return x;
        return null;
    }
}
