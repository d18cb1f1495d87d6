using System.CommandLine;
using Microsoft.Extensions.Logging;
using ReCam.Data;
using ReCam.Pipeline;

namespace ReCam.Cli.Commands;

/// <summary>The pipeline steps as commands: make-scenes, train-cam, make-cam, eval-cam, run, quickstart.</summary>
internal static class PipelineCommands
{
    public static readonly string[] KnownSteps = ["make-scenes", "train-cam", "train-recam", "make-cam", "make-recam", "eval-cam", "eval-recam"];

    public static Command MakeScenes()
    {
        var output = new Option<string>("--voc", "--out") { Description = "Output folder (VOC layout)", Required = true };
        var count = new Option<int>("--count") { Description = "Training scenes (train.txt)", DefaultValueFactory = _ => 600 };
        var valCount = new Option<int>("--val-count") { Description = "Validation scenes (val.txt)", DefaultValueFactory = _ => 100 };
        var size = new Option<int>("--size") { Description = "Scene side in pixels", DefaultValueFactory = _ => 160 };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same files)", DefaultValueFactory = _ => 0 };
        var cmd = new Command("make-scenes", "Compose Fashion-MNIST items (training split) into multi-object scenes with masks, in VOC layout")
        {
            output, count, valCount, size, seed,
        };
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("make-scenes", ct, (log, token) =>
        {
            Scenes(r.GetValue(output)!, r.GetValue(count), r.GetValue(valCount), r.GetValue(size), r.GetValue(seed), log, token);
            return 0;
        })));
        return cmd;
    }

    public static Command TrainCam(CliOptions o)
    {
        var cmd = new Command("train-cam", "Train the multi-label CAM classifier (sigmoid BCE) on a split; writes <work>/models/cam.ckpt");
        o.AddCommon(cmd);
        o.AddTraining(cmd);
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("train-cam", ct, (log, token) =>
        {
            TrainCamStep.Run(o.Settings(r), o.Training(r), log, token);
            return 0;
        })));
        return cmd;
    }

    public static Command MakeCam(CliOptions o)
    {
        var cmd = new Command("make-cam", "Extract multi-scale CAMs for every image of a split; writes <work>/cams/<id>.npz");
        o.AddCommon(cmd);
        o.AddTrainingOnlyOptions(cmd);
        cmd.Options.Add(o.Checkpoint);
        cmd.Options.Add(o.Scales);
        cmd.Options.Add(o.Shard);
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("make-cam", ct, (log, token) =>
        {
            MakeCamStep.Run(o.Settings(r), log, r.GetValue(o.Checkpoint), o.ParseScales(r), token);
            return 0;
        })));
        return cmd;
    }

    public static Command EvalCam(CliOptions o)
    {
        var cmd = new Command("eval-cam", "Seed mIoU of the CAMs against the split's masks, with a threshold sweep; writes <work>/metrics/eval-cam.json");
        o.AddCommon(cmd);
        o.AddTrainingOnlyOptions(cmd);
        cmd.Options.Add(o.Threshold);
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("eval-cam", ct, (log, token) =>
        {
            var report = EvalCamStep.Run(o.Settings(r), log, r.GetValue(o.Threshold), cancellationToken: token);
            Console.WriteLine(report.ToTable());
            return 0;
        })));
        return cmd;
    }

    public static Command TrainReCam(CliOptions o, ReCamOptions ro)
    {
        var cmd = new Command("train-recam", "Re-activate a CAM network with BCE + lambda*SCE (ReCAM); reads <work>/models/cam.ckpt, writes <work>/models/recam.ckpt");
        o.AddCommon(cmd);
        o.AddTraining(cmd);
        ro.AddTraining(cmd);
        cmd.Options.Add(o.Checkpoint);
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("train-recam", ct, (log, token) =>
        {
            TrainReCamStep.Run(o.Settings(r), ro.Training(r), log, r.GetValue(o.Checkpoint), token);
            return 0;
        })));
        return cmd;
    }

    public static Command MakeReCam(CliOptions o, ReCamOptions ro)
    {
        var cmd = new Command("make-recam", "Extract multi-scale ReCAMs (like make-cam, weights W1*W2 by default); writes <work>/cams-recam/<id>.npz");
        o.AddCommon(cmd);
        o.AddTrainingOnlyOptions(cmd);
        ro.AddExtraction(cmd);
        foreach (var opt in new Option[] { o.Checkpoint, o.Scales, o.Shard }) cmd.Options.Add(opt);
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("make-recam", ct, (log, token) =>
        {
            MakeReCamStep.Run(o.Settings(r), ro.CombinationOf(r), log, r.GetValue(o.Checkpoint), o.ParseScales(r), token);
            return 0;
        })));
        return cmd;
    }

    public static Command EvalReCam(CliOptions o)
    {
        var cmd = new Command("eval-recam", "Seed mIoU of the ReCAMs (<work>/cams-recam) like eval-cam; writes <work>/metrics/eval-recam.json");
        o.AddCommon(cmd);
        o.AddTrainingOnlyOptions(cmd);
        cmd.Options.Add(o.Threshold);
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("eval-recam", ct, (log, token) =>
        {
            Console.WriteLine(EvalReCam(o.Settings(r), r.GetValue(o.Threshold), log, token).ToTable());
            return 0;
        })));
        return cmd;
    }

    private static ReCam.Evaluation.EvaluationReport EvalReCam(PipelineSettings settings, float threshold, ILogger log, CancellationToken token) =>
        EvalCamStep.Run(settings, log, threshold, new WorkFolder(settings.WorkDir).ReCams, "eval-recam", token);

    public static Command RunSteps(CliOptions o, ReCamOptions ro)
    {
        var steps = new Option<string>("--steps")
        {
            Description = "Comma-separated steps, run in pipeline order: " + string.Join(",", KnownSteps),
            DefaultValueFactory = _ => "train-cam,make-cam,eval-cam",
        };
        var sceneCount = new Option<int>("--scene-count") { Description = "make-scenes: training scenes", DefaultValueFactory = _ => 600 };
        var sceneSize = new Option<int>("--scene-size") { Description = "make-scenes: scene side", DefaultValueFactory = _ => 160 };
        var cmd = new Command("run", "Run several steps in order with one set of options (make-scenes writes into --voc)") { steps, sceneCount, sceneSize };
        o.AddCommon(cmd);
        o.AddTraining(cmd);
        ro.AddTraining(cmd);
        foreach (var opt in new Option[] { ro.ReCamEpochs, o.Checkpoint, o.Scales, o.Shard, o.Threshold }) cmd.Options.Add(opt);
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("run", ct, (log, token) =>
        {
            var wanted = r.GetValue(steps)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = wanted.Except(KnownSteps).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"--steps: unknown step(s) {string.Join(", ", unknown)}; known: {string.Join(", ", KnownSteps)}.");
            foreach (string step in KnownSteps.Where(wanted.Contains))
            {
                log.LogInformation("run: step {Step}", step);
                switch (step)
                {
                    case "make-scenes":
                        Scenes(r.GetValue(o.Voc)!, r.GetValue(sceneCount), Math.Max(1, r.GetValue(sceneCount) / 6), r.GetValue(sceneSize), r.GetValue(o.Seed), log, token);
                        break;
                    case "train-cam":
                        TrainCamStep.Run(o.Settings(r), o.Training(r), log, token);
                        break;
                    case "make-cam":
                        MakeCamStep.Run(o.Settings(r), log, null, o.ParseScales(r), token);
                        break;
                    case "eval-cam":
                        Console.WriteLine(EvalCamStep.Run(o.Settings(r), log, r.GetValue(o.Threshold), cancellationToken: token).ToTable());
                        break;
                    case "train-recam":
                        TrainReCamStep.Run(o.Settings(r), ro.Training(r, inRun: true), log, cancellationToken: token);
                        break;
                    case "make-recam":
                        MakeReCamStep.Run(o.Settings(r), ro.CombinationOf(r), log, null, o.ParseScales(r), token);
                        break;
                    case "eval-recam":
                        Console.WriteLine(EvalReCam(o.Settings(r), r.GetValue(o.Threshold), log, token).ToTable());
                        break;
                }
            }
            return 0;
        })));
        return cmd;
    }

    public static Command QuickStart()
    {
        var work = new Option<string>("--work") { Description = "Work folder (scenes go to <work>/scenes)", DefaultValueFactory = _ => "work/quickstart" };
        var count = new Option<int>("--count") { Description = "Training scenes", DefaultValueFactory = _ => 300 };
        var size = new Option<int>("--size") { Description = "Scene side = training crop", DefaultValueFactory = _ => 128 };
        var epochs = new Option<int>("--epochs") { Description = "CAM training epochs", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var cmd = new Command("quickstart",
            "End to end on generated scenes: make-scenes, train-cam, make-cam, eval-cam, train-recam, make-recam, eval-recam; prints both seed mIoUs")
        {
            work, count, size, epochs, threads,
        };
        cmd.SetAction((r, ct) => Task.FromResult(StepRunner.Run("quickstart", ct, (log, token) =>
        {
            string w = r.GetValue(work)!;
            string scenes = Path.Combine(w, "scenes");
            int n = r.GetValue(count), s = r.GetValue(size);
            if (!File.Exists(Path.Combine(scenes, "ImageSets", "Segmentation", "train.txt")))
                Scenes(scenes, n, Math.Max(1, n / 6), s, 0, log, token);
            else
                log.LogInformation("quickstart: using the scenes in {Dir}", scenes);
            var settings = new PipelineSettings { VocRoot = scenes, WorkDir = w, Threads = r.GetValue(threads) };
            double lr = ReCam.Networks.BackboneCatalog.Get(settings.Backbone).CamLearningRate;
            TrainCamStep.Run(settings, new ReCam.Training.CamTrainingOptions
            {
                Epochs = r.GetValue(epochs), BatchSize = 16, Crop = s, LearningRate = lr, ClassifierLearningRate = 10 * lr,
            }, log, cancellationToken: token);
            MakeCamStep.Run(settings, log, cancellationToken: token);
            var cam = EvalCamStep.Run(settings, log, cancellationToken: token);
            var recamOptions = new ReCam.Training.ReCamTrainingOptions { BatchSize = 16, Crop = s };
            TrainReCamStep.Run(settings, recamOptions, log, cancellationToken: token);
            MakeReCamStep.Run(settings, recamOptions.Combination, log, cancellationToken: token);
            var recam = EvalReCam(settings, EvalCamStep.DefaultThreshold, log, token);
            Console.WriteLine(SideBySide(cam, recam));
            Console.WriteLine($"Seed mIoU on the training images: CAM {100 * cam.BestMeanIoU:F1}, ReCAM {100 * recam.BestMeanIoU:F1} (best thresholds " +
                              $"{cam.BestThreshold:F2} / {recam.BestThreshold:F2}); at the default {cam.DefaultThreshold:F2}: CAM {100 * cam.DefaultMeanIoU:F1}, " +
                              $"ReCAM {100 * recam.DefaultMeanIoU:F1}.");
            return 0;
        })));
        return cmd;
    }

    private static string SideBySide(ReCam.Evaluation.EvaluationReport cam, ReCam.Evaluation.EvaluationReport recam)
    {
        var lines = new List<string> { $"{"class",-14} {"CAM",8} {"ReCAM",8}   (IoU % at each one's best threshold)", new string('-', 34) };
        for (int i = 0; i < cam.Classes.Count; i++)
            lines.Add($"{cam.Classes[i].Name,-14} {100 * cam.Classes[i].IoUAtBest,8:F2} {100 * recam.Classes[i].IoUAtBest,8:F2}");
        lines.Add(new string('-', 34));
        lines.Add($"{"mIoU",-14} {100 * cam.BestMeanIoU,8:F2} {100 * recam.BestMeanIoU,8:F2}");
        return string.Join(Environment.NewLine, lines);
    }

    private static void Scenes(string output, int trainCount, int valCount, int size, int seed, ILogger log, CancellationToken token)
    {
        if (trainCount < 1 || valCount < 0) throw new ArgumentException("--count must be at least 1 and --val-count at least 0.");
        var options = new SceneOptions
        {
            Count = trainCount + valCount, ValFraction = (double)valCount / (trainCount + valCount), ImageSize = size, Seed = seed,
        };
        var set = SceneGenerator.Generate(output, options, null, token);
        log.LogInformation("make-scenes: wrote {Train} training and {Val} validation scenes of {Size} px ({Classes} classes) to {Dir}",
            set.TrainIds.Count, set.ValIds.Count, size, set.ClassNames.Count, set.Root);
    }
}
