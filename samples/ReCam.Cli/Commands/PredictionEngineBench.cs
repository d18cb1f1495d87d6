using System.Diagnostics;
using Microsoft.ML;
using ReCam.Imaging;
using ReCam.MLNet;
using ReCam.Networks;

namespace ReCam.Cli.Commands;

/// <summary>
/// recam bench --segmentation, the ML.NET side: a segmenter fitted for one step through the public trainer, then images/s
/// through a <see cref="PredictionEngine{TSrc, TDst}"/> fed encoded PNG bytes (as a server is), with one engine and with
/// one engine per thread on two threads. The network is the one the core bench times; this adds decoding and ML.NET's rows.
/// </summary>
internal static class PredictionEngineBench
{
    public static void Run(string backbone, DeepLabShape shape, int size, int images, int classes, CancellationToken token)
    {
        var folder = Directory.CreateTempSubdirectory("recam-bench-");
        try
        {
            var rows = Enumerable.Range(0, 2).Select(i => WriteTrainingRow(folder.FullName, i, size, classes)).ToList();
            var ml = new MLContext(seed: 0);
            var trainer = ml.MulticlassClassification.Trainers.DeepLabSegmentation(new DeepLabSegmentationTrainer.Options
            {
                MaskColumnName = nameof(TrainingRow.MaskPath), ClassNames = Enumerable.Range(0, classes).Select(c => $"class{c}").ToArray(),
                Backbone = backbone, Variant = shape.Variant, OutputStride = shape.OutputStride, Epochs = 1, BatchSize = 2, Crop = size,
                CancellationToken = token,
            });
            using var model = ml.Transforms.LoadImages("Image", imageFolder: "", inputColumnName: nameof(TrainingRow.ImagePath))
                .Append(trainer).Fit(ml.Data.LoadFromEnumerable(rows));
            var segmenter = model.LastTransformer;
            byte[] encoded = PalettePngWriter.EncodeRgb(BenchCommand.RandomImage(size));

            double one = ImagesPerSecond(ml, segmenter, encoded, images, token);
            Console.WriteLine($"PredictionEngine, {size}x{size} PNG bytes, scales 0.75,1,1.25 x flip: {one:F2} images/s ({1000 / one:F0} ms/image)");
            var watch = Stopwatch.StartNew();
            Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, _ => ImagesPerSecond(ml, segmenter, encoded, images, token));
            Console.WriteLine($"PredictionEngine, one engine per thread on 2 threads: {2 * images / watch.Elapsed.TotalSeconds:F2} images/s in all");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static double ImagesPerSecond(MLContext ml, ITransformer segmenter, byte[] encoded, int images, CancellationToken token)
    {
        using var engine = ml.Model.CreatePredictionEngine<SegmenterInput, SegmenterPrediction>(segmenter, new PredictionEngineOptions { OwnsTransformer = false });
        var input = new SegmenterInput { Image = encoded };
        var output = new SegmenterPrediction();
        engine.Predict(input, ref output); // warm-up
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < images; i++)
        {
            token.ThrowIfCancellationRequested();
            engine.Predict(input, ref output);
        }
        return images / watch.Elapsed.TotalSeconds;
    }

    private static TrainingRow WriteTrainingRow(string folder, int index, int size, int classes)
    {
        var stripes = new byte[size * size];
        for (int p = 0; p < stripes.Length; p++) stripes[p] = (byte)((p % size) * (classes + 1) / size);
        var row = new TrainingRow { ImagePath = Path.Combine(folder, $"image{index}.png"), MaskPath = Path.Combine(folder, $"mask{index}.png") };
        PalettePngWriter.WriteRgb(row.ImagePath, BenchCommand.RandomImage(size));
        PalettePngWriter.Write(row.MaskPath, new LabelMap(size, size, stripes));
        return row;
    }

    private sealed class TrainingRow
    {
        public string ImagePath { get; set; } = "";

        public string MaskPath { get; set; } = "";
    }
}
