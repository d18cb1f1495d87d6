using System.CommandLine;
using Microsoft.Extensions.Logging;
using ReCam.Evaluation;
using ReCam.Pipeline;
using ReCam.Scenes;
using ReCam.Training;

namespace ReCam.Cli.Commands;

/// <summary>The pipeline steps as commands: make-scenes, the train/make/eval steps, run, quickstart.</summary>
internal sealed class PipelineCommands(StepRunner runner, CliOptions o, ReCamOptions ro, RefinementOptions fo, SegmentationCommands so)
{
    public static readonly string[] KnownSteps =
        ["make-scenes", TrainCamStep.Name, TrainReCamStep.Name, MakeCamStep.Name, MakeReCamStep.Name, EvalCamStep.Name, EvalReCamStep.Name, MakeAdvCamStep.Name, EvalAdvCamStep.Name, CamToIrLabelStep.Name, TrainIrnStep.Name, MakeSemSegStep.Name, EvalSemSegStep.Name, TrainDeepLabStep.Name, EvalDeepLabStep.Name];

    public IEnumerable<Command> All() =>
    [
        MakeScenes(),
        Step(TrainCamStep.Name, "Train the multi-label CAM classifier (sigmoid BCE) on a split; writes <work>/models/cam.ckpt",
            c =>
            {
                o.AddTraining(c);
                c.Options.Add(ro.W1LearningRate);
                c.Options.Add(o.LearningRateWarmup);
            },
            (r, log, ct) => TrainCamStep.Run(o.Settings(r), o.CamTraining(r) with { ClassifierLearningRate = r.GetValue(ro.W1LearningRate) }, log, ct)),
        Step(MakeCamStep.Name, "Extract multi-scale CAMs for every image of a split; writes <work>/cams/<id>.npz",
            c => AddExtraction(c), (r, log, ct) => MakeCamStep.Run(o.Settings(r), o.Extraction(r), log, ct)),
        Step(EvalCamStep.Name, "Seed mIoU of the CAMs against the split's masks, with a threshold sweep; writes <work>/metrics/eval-cam.json",
            c => AddEvaluation(c), (r, log, ct) => Console.WriteLine(EvalCamStep.Run(o.Settings(r), o.Evaluation(r), log, ct).ToTable())),
        Step(TrainReCamStep.Name, "Re-activate a CAM network with BCE + lambda*SCE (ReCAM); reads <work>/models/cam.ckpt, writes <work>/models/recam.ckpt",
            c =>
            {
                o.AddTraining(c);
                ro.AddTraining(c);
                c.Options.Add(o.Checkpoint);
            },
            (r, log, ct) => TrainReCamStep.Run(o.Settings(r), ro.Training(r), log, ct)),
        Step(MakeReCamStep.Name, "Extract multi-scale ReCAMs (like make-cam, weights W1*W2 by default, pixel classes ranked by W1); writes <work>/cams-recam/<id>.npz",
            c =>
            {
                AddExtraction(c);
                ro.AddExtraction(c);
                ro.AddReCamMaps(c);
            },
            (r, log, ct) => MakeReCamStep.Run(o.Settings(r), ro.ReCamMaps(r, o.Extraction(r)), log, ct)),
        Step(EvalReCamStep.Name, "Seed mIoU of the ReCAMs (<work>/cams-recam) like eval-cam; writes <work>/metrics/eval-recam.json",
            c => AddEvaluation(c), (r, log, ct) => Console.WriteLine(EvalReCamStep.Run(o.Settings(r), o.Evaluation(r), log, ct).ToTable())),
        Step(MakeAdvCamStep.Name, "Extract AdvCAMs (adversarial climbing per scale and class) on the ReCAM network (CAM without recam.ckpt); writes <work>/cams-advcam/<id>.npz",
            c =>
            {
                AddExtraction(c);
                ro.AddExtraction(c);
                fo.AddAdvCam(c);
            },
            (r, log, ct) => MakeAdvCamStep.Run(o.Settings(r), o.Extraction(r, ro.CombinationOf(r)), fo.AdvCam(r), log, ct)),
        Step(EvalAdvCamStep.Name, "Seed mIoU of the AdvCAMs (<work>/cams-advcam) like eval-cam; writes <work>/metrics/eval-advcam.json",
            c => AddEvaluation(c), (r, log, ct) => Console.WriteLine(EvalAdvCamStep.Run(o.Settings(r), o.Evaluation(r), log, ct).ToTable())),
        Step(CamToIrLabelStep.Name, "IR labels: confident foreground/background from the seed maps, each refined by a dense CRF; writes <work>/ir_labels/<id>.png",
            c =>
            {
                CliOptions.AddTrainingOnlyOptions(c);
                fo.AddIrLabel(c);
                c.Options.Add(o.Shard);
            },
            (r, log, ct) => CamToIrLabelStep.Run(o.Settings(r), fo.IrLabel(r), log, ct)),
        Step(TrainIrnStep.Name, "Train the boundary network (IRNet's edge branch on a frozen ImageNet backbone) from the IR labels; writes <work>/models/irn.ckpt",
            c =>
            {
                foreach (var opt in new Option[] { o.Epochs, o.Batch, o.Crop, o.LearningRate, o.Momentum }) c.Options.Add(opt);
            },
            (r, log, ct) => TrainIrnStep.Run(o.Settings(r), IrnTraining(r, r.GetValue(o.Epochs), r.GetValue(o.LearningRate)), log, ct)),
        Step(MakeSemSegStep.Name, "Pseudo masks: boundary map, sparse random walk of the seed maps, background plane; writes <work>/pseudo_masks/<id>.png",
            c =>
            {
                CliOptions.AddTrainingOnlyOptions(c);
                fo.AddSemSeg(c);
                c.Options.Add(o.Checkpoint);
                c.Options.Add(o.Shard);
            },
            (r, log, ct) => MakeSemSegStep.Run(o.Settings(r), fo.SemSeg(r), log, ct)),
        Step(MakeCocoMasksStep.Name, "Paint a COCO split's ground-truth masks from its instance annotations (the official annToMask); writes mask/<split>/<id>.png under --coco",
            c => c.Options.Add(o.Shard), (r, log, ct) => MakeCocoMasksStep.Run(o.Settings(r), log, ct)),
        Step(EvalSemSegStep.Name, "mIoU of the pseudo masks against the split's masks, per class; writes <work>/metrics/eval-sem-seg.json",
            c => CliOptions.AddTrainingOnlyOptions(c), (r, log, ct) => Console.WriteLine(EvalSemSegStep.Run(o.Settings(r), log, ct).ToTable())),
        RunSteps(),
        QuickStart(),
    ];

