using System.Runtime.CompilerServices;

namespace ReCam.Platform;

/// <summary>
/// Checks, without writing anything, that TorchSharp's native library next to the application can load on this host.
/// The fix itself (marking too-new libstdc++ version needs weak) is applied at build and publish time by
/// <c>buildTransitive/ReCam.Core.targets</c>; an application folder that was not built that way (a copy of another machine's
/// output, a build with the patch turned off) gets a message that says so instead of TorchSharp's misleading load error.
/// </summary>
internal static class TorchNativeLoader
{
    private static readonly Lazy<string?> Problem = new(FindProblem);

    /// <summary>Throws <see cref="InvalidOperationException"/> with a clear message if the native library cannot load here.</summary>
    public static void ThrowIfUnloadable()
    {
        if (Problem.Value is { } message) throw new InvalidOperationException(message);
    }

    /// <summary>Returns <paramref name="moduleName"/> after <see cref="ThrowIfUnloadable"/>: for module constructors, whose base call is their first torch use.</summary>
    public static string Checked(string moduleName)
    {
        ThrowIfUnloadable();
        return moduleName;
    }

    private static string? FindProblem()
    {
        if (!OperatingSystem.IsLinux()) return null;
        string baseDir = AppContext.BaseDirectory;
        foreach (string path in new[]
        {
            Path.Combine(baseDir, ElfVersionPatcher.TorchSharpNativeFileName),
            Path.Combine(baseDir, "runtimes", "linux-x64", "native", ElfVersionPatcher.TorchSharpNativeFileName),
        })
        {
            try
            {
                if (ElfVersionPatcher.NeedsPatch(path))
                    return $"TorchSharp's native library '{path}' asks for a libstdc++ newer than this system's (GLIBCXX_3.4.31/32), so it " +
                        "cannot load. ReCam marks that need weak when the application is built or published with the ReCam.Core package " +
                        "(buildTransitive/ReCam.Core.targets); rebuild or republish the application on this machine (without " +
                        "-p:ReCamPatchTorchNative=false), or install a libstdc++ from GCC 13 or later.";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                // Unreadable: let TorchSharp report the load error itself.
            }
        }
        return null;
    }

#pragma warning disable CA2255 // A library module initializer is the point here: it must run before any torch call.
    [ModuleInitializer]
    internal static void OnModuleLoad() => OpenMpDefaults.Apply();
#pragma warning restore CA2255
}
