using System.Runtime.CompilerServices;

namespace ReCam.Platform;

/// <summary>
/// Patches TorchSharp's native library, if needed, before any code of this assembly touches torch.
/// Runs automatically when ReCam.Core is loaded; the build performs the same patch on build outputs.
/// </summary>
internal static class TorchNativeLoader
{
    private static int _done;

    /// <summary>Makes sure the native library next to the application can be loaded. Idempotent.</summary>
    public static void EnsurePatched()
    {
        if (Interlocked.Exchange(ref _done, 1) == 1 || !OperatingSystem.IsLinux()) return;
        string baseDir = AppContext.BaseDirectory;
        string[] candidates =
        {
            Path.Combine(baseDir, ElfVersionPatcher.TorchSharpNativeFileName),
            Path.Combine(baseDir, "runtimes", "linux-x64", "native", ElfVersionPatcher.TorchSharpNativeFileName),
        };
        foreach (string path in candidates)
        {
            try
            {
                ElfVersionPatcher.PatchIfNeeded(path);
            }
            catch (IOException)
            {
                // Read-only install: the build-time patch is the remaining route; torch reports the load error.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

#pragma warning disable CA2255 // A library module initializer is the point here: it must run before any torch call.
    [ModuleInitializer]
    internal static void OnModuleLoad()
    {
        OpenMpDefaults.Apply();
        EnsurePatched();
    }
#pragma warning restore CA2255
}
