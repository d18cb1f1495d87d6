using System.Diagnostics;
using ReCam.Cam;
using ReCam.Data;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Training;
using static TorchSharp.torch;

namespace ReCam.Cli.Commands;

/// <summary>
/// recam bench --voc DIR --work W: one step's own code on a dataset's images, timed per training step or per image (median
/// after one warm-up), with the process's peak resident memory. Unlike the random-tensor figures of the plain bench, this
/// includes what the steps really do: decoding, augmentation and batching for training; decoding, PIL-exact rescaling, map
/// fusion and the atomic <c>.npz</c> write for extraction. One work per process, so that the peak is that work's; the
/// official side of bench/compare-official.sh prints the same line.
/// </summary>
internal static class StepBench
{
    /// <summary>The works this bench knows.</summary>
    public static IReadOnlyList<string> Works { get; } = ["train-cam", "train-recam", "make-cam"];

    /// <summary>Runs <paramref name="work"/> and prints <c>RESULT work backbone median-seconds peak-MiB count</c>.</summary>
    public static void Run(string work, string voc, BackboneSpec spec, int batch, int crop, int steps, int images, CancellationToken token)
    {
        if (!Works.Contains(work)) throw new ArgumentException($"--work: '{work}' is not one of {string.Join(", ", Works)}.");
        string classesFile = Path.Combine(voc, "classes.txt");
        var classes = File.Exists(classesFile) ? ClassNames.ReadFile(classesFile) : ClassNames.Voc20;
        var dataset = new VocDataset(voc, classes);
        var ids = dataset.ReadSplit("train");
        var labels = dataset.LoadLabels(ids);
        var samples = ids.Select(id => new TrainingSample(id, dataset.ImagePath(id), labels[id])).ToList();
        var (network, _) = CamNetwork.Create(spec, classes.Count, null, seed: 0);
        using var _ = network;
        var times = work switch
        {
            "make-cam" => ExtractionSeconds(network, samples.Take(images + 1).ToList(), token),
            _ => TrainingStepSeconds(network, work == "train-recam", samples, batch, crop, steps, token),
        };
        double peak = BenchCommand.PeakResidentBytes() / (1024.0 * 1024.0);
        Console.WriteLine(FormattableString.Invariant($"RESULT {work} {spec.Name} {BenchTiming.Median(times):F4} {peak:F0} {times.Count}"));
    }

    // Seconds between consecutive progress reports (each report follows one optimiser step), the first step left out.
    private static List<double> TrainingStepSeconds(CamNetwork network, bool recam, List<TrainingSample> samples, int batch, int crop, int steps,
        CancellationToken token)
    {
        int needed = batch * (steps + 1);
        if (samples.Count < needed) throw new ArgumentException($"--steps {steps} at --batch {batch} needs {needed} training images; the dataset has {samples.Count}.");
        samples = samples.Take(needed).ToList();
        var times = new List<double>();
        var clock = Stopwatch.StartNew();
        var hooks = new TrainingHooks(new BenchTiming.Progress(p =>
        {
            if (p.Step > 1) times.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
        }), CancellationToken: token);
        if (!recam)
        {
            CamTrainer.Train(network, samples, new CamTrainingOptions { Epochs = 1, BatchSize = batch, Crop = crop }, CPU, hooks);
            return times;
        }
        // Joint steps only (the head's warm-up epochs run the backbone without gradients, a cheaper step the official code has not).
        var options = new ReCamTrainingOptions { Epochs = 1, HeadWarmupEpochs = 0, BatchSize = batch, Crop = crop };
        using var head = new ReCamHead(network.Backbone.OutputChannels, network.ClassCount, options.BackgroundClass);
        head.Initialize(options.HeadInit, 0);
        ReCamTrainer.Train(network, head, samples, options, CPU, hooks);
        return times;
    }

    // Per image: decode, extract (4 scales x flip), write the .npz (into a temporary folder, removed afterwards).
    private static List<double> ExtractionSeconds(CamNetwork network, List<TrainingSample> samples, CancellationToken token)
    {
        network.eval();
        var extractor = new CamExtractor(network);
        string folder = Directory.CreateTempSubdirectory("recam-bench-cams-").FullName;
        var times = new List<double>();
        double decode = 0, write = 0;
        ExtractionTimings? warm = null;
        try
        {
            for (int i = 0; i < samples.Count; i++)
            {
                token.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                var keys = Enumerable.Range(0, samples[i].Labels.Length).Where(c => samples[i].Labels[c] > 0).Select(c => (long)c).ToArray();
                var image = ImageDecoder.LoadRgb(samples[i].ImagePath);
                double decoded = clock.Elapsed.TotalSeconds;
                var maps = extractor.Extract(image, keys);
                double extracted = clock.Elapsed.TotalSeconds;
                CamMapsFile.Write(CamMapsFile.PathFor(folder, samples[i].Id), maps);
                if (i == 0)
                {
                    warm = extractor.Timings;
                    continue;
                }
                times.Add(clock.Elapsed.TotalSeconds);
                decode += decoded;
                write += clock.Elapsed.TotalSeconds - extracted;
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        if (warm is not null && times.Count > 0)
        {
            var t = extractor.Timings;
            double total = times.Sum(), n = times.Count;
            (string Part, double Seconds)[] parts =
            [
                ("decode", decode), ("rescale", t.Rescale - warm.Rescale), ("network", t.Network - warm.Network), ("fusion", t.Fusion - warm.Fusion),
                ("normalise+copy", t.Output - warm.Output), ("npz write", write),
            ];
            Console.WriteLine("profile (mean per image): " + string.Join(", ",
                parts.Select(p => FormattableString.Invariant($"{p.Part} {1000 * p.Seconds / n:F1} ms ({100 * p.Seconds / total:F0}%)"))));
        }
        return times;
    }
}