    private BoundaryTrainingOptions IrnTraining(ParseResult r, int? epochs, double? learningRate)
    {
        var d = new BoundaryTrainingOptions();
        return d with
        {
            Epochs = epochs, LearningRate = learningRate ?? d.LearningRate, BatchSize = r.GetValue(o.Batch) ?? d.BatchSize,
            Crop = r.GetValue(o.Crop) ?? d.Crop, Momentum = r.GetValue(o.Momentum) ?? d.Momentum,
        };
    }

    private Command Step(string name, string description, Action<Command> addOptions, Action<ParseResult, ILogger, CancellationToken> action) =>
        runner.StepCommand(o, name, description, addOptions, action);

    private void AddExtraction(Command c)
    {
        CliOptions.AddTrainingOnlyOptions(c);
        foreach (var opt in new Option[] { o.Checkpoint, o.Scales, o.MaxInputSide, o.Shard }) c.Options.Add(opt);
    }

    private void AddEvaluation(Command c)
    {
        CliOptions.AddTrainingOnlyOptions(c);
        c.Options.Add(o.Threshold);
    }

    private Command MakeScenes()
    {
        var output = new Option<string>("--voc", "--out") { Description = "Output folder (VOC layout)", Required = true };
        var count = new Option<int>("--count") { Description = "Training scenes (train.txt)", DefaultValueFactory = _ => 600 };
        var valCount = new Option<int>("--val-count") { Description = "Validation scenes (val.txt)", DefaultValueFactory = _ => 100 };
        var size = new Option<int>("--size") { Description = "Scene side in pixels", DefaultValueFactory = _ => new SceneOptions().ImageSize };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same files)", DefaultValueFactory = _ => 0 };
        var defaults = new SceneOptions();
        var objects = new Option<string>("--objects")
        {
            Description = "Fewest and most items per scene, MIN,MAX", DefaultValueFactory = _ => $"{defaults.MinObjects},{defaults.MaxObjects}",
        };
        var itemSize = new Option<string>("--item-size")
        {
            Description = "Smallest and largest item side as fractions of the scene side, MIN,MAX",
            DefaultValueFactory = _ => FormattableString.Invariant($"{defaults.MinItemFraction},{defaults.MaxItemFraction}"),
        };
        var confusable = new Option<double>("--confusable")
        {
            Description = "Chance that an extra item comes from the confusion group of one already in the scene", DefaultValueFactory = _ => defaults.ConfusableProbability,
        };
        var cmd = new Command("make-scenes", "Compose Fashion-MNIST items (training split) into multi-object scenes with masks, in VOC layout")
        {
            output, count, valCount, size, seed, objects, itemSize, confusable,
        };
        cmd.SetAction((r, ct) => runner.Run("make-scenes", ct, (log, token) =>
        {
            var (minObjects, maxObjects) = Pair(r.GetValue(objects)!, "--objects", int.Parse);
            var (minItem, maxItem) = Pair(r.GetValue(itemSize)!, "--item-size", s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
            var shape = defaults with
            {
                MinObjects = minObjects, MaxObjects = maxObjects, MinItemFraction = minItem, MaxItemFraction = maxItem, ConfusableProbability = r.GetValue(confusable),
            };
            Scenes(r.GetValue(output)!, r.GetValue(count), r.GetValue(valCount), r.GetValue(size), r.GetValue(seed), log, token, shape);
        }));
        return cmd;
    }

