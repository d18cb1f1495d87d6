using System.Diagnostics;
using ReCam.Imaging;
using ReCam.Networks;
using ReCam.Segmentation;
using ReCam.Training;
using static TorchSharp.torch;

namespace ReCam.Cli.Commands;

/// <summary>
/// recam bench --segmentation: train-deeplab images/s (random images and masks through the real trainer), inference images/s
/// single-scale and with eval-deeplab's multi-scale + flip default, and peak memory, at one image side.
/// </summary>
internal static class SegmentationBench
{
    public static void Run(BackboneSpec spec, DeepLabShape shape, int size, int batch, int steps, int images, int classes, CancellationToken token)
    {
        var (network, _) = DeepLabNetwork.Create(spec, null, shape, classes + 1, seed: 0);
        using var _ = network;
        Console.WriteLine($"DeepLab-{shape.VariantName}, output stride {shape.OutputStride}, backbone {spec.Name}, {classes} classes, threads {get_num_threads()}");
        var rng = new Random(2);
        var samples = Enumerable.Range(0, batch * (steps + 1)).Select(i =>
        {
            var mask = new byte[size * size];
            for (int p = 0; p < mask.Length; p++) mask[p] = (byte)((p % size) * (classes + 1) / size);
            return new LabelledImage($"random{i}", BenchCommand.RandomImage(size), new LabelMap(size, size, mask));
        }).ToList();
        var options = new DeepLabTrainingOptions { Shape = shape, Epochs = 1, BatchSize = batch, Crop = size, Seed = 1 };
        var clock = new Stopwatch();
        var timing = new Synchronous(p =>
        {
            if (p.Step == 1) clock.Restart(); // after one warm-up step
        });
        DeepLabTrainer.Train(network, samples, options, CPU, new TrainingHooks(timing, CancellationToken: token));
        double train = batch * steps / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"train-deeplab step, batch {batch}, crop {size}x{size}: {train:F2} images/s ({batch / train:F2} s/step)");

        var image = BenchCommand.RandomImage(size);
        foreach (var (name, inference) in new[] { ("single scale", SegmentationOptions.SingleScale), ("scales 0.75,1,1.25 x flip (eval-deeplab, predict)", new SegmentationOptions()) })
        {
            Segmenter.Segment(network, image, inference, CPU); // warm-up
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < images; i++)
            {
                token.ThrowIfCancellationRequested();
                Segmenter.Segment(network, image, inference, CPU);
            }
            double ips = images / watch.Elapsed.TotalSeconds;
            Console.WriteLine($"segmentation, {size}x{size} image, {name}: {ips:F2} images/s ({1000 / ips:F0} ms/image)");
        }
        Console.WriteLine($"peak resident memory: {BenchCommand.PeakResidentBytes() / (1024.0 * 1024.0):F0} MiB");
    }

    // Progress<T> posts to the thread pool; the clock must start on the training thread, at the report.
    private sealed class Synchronous(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
