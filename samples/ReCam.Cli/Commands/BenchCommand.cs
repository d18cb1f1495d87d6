using System.CommandLine;
using System.Diagnostics;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Platform;
using ReCam.Training;
using static TorchSharp.torch;

namespace ReCam.Cli.Commands;

/// <summary>
/// recam bench: prints training and extraction throughput and peak memory at stated sizes. Numbers,
/// not assertions: timing belongs here, never in unit tests.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(StepRunner runner)
    {
        var backbone = new Option<string>("--backbone") { DefaultValueFactory = _ => BackboneCatalog.DefaultName, Description = "Backbone" };
        var size = new Option<int>("--size") { DefaultValueFactory = _ => 160, Description = "Training crop and extraction image side" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 16, Description = "Training batch" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 5, Description = "Timed training steps (after one warm-up step)" };
        var images = new Option<int>("--images") { DefaultValueFactory = _ => 10, Description = "Timed extraction images (after one warm-up)" };
        var classes = new Option<int>("--classes") { DefaultValueFactory = _ => 20, Description = "Number of classes C" };
        var keys = new Option<int>("--keys") { DefaultValueFactory = _ => 2, Description = "Present classes per extracted image" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 0, Description = "Torch CPU threads (0 = all cores)" };
        var extractionOnly = new Option<bool>("--extraction-only") { Description = "Measure extraction only (no training steps)" };
        var neighbour = new Option<bool>("--busy-neighbour")
        {
            Description = "Keep one other thread of this process busy meanwhile, as a server's request threads would (shared-core test)",
        };
        var memorySizes = new Option<string?>("--memory-sizes")
        {
            Description = "Also extract one random image of each of these sides (comma-separated, for example 1000,2000,4000) and print each one's peak memory",
        };
        var maxInputSide = new Option<int>("--max-input-side") { DefaultValueFactory = _ => CamExtractor.DefaultMaxInputSide, Description = "Extraction's largest input side" };
        var advImages = new Option<int>("--advcam-images")
        {
            DefaultValueFactory = _ => 1, Description = "Timed AdvCAM images (make-advcam; 0 = skip): each costs about a hundred CAM extractions per class",
        };
        var advIterations = new Option<int>("--adv-iterations")
        {
            DefaultValueFactory = _ => AdvCamOptions.DefaultIterations, Description = "AdvCAM climbing steps per scale and class (official 27)",
        };
        var refinement = new Option<bool>("--refinement")
        {
            Description = "Measure the refinement instead: dense CRF, sparse random walk and the official dense walk, at VOC's 500x375",
        };
        var segmentation = new Option<bool>("--segmentation")
        {
            Description = "Measure DeepLab instead: train-deeplab images/s, segmentation images/s (single scale; multi-scale + flip) at --size, and through an ML.NET PredictionEngine",
        };
        var deeplab = new Option<string>("--deeplab") { DefaultValueFactory = _ => new DeepLabShape().VariantName, Description = "--segmentation: DeepLab head, v2, v3 or v3+" };
        var outputStride = new Option<int>("--output-stride") { DefaultValueFactory = _ => new DeepLabShape().OutputStride, Description = "--segmentation: output stride, 8 or 16" };
        var voc = new Option<string?>("--voc")
        {
            Description = "Time one step's own code on this dataset's training images instead of random tensors (with --work); prints a RESULT line",
        };
        var work = new Option<string>("--work")
        {
            DefaultValueFactory = _ => "make-cam", Description = $"--voc: the work to time, one of {string.Join(", ", StepBench.Works)} (one per process: the peak memory is its own)",
        };
        var peakSpeed = new Option<bool>("--peak")
        {
            Description = "Measure the CPU's own speed through libtorch instead: fp32 (and native bfloat16) matmul and 3x3 convolutions in GFLOP/s, the yardstick for the other figures",
        };
        var cmd = new Command("bench", "Measure training images/s, extraction images/s and peak memory on random data")
        {
            backbone, size, batch, steps, images, classes, keys, threads, extractionOnly, neighbour, memorySizes, maxInputSide, refinement, advImages,
            advIterations, segmentation, deeplab, outputStride, voc, work, peakSpeed,
        };
        cmd.SetAction((r, ct) => runner.Run("bench", ct, (log, token) =>
        {
            ComputeDevice.Select("cpu", r.GetValue(threads));
            if (r.GetValue(peakSpeed))
            {
                PeakBench.Run(repetitions: 10, token);
                return;
            }
            if (r.GetValue(refinement))
            {
                RefinementBench.Run(r.GetValue(keys), r.GetValue(images), token);
                return;
            }
            var spec = BackboneCatalog.Get(r.GetValue(backbone)!);
            int s = r.GetValue(size), b = r.GetValue(batch), c = r.GetValue(classes);
            if (r.GetValue(voc) is { } root)
            {
                StepBench.Run(r.GetValue(work)!, root, spec, b, s, r.GetValue(steps), r.GetValue(images), token);
                return;
            }
            if (r.GetValue(segmentation))
            {
                var shape = DeepLabShape.Parse(r.GetValue(deeplab)!, r.GetValue(outputStride).ToString(System.Globalization.CultureInfo.InvariantCulture));
                SegmentationBench.Run(spec, shape, s, b, r.GetValue(steps), r.GetValue(images), c, token);
                PredictionEngineBench.Run(spec.Name, shape, s, r.GetValue(images), c, token);
                return;
            }
            var (net, _) = CamNetwork.Create(spec, c, null, seed: 0);
            using var _ = net;
            using var busy = r.GetValue(neighbour) ? new BusyNeighbour() : null;
            Console.WriteLine($"backbone {spec.Name}, threads {get_num_threads()}, C = {c}, OMP_WAIT_POLICY {Environment.GetEnvironmentVariable("OMP_WAIT_POLICY")}" +
                              (busy is null ? "" : ", with a busy neighbour thread"));
            if (!r.GetValue(extractionOnly))
            {
                net.FreezeStem();
                double train = TrainStepsPerSecond(net, null, b, s, c, r.GetValue(steps), token) * b;
                using var head = new ReCamHead(net.Backbone.OutputChannels, c, ReCamTrainingOptions.DefaultBackgroundClass); // as train-recam's defaults
                double trainReCam = TrainStepsPerSecond(net, head, b, s, c, r.GetValue(steps), token) * b;
                Console.WriteLine($"train-cam step, batch {b}, crop {s}x{s}: {train:F2} images/s ({b / train:F2} s/step)");
                Console.WriteLine($"train-recam step, batch {b}, crop {s}x{s}: {trainReCam:F2} images/s ({b / trainReCam:F2} s/step, {100 * (train / trainReCam - 1):+0;-0}% time per step vs train-cam)");
                double trainIrn = BoundaryImagesPerSecond(spec, b, s - s % 4, r.GetValue(steps), token);
                Console.WriteLine($"train-irn step, batch {b}, crop {s - s % 4}x{s - s % 4} (frozen backbone, edge layers, affinity loss): {trainIrn:F2} images/s");
            }
            net.eval();
            var extractor = new CamExtractor(net, maxInputSide: r.GetValue(maxInputSide));
            double extract = ExtractionImagesPerSecond(extractor, s, r.GetValue(keys), r.GetValue(images), token);
            long peak = PeakResidentBytes();
            Console.WriteLine($"make-cam / make-recam (same extractor), {s}x{s} image, 4 scales x 2 flips, {r.GetValue(keys)} classes: {extract:F2} images/s");
            if (r.GetValue(advImages) > 0)
            {
                var climbing = new AdvCamOptions { Iterations = r.GetValue(advIterations) };
                var adversarial = new CamExtractor(net, maxInputSide: r.GetValue(maxInputSide), climbing: climbing);
                var watch = Stopwatch.StartNew(); // warmed up by the extraction above
                var image = RandomImage(s);
                var present = Enumerable.Range(0, r.GetValue(keys)).Select(k => (long)k).ToArray();
                for (int i = 0; i < r.GetValue(advImages); i++)
                {
                    token.ThrowIfCancellationRequested();
                    adversarial.Extract(image, present);
                }
                double adv = r.GetValue(advImages) / watch.Elapsed.TotalSeconds;
                Console.WriteLine($"make-advcam, {s}x{s} image, 4 scales, {r.GetValue(keys)} classes, {climbing.Iterations} iterations (scale 0.5: {climbing.IterationsAt(0.5)}): " +
                                  $"{adv:F3} images/s ({1 / adv:F1} s/image, {extract / adv:F0}x make-cam's time)");
            }
            Console.WriteLine($"peak resident memory: {peak / (1024.0 * 1024.0):F0} MiB");
            foreach (int side in ParseSizes(r.GetValue(memorySizes)))
                ExtractionPeakMemory(extractor, side, r.GetValue(keys), token);
        }));
        return cmd;
    }

    // One train-cam step (head null) or one joint train-recam step (BCE + SCE through the soft masks) on random data.
    private static double TrainStepsPerSecond(CamNetwork net, ReCamHead? head, int batch, int size, int classes, int steps, CancellationToken token)
    {
        net.train();
        var parameters = net.parameters().Concat(head?.parameters() ?? []).Where(p => p.requires_grad);
        using var optimizer = optim.SGD(parameters, 0.01, 1e-4);
        var watch = new Stopwatch();
        for (int i = 0; i <= steps; i++)
        {
            token.ThrowIfCancellationRequested();
            if (i == 1) watch.Start();
            using var scope = NewDisposeScope();
            var x = randn(batch, 3, size, size);
            var y = randint(0, 2, [batch, classes]).to(float32);
            optimizer.zero_grad();
            var features = net.Features(x);
            var loss = nn.functional.binary_cross_entropy_with_logits(net.Logits(features), y);
            if (head is not null)
            {
                var (masks, classFeatures) = ReCamHead.MaskedClassFeatures(features, net.ClassifierWeight);
                var background = head.HasBackgroundClass ? ReCamHead.BackgroundFeatures(masks, features, y) : null;
                loss = loss + head.Loss(classFeatures, y, background).Loss;
            }
            loss.backward();
            optimizer.step();
        }
        return steps / watch.Elapsed.TotalSeconds;
    }

    // Boundary-network training on random images and IR labels (three values: background, a class, unsure), timed after one
    // warm-up step through the progress reports.
    private static double BoundaryImagesPerSecond(BackboneSpec spec, int batch, int crop, int steps, CancellationToken token)
    {
        var rng = new Random(3);
        var samples = Enumerable.Range(0, batch * (steps + 1)).Select(i =>
        {
            var pixels = new byte[crop * crop * 3];
            rng.NextBytes(pixels);
            var label = new byte[crop * crop];
            for (int p = 0; p < label.Length; p++) label[p] = (byte)(((p % crop) / (crop / 4)) switch { 0 => 0, 1 => 1, 2 => 255, _ => 0 });
            return new LabelledImage($"random{i}", new RgbImage(crop, crop, pixels), new LabelMap(crop, crop, label));
        }).ToList();
        var (network, _) = BoundaryNetwork.Create(spec, null, seed: 0);
        using var _ = network;
        var options = new BoundaryTrainingOptions { Epochs = 1, BatchSize = batch, Crop = crop, Radius = Math.Min(BoundaryTrainingOptions.DefaultRadius, crop / 8) };
        var clock = new Stopwatch();
        var progress = new BenchTiming.Progress(p =>
        {
            if (p.Step == 1) clock.Restart();
        });
        BoundaryTrainer.Train(network, samples, options, CPU, new TrainingHooks(progress, CancellationToken: token));
        return batch * steps / clock.Elapsed.TotalSeconds;
    }

    private static IEnumerable<int> ParseSizes(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => int.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out int v) && v is > 0 and <= 10_000
                ? v : throw new ArgumentException($"--memory-sizes: '{t}' is not an image side between 1 and 10000."));

    // The process's peak is reset before each image (Linux: clear_refs 5), so each line is that image's own peak.
    private static void ExtractionPeakMemory(CamExtractor extractor, int side, int keys, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        var image = RandomImage(side);
        GC.Collect();
        bool reset = TryResetPeak();
        var watch = Stopwatch.StartNew();
        var maps = extractor.Extract(image, Enumerable.Range(0, keys).Select(k => (long)k).ToArray());
        double seconds = watch.Elapsed.TotalSeconds;
        double fit = extractor.ScaleFactorFor(side, side);
        Console.WriteLine($"extraction of one {side}x{side} image (scales x {fit:0.###}, maps {maps.Width}x{maps.Height}): " +
                          $"{seconds:F1} s, peak resident memory {(reset ? "" : "(of the process so far) ")}{PeakResidentBytes() / (1024.0 * 1024.0):F0} MiB");
    }

    internal static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    internal static RgbImage RandomImage(int size)
    {
        var pixels = new byte[size * size * 3];
        new Random(1).NextBytes(pixels);
        return new RgbImage(size, size, pixels);
    }

    private static double ExtractionImagesPerSecond(CamExtractor extractor, int size, int keys, int images, CancellationToken token)
    {
        var image = RandomImage(size);
        var present = Enumerable.Range(0, keys).Select(k => (long)k).ToArray();
        var watch = new Stopwatch();
        for (int i = 0; i <= images; i++)
        {
            token.ThrowIfCancellationRequested();
            if (i == 1) watch.Start();
            extractor.Extract(image, present);
        }
        return images / watch.Elapsed.TotalSeconds;
    }

    /// <summary>A thread that keeps one core busy until disposed, standing in for the other work of a process that shares its cores.</summary>
    private sealed class BusyNeighbour : IDisposable
    {
        private volatile bool _stop;
        private readonly Thread _thread;

        public BusyNeighbour()
        {
            _thread = new Thread(() =>
            {
                double x = 0;
                while (!_stop) x = Math.Sqrt(x + 1);
                GC.KeepAlive(x);
            }) { IsBackground = true, Name = "busy neighbour" };
            _thread.Start();
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }

    internal static long PeakResidentBytes()
    {
        foreach (string line in File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status") : [])
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