    private Command RunSteps()
    {
        var steps = new Option<string>("--steps")
        {
            Description = "Comma-separated steps, run in pipeline order: " + string.Join(",", KnownSteps),
            DefaultValueFactory = _ => "train-cam,make-cam,eval-cam",
        };
        var sceneCount = new Option<int>("--scene-count") { Description = "make-scenes: training scenes", DefaultValueFactory = _ => 600 };
        var sceneSize = new Option<int>("--scene-size") { Description = "make-scenes: scene side", DefaultValueFactory = _ => new SceneOptions().ImageSize };
        var cmd = new Command("run", "Run several steps in order with one set of options (make-scenes writes into --voc)") { steps, sceneCount, sceneSize };
        o.AddCommon(cmd);
        o.AddTraining(cmd);
        ro.AddTraining(cmd);
        ro.AddReCamMaps(cmd);
        foreach (var opt in new Option[] { ro.ReCamEpochs, o.Checkpoint, o.Scales, o.MaxInputSide, o.Shard, o.Threshold }) cmd.Options.Add(opt);
        fo.AddIrLabel(cmd, withPreset: false);
        fo.AddSemSeg(cmd, withMaps: false);
        cmd.Options.Add(fo.IrnLearningRate);
        cmd.Options.Add(fo.IrnEpochs);
        fo.AddAdvCam(cmd);
        var deeplabEpochs = new Option<int?>("--deeplab-epochs") { Description = "run: epochs of train-deeplab (train-deeplab itself takes --epochs)" };
        var deeplabRate = new Option<double?>("--deeplab-lr") { Description = "run: learning rate of train-deeplab (train-deeplab itself takes --lr)" };
        var evalSplit = new Option<string>("--eval-split") { Description = "run: the split eval-deeplab scores", DefaultValueFactory = _ => "val" };
        foreach (var opt in new Option[] { so.Masks, so.Variant, so.OutputStride, so.Crf, so.Init, deeplabEpochs, deeplabRate, evalSplit }) cmd.Options.Add(opt);
        cmd.SetAction((r, ct) => runner.Run("run", ct, (log, token) =>
        {
            var wanted = r.GetValue(steps)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var unknown = wanted.Except(KnownSteps).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"--steps: unknown step(s) {string.Join(", ", unknown)}; known: {string.Join(", ", KnownSteps)}.");
            // --checkpoint is the CAM model that make-cam and train-recam read when this run does not train one itself.
            var settings = o.Settings(r);
            bool trainsCam = wanted.Contains(TrainCamStep.Name);
            foreach (string step in KnownSteps.Where(wanted.Contains))
            {
                log.LogInformation("run: step {Step}", step);
                bool readsGivenCam = !trainsCam && step is TrainReCamStep.Name or MakeCamStep.Name;
                var stepSettings = readsGivenCam ? settings : settings with { Checkpoint = null };
                switch (step)
                {
                    case "make-scenes":
                        Scenes(settings.VocRoot ?? throw new ArgumentException("make-scenes writes a VOC-layout folder: give it as --voc."), r.GetValue(sceneCount), Math.Max(1, r.GetValue(sceneCount) / 6), r.GetValue(sceneSize), settings.Seed, log, token);
                        break;
                    case TrainCamStep.Name:
                        TrainCamStep.Run(stepSettings, o.CamTraining(r), log, token);
                        break;
                    case MakeCamStep.Name:
                        MakeCamStep.Run(stepSettings, o.Extraction(r), log, token);
                        break;
                    case EvalCamStep.Name:
                        Console.WriteLine(EvalCamStep.Run(stepSettings, o.Evaluation(r), log, token).ToTable());
                        break;
                    case TrainReCamStep.Name:
                        TrainReCamStep.Run(stepSettings, ro.Training(r, inRun: true), log, token);
                        break;
                    case MakeReCamStep.Name:
                        MakeReCamStep.Run(stepSettings, ro.ReCamMaps(r, o.Extraction(r)), log, token);
                        break;
                    case EvalReCamStep.Name:
                        Console.WriteLine(EvalReCamStep.Run(stepSettings, o.Evaluation(r), log, token).ToTable());
                        break;
                    case MakeAdvCamStep.Name:
                        MakeAdvCamStep.Run(stepSettings, o.Extraction(r, ro.CombinationOf(r)), fo.AdvCam(r), log, token);
                        break;
                    case EvalAdvCamStep.Name:
                        Console.WriteLine(EvalAdvCamStep.Run(stepSettings, o.Evaluation(r), log, token).ToTable());
                        break;
                    case CamToIrLabelStep.Name:
                        CamToIrLabelStep.Run(stepSettings, fo.IrLabel(r, ro.Preset), log, token);
                        break;
                    case TrainIrnStep.Name:
                        TrainIrnStep.Run(stepSettings, IrnTraining(r, r.GetValue(fo.IrnEpochs), r.GetValue(fo.IrnLearningRate)), log, token);
                        break;
                    case MakeSemSegStep.Name:
                        MakeSemSegStep.Run(stepSettings, fo.SemSeg(r), log, token);
                        break;
                    case EvalSemSegStep.Name:
                        Console.WriteLine(EvalSemSegStep.Run(stepSettings, log, token).ToTable());
                        break;
                    case TrainDeepLabStep.Name:
                        var deeplab = so.Training(r);
                        deeplab = deeplab with { Epochs = r.GetValue(deeplabEpochs), LearningRate = r.GetValue(deeplabRate) ?? new DeepLabTrainingOptions().LearningRate };
                        TrainDeepLabStep.Run(stepSettings, deeplab, r.GetValue(so.Masks), log, token);
                        break;
                    case EvalDeepLabStep.Name:
                        var inference = new Segmentation.SegmentationOptions { Crf = r.GetValue(so.Crf) ? Refinement.DenseCrfOptions.DeepLabPostProcessing : null };
                        if (EvalDeepLabStep.Run(stepSettings with { Split = r.GetValue(evalSplit)! }, inference, log, token) is { } scored) Console.WriteLine(scored.ToTable());
                        break;
                }
            }
        }));
        return cmd;
    }

    private Command QuickStart()
    {
        var work = new Option<string>("--work") { Description = "Work folder (scenes go to <work>/scenes)", DefaultValueFactory = _ => "work/quickstart" };
        var count = new Option<int>("--count") { Description = "Training scenes", DefaultValueFactory = _ => 300 };
        var size = new Option<int>("--size") { Description = "Scene side = training crop", DefaultValueFactory = _ => 128 };
        var epochs = new Option<int>("--epochs") { Description = "CAM training epochs", DefaultValueFactory = _ => CamTrainingOptions.DefaultEpochs };
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var deeplabEpochs = new Option<int?>("--deeplab-epochs") { Description = "train-deeplab epochs. Default 5 (train-deeplab's own default is longer)", DefaultValueFactory = _ => 5 };
        var cmd = new Command("quickstart",
            "End to end on generated scenes: make-scenes, train-cam, make-cam, eval-cam, train-recam, make-recam, eval-recam, cam-to-ir-label, train-irn, make-sem-seg, eval-sem-seg, train-deeplab, eval-deeplab (val); prints the seed, pseudo-mask and segmenter mIoUs")
        {
            work, count, size, epochs, threads, deeplabEpochs,
        };
        cmd.SetAction((r, ct) => runner.Run("quickstart", ct, (log, token) =>
        {
            string w = r.GetValue(work)!;
            string scenes = Path.Combine(w, "scenes");
            int n = r.GetValue(count), s = r.GetValue(size);
            if (!File.Exists(Path.Combine(scenes, "ImageSets", "Segmentation", "train.txt")))
                Scenes(scenes, n, Math.Max(1, n / 6), s, 0, log, token);
            else
                log.LogInformation("quickstart: using the scenes in {Dir}", scenes);
            var settings = new PipelineSettings { VocRoot = scenes, WorkDir = w, Threads = r.GetValue(threads) };
            // Only the ReCAM maps feed the later steps, so CAM maps are made for the scored images alone; all three stages are
            // scored on the same images, which also saves two thirds of make-cam.
            var (scoredSplit, scoredCount) = ScoredSplit(scenes, log);
            var scored = settings with { Split = scoredSplit };
            TrainCamStep.Run(settings, new CamTrainingOptions { Epochs = r.GetValue(epochs), Crop = s }, log, token);
            MakeCamStep.Run(scored, new ExtractionOptions(), log, token);
            var cam = EvalCamStep.Run(scored, new EvaluationOptions(), log, token);
            TrainReCamStep.Run(settings, new ReCamTrainingOptions { Crop = s }, log, token);
            MakeReCamStep.Run(settings, new ExtractionOptions(), log, token);
            var recam = EvalReCamStep.Run(scored, new EvaluationOptions(), log, token);
            CamToIrLabelStep.Run(settings, new IrLabelOptions(), log, token);
            TrainIrnStep.Run(settings, new BoundaryTrainingOptions { Crop = s - s % 4 }, log, token);
            MakeSemSegStep.Run(settings, new SemSegOptions(), log, token);
            var masks = EvalSemSegStep.Run(scored, log, token);
            TrainDeepLabStep.Run(settings, new DeepLabTrainingOptions { Crop = s, Epochs = r.GetValue(deeplabEpochs) }, null, log, token);
            var segmenter = EvalDeepLabStep.Run(settings with { Split = "val" }, new Segmentation.SegmentationOptions(), log, token)!;
            Console.WriteLine(SideBySide(cam, recam, masks));
            Console.WriteLine($"Seed mIoU on the first {scoredCount} training images: CAM {100 * cam.BestMeanIoU:F1}, ReCAM {100 * recam.BestMeanIoU:F1} (best thresholds " +
                              $"{cam.BestThreshold:F2} / {recam.BestThreshold:F2}); at the default {cam.DefaultThreshold:F2}: CAM {100 * cam.DefaultMeanIoU:F1}, " +
                              $"ReCAM {100 * recam.DefaultMeanIoU:F1}; at the automatic thresholds {cam.AutomaticThreshold:F2} / {recam.AutomaticThreshold:F2} " +
                              $"(chosen without masks): CAM {100 * cam.AutomaticMeanIoU:F1}, ReCAM {100 * recam.AutomaticMeanIoU:F1}.");
            Console.WriteLine($"Pseudo masks (ReCAM + IR labels + boundary network + random walk + CRF): mIoU {100 * masks.MeanIoU:F1}, " +
                              $"{100 * (masks.MeanIoU - recam.BestMeanIoU):+0.0;-0.0} over the ReCAM seeds at their best threshold.");
            Console.WriteLine($"DeepLab trained on the pseudo masks, on {segmenter.Images} validation images it never saw (no labels): mIoU {100 * segmenter.MeanIoU:F1}.");
        }));
        return cmd;
    }

    /// <summary>The quick start's scored split: the first <see cref="ScoredImages"/> training images, written once beside the others.</summary>
    private static (string Name, int Count) ScoredSplit(string scenes, ILogger log)
    {
        const string name = "quickstart-scored";
        string folder = Path.Combine(scenes, "ImageSets", "Segmentation"), path = Path.Combine(folder, name + ".txt");
        var ids = File.ReadLines(Path.Combine(folder, "train.txt")).Where(l => l.Length > 0).Take(ScoredImages).ToList();
        if (!File.Exists(path))
        {
            File.WriteAllLines(path + ".tmp", ids);
            File.Move(path + ".tmp", path, overwrite: true);
        }
        log.LogInformation("quickstart: seeds and pseudo masks are scored on the first {Count} training images (split {Split})", ids.Count, name);
        return (name, ids.Count);
    }

    /// <summary>Training images the quick start scores (the seed grid of the README scores as many).</summary>
    private const int ScoredImages = 100;

    private static string SideBySide(EvaluationReport cam, EvaluationReport recam, MaskEvaluation masks)
    {
        var lines = new List<string>
        {
            $"{"class",-14} {"CAM",8} {"ReCAM",8} {"masks",8}   (IoU %: seeds at each one's best threshold; pseudo masks)", new string('-', 43),
        };
        for (int i = 0; i < cam.Classes.Count; i++)
            lines.Add($"{cam.Classes[i].Name,-14} {100 * cam.Classes[i].IoUAtBest,8:F2} {100 * recam.Classes[i].IoUAtBest,8:F2} {100 * masks.IoU[i],8:F2}");
        lines.Add(new string('-', 43));
        lines.Add($"{"mIoU",-14} {100 * cam.BestMeanIoU,8:F2} {100 * recam.BestMeanIoU,8:F2} {100 * masks.MeanIoU,8:F2}");
        return string.Join(Environment.NewLine, lines);
    }

    private static (T, T) Pair<T>(string text, string option, Func<string, T> parse)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        try
        {
            if (parts.Length == 2) return (parse(parts[0]), parse(parts[1]));
        }
        catch (FormatException)
        {
        }
        throw new ArgumentException($"{option}: expected MIN,MAX, got '{text}'.");
    }

    private static void Scenes(string output, int trainCount, int valCount, int size, int seed, ILogger log, CancellationToken token, SceneOptions? shape = null)
    {
        if (trainCount < 1 || valCount < 0) throw new ArgumentException("--count must be at least 1 and --val-count at least 0.");
        var options = (shape ?? new SceneOptions()) with
        {
            Count = trainCount + valCount, ValFraction = (double)valCount / (trainCount + valCount), ImageSize = size, Seed = seed,
        };
        var set = SceneGenerator.Generate(output, options, null, token);
        log.LogInformation("make-scenes: wrote {Train} training and {Val} validation scenes of {Size} px ({Classes} classes) to {Dir}",
            set.TrainIds.Count, set.ValIds.Count, size, set.ClassNames.Count, set.Root);
    }
}
