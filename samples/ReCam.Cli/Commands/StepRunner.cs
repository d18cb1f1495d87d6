using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ReCam.Cli.Commands;

/// <summary>Runs one command inside a host (logging, configuration) and turns failures into exit codes.</summary>
internal static class StepRunner
{
    public static int Run(string name, CancellationToken cancellationToken, Func<ILogger, CancellationToken, int> body)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        using var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("recam");
        try
        {
            return body(logger, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("{Name}: cancelled; finished outputs are kept and a rerun resumes.", name);
            return 130;
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or NotSupportedException or ReCam.Training.TrainingDivergedException)
        {
            logger.LogError("{Name}: {Message}", name, e.Message);
            return 2;
        }
        finally
        {
            host.Services.GetRequiredService<ILoggerFactory>().Dispose();
        }
    }
}
