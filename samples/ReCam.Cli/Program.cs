using System.CommandLine;
using ReCam.Cli.Commands;

var options = new CliOptions();
var recamOptions = new ReCamOptions(options);
var root = new RootCommand(
    "recam: weakly-supervised semantic segmentation with ReCAM (CVPR 2022) on TorchSharp. " +
    "Each command is one step of the paper's pipeline and works in one --work folder.");
root.Subcommands.Add(PipelineCommands.MakeScenes());
root.Subcommands.Add(PipelineCommands.TrainCam(options));
root.Subcommands.Add(PipelineCommands.MakeCam(options));
root.Subcommands.Add(PipelineCommands.EvalCam(options));
root.Subcommands.Add(PipelineCommands.TrainReCam(options, recamOptions));
root.Subcommands.Add(PipelineCommands.MakeReCam(options, recamOptions));
root.Subcommands.Add(PipelineCommands.EvalReCam(options));
root.Subcommands.Add(PipelineCommands.RunSteps(options, recamOptions));
root.Subcommands.Add(PipelineCommands.QuickStart());
root.Subcommands.Add(BenchCommand.Create());
return await root.Parse(args).InvokeAsync();
