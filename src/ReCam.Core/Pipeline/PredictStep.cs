using Microsoft.Extensions.Logging;
using ReCam.Imaging;
using ReCam.IO;
using ReCam.Platform;
using ReCam.Segmentation;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>What predict segments, with which model, and where the masks go.</summary>
public sealed record PredictSettings
{
    /// <summary>A DeepLab checkpoint written by train-deeplab.</summary>
    public required string Model { get; init; }

    /// <summary>Image files and folders (every .jpg, .jpeg and .png directly inside, in name order).</summary>
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>Output folder: <c>&lt;name&gt;.png</c> (mask, VOC palette) and <c>&lt;name&gt;-overlay.png</c> per image.</summary>
    public required string OutputDir { get; init; }

    /// <summary>Process only every Count-th image starting at Index.</summary>
    public (int Index, int Count) Shard { get; init; } = (0, 1);

    /// <summary>cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Torch CPU threads (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Redo images whose outputs exist.</summary>
    public bool Force { get; init; }
}

/// <summary>What predict did: masks written, images skipped because their outputs existed, and the images it could not segment.</summary>
/// <param name="Written">Images segmented in this run.</param>
/// <param name="Skipped">Images whose outputs existed.</param>
/// <param name="Failures">Each failed image with the reason.</param>
public sealed record PredictionSummary(int Written, int Skipped, IReadOnlyList<(string Path, string Error)> Failures);

/// <summary>
/// predict: segments images that have no labels or annotations with a trained DeepLab, the work an application does in
/// production. An image that cannot be read or decoded is reported and the others carry on; the summary lists the failures.
/// </summary>
public static class PredictStep
{
    /// <summary>The step's name on the command line.</summary>
    public const string Name = "predict";

    /// <summary>The image file extensions a folder input contributes.</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = [".jpg", ".jpeg", ".png"];

    /// <summary>Runs the step.</summary>
    /// <exception cref="FileNotFoundException">The model or an input does not exist.</exception>
    /// <exception cref="ArgumentException">No image to segment, or two inputs would write the same output name.</exception>
    public static PredictionSummary Run(PredictSettings settings, SegmentationOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (settings.Shard.Count < 1 || settings.Shard.Index < 0 || settings.Shard.Index >= settings.Shard.Count)
            throw new ArgumentException($"Shard {settings.Shard.Index}/{settings.Shard.Count} must satisfy 0 <= i < N.");
        var images = ListImages(settings.Inputs);
        var device = ComputeDevice.Select(settings.Device, settings.Threads);
        if (!File.Exists(settings.Model)) throw new FileNotFoundException($"Model not found: '{settings.Model}' (a models/deeplab.ckpt of train-deeplab).", settings.Model);
        var (network, info) = TrainDeepLabStep.Load(settings.Model);
        using var _ = network;
        network.to(device);
        Directory.CreateDirectory(settings.OutputDir);
        AtomicFile.RemoveStaleTemporaries(settings.OutputDir);

        var mine = images.Where((_, i) => i % settings.Shard.Count == settings.Shard.Index).ToList();
        logger.LogInformation("{Step}: {Count} image(s) with {Model} ({Description}); writing {Dir}.", Name, mine.Count, settings.Model,
            TrainDeepLabStep.Describe(network, info), settings.OutputDir);
        var failures = new List<(string, string)>();
        int written = 0, skipped = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (string path in mine)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (maskPath, overlayPath) = OutputsOf(settings.OutputDir, path);
            if (!settings.Force && File.Exists(maskPath) && File.Exists(overlayPath))
            {
                skipped++;
                continue;
            }
            RgbImage image;
            try
            {
                image = ImageDecoder.LoadRgb(path);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("{Step}: skipping '{Path}': {Message}", Name, path, e.Message);
                failures.Add((path, e.Message));
                continue;
            }
            var result = Segmenter.Segment(network, image, options, device);
            PalettePngWriter.Write(maskPath, result.Mask);
            PalettePngWriter.WriteRgb(overlayPath, MaskOverlay.Draw(image, result.Mask));
            written++;
            if (written % 50 == 0) logger.LogInformation("{Step}: {Done} images, {Ips:F2} images/s", Name, written, written / clock.Elapsed.TotalSeconds);
        }
        logger.LogInformation("{Step}: {Written} segmented ({Ips:F2} images/s), {Skipped} already done, {Failed} failed.", Name, written,
            written / Math.Max(1e-9, clock.Elapsed.TotalSeconds), skipped, failures.Count);
        foreach (var (path, error) in failures) logger.LogError("{Step}: failed: '{Path}': {Error}", Name, path, error);
        return new PredictionSummary(written, skipped, failures);
    }

    /// <summary>The mask and overlay files of an input image.</summary>
    public static (string Mask, string Overlay) OutputsOf(string outputDir, string imagePath)
    {
        string stem = Path.GetFileNameWithoutExtension(imagePath);
        return (Path.Combine(outputDir, stem + ".png"), Path.Combine(outputDir, stem + "-overlay.png"));
    }

    /// <summary>The image files named by <paramref name="inputs"/>, files as given and folders expanded in name order.</summary>
    internal static IReadOnlyList<string> ListImages(IReadOnlyList<string> inputs)
    {
        if (inputs.Count == 0) throw new ArgumentException("Name at least one image file or folder to segment.");
        var images = new List<string>();
        foreach (string input in inputs)
        {
            if (Directory.Exists(input))
                images.AddRange(Directory.EnumerateFiles(input)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && !f.EndsWith("-overlay.png", StringComparison.Ordinal))
                    .Order(StringComparer.Ordinal));
            else if (File.Exists(input)) images.Add(input);
            else throw new FileNotFoundException($"Input '{input}' is neither an image file nor a folder.", input);
        }
        if (images.Count == 0) throw new ArgumentException($"No .jpg, .jpeg or .png image in {string.Join(", ", inputs.Select(i => $"'{i}'"))}.");
        var clash = images.GroupBy(p => Path.GetFileNameWithoutExtension(p), StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
            throw new ArgumentException($"Images {string.Join(" and ", clash.Select(p => $"'{p}'"))} would write the same mask '{clash.Key}.png'; segment them into separate output folders.");
        return images;
    }
}
