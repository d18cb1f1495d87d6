using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using ReCam.Cli.Commands;

// One host for the whole process: logging (to stderr, so that stdout carries only results such as tables and can be
// read by scripts) and configuration. The commands log through its logger.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss ";
});
builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
using var host = builder.Build();
var loggers = host.Services.GetRequiredService<ILoggerFactory>();
var runner = new StepRunner(loggers.CreateLogger("recam"));

var options = new CliOptions();
var recamOptions = new ReCamOptions(options);
var root = new RootCommand(
    "recam: weakly-supervised semantic segmentation with ReCAM (CVPR 2022) on TorchSharp. " +
    "Each command is one step of the paper's pipeline and works in one --work folder.");
var segmentation = new SegmentationCommands(runner, options);
foreach (var command in new PipelineCommands(runner, options, recamOptions, new RefinementOptions(), segmentation).All()) root.Subcommands.Add(command);
foreach (var command in segmentation.All()) root.Subcommands.Add(command);
root.Subcommands.Add(BenchCommand.Create(runner));
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Bad command lines are bad input like any other (exit 2), with System.CommandLine's own wording and the command's help hint.
    foreach (var error in parsed.Errors) Console.Error.WriteLine(error.Message);
    string command = parsed.CommandResult.Command == root ? "" : " " + parsed.CommandResult.Command.Name;
    Console.Error.WriteLine($"Run 'recam{command} --help' for the options.");
    loggers.Dispose();
    return 2;
}
// Ctrl+C and SIGTERM cancel the running step, which stops between images or training steps, logs one line and exits 130;
// a training step on the CPU can take several seconds, hence the generous wait before the process is ended anyway.
int code = await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(1) });
loggers.Dispose(); // flushes the console logger before the process ends
return code;
