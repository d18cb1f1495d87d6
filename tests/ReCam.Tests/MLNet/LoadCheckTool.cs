using System.Diagnostics;
using System.Reflection;
using Xunit;

namespace ReCam.Tests.MLNet;

/// <summary>Runs the ReCam.MLNet.LoadCheck app (a second process that loads a saved model and dumps its outputs).</summary>
internal static class LoadCheckTool
{
    /// <summary>Runs the tool with <paramref name="arguments"/> and asserts it exits with 0.</summary>
    public static async Task RunAsync(IEnumerable<string> arguments)
    {
        string tool = typeof(LoadCheckTool).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ReCamLoadCheckPath").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "exec", tool }.Concat(arguments)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"load-check failed ({process.ExitCode}): {await stderr} {await stdout}");
    }
}
