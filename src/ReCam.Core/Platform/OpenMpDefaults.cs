using System.Runtime.InteropServices;

namespace ReCam.Platform;

/// <summary>
/// libtorch's CPU kernels run on OpenMP threads, and OpenMP's default wait policy keeps idle threads spinning on their
/// core. In a process of its own on an idle machine that costs little, but next to another busy process (a second
/// libtorch process, a web server's request threads) the spinning threads steal the cores the work needs: measured here,
/// make-cam fell from 3.2 to 0.5 images/s beside one other libtorch process on 2 cores, and an ML.NET PredictionEngine call
/// took about 10 s instead of 0.6-0.9 s. ReCam therefore makes idle OpenMP threads sleep (<c>OMP_WAIT_POLICY=PASSIVE</c>)
/// unless the process already chose a policy. The OpenMP runtime reads the variable once, when libtorch loads, so this
/// runs when ReCam.Core loads, before its first torch call; an application that used TorchSharp before loading ReCam keeps
/// the policy it started with.
/// </summary>
internal static class OpenMpDefaults
{
    /// <summary>The environment variable and the value ReCam sets when the process has none.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY", DefaultWaitPolicy = "PASSIVE";

    /// <summary>Sets <see cref="WaitPolicyVariable"/> to <see cref="DefaultWaitPolicy"/> unless it is set; returns the policy in effect.</summary>
    public static string Apply() => SetUnlessChosen(WaitPolicyVariable, DefaultWaitPolicy);

    /// <summary>Sets <paramref name="variable"/> for managed and native code alike unless it has a value; returns the value in effect.</summary>
    internal static string SetUnlessChosen(string variable, string value)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } chosen) return chosen;
        Environment.SetEnvironmentVariable(variable, value);
        // .NET keeps its own copy of the environment on Unix; OpenMP reads the C library's, so set that one too.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) _ = SetEnv(variable, value, 0);
        return value;
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
