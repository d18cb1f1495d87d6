using System.Diagnostics;

namespace ReCam.Tests.Cli;

/// <summary>Runs the recam program (recam.dll beside the tests) as scripts do: its own process, exit code, stdout + stderr.</summary>
internal static class RecamProcess
{
    /// <summary>How to start recam with <paramref name="args"/>, output redirected.</summary>
    public static ProcessStartInfo Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "recam.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return start;
    }

    /// <summary>Runs recam to its end.</summary>
    public static (int Code, string Output) Run(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Process.Start(Start(args, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}
