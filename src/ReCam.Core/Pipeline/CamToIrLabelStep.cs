using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.IO;
using ReCam.Refinement;

namespace ReCam.Pipeline;

/// <summary>
/// cam-to-ir-label: IR labels (<see cref="IrLabel"/>) for every image of the split (or of this shard) from the chosen
/// seed maps, one <c>ir_labels/&lt;id&gt;.png</c> each (greyscale: 0 background, c+1 class c, 255 unsure). Images done
/// are skipped, so an interrupted run resumes; labels made with other settings are not mixed in (see <see cref="SettingsFile"/>).
/// When the split has masks, the labels' precision and unsure share go to <c>metrics/cam-to-ir-label.json</c>.
/// </summary>
public static class CamToIrLabelStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "cam-to-ir-label";

    /// <summary>The file in <c>ir_labels/</c> recording the maps and thresholds the labels were made with.</summary>
    public const string SettingsFile = "ir_label.json";

    /// <summary>Runs the step; returns the number of labels written.</summary>
    public static int Run(PipelineSettings settings, IrLabelOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var view = DatasetView.Open(settings, logger);
        var work = new WorkFolder(settings.WorkDir);
        var maps = SeedMapsInput.Open(work, options.Maps, view, settings.Split);
        float automatic = maps.AutomaticThreshold(view, cancellationToken);
        var (fg, bg) = options.ThresholdsFor(automatic);
        IrLabel.CheckThresholds(fg, bg);

        string outDir = work.IrLabels;
        Directory.CreateDirectory(outDir);
        AtomicFile.RemoveStaleTemporaries(outDir);
        var crf = options.Crf;
        OutputSettings.CheckOrRecord(outDir, SettingsFile, "IR labels", new Dictionary<string, object>
        {
            ["maps"] = maps.Name, ["foreground_threshold"] = Math.Round(fg, 4), ["background_threshold"] = Math.Round(bg, 4),
            ["crf"] = string.Create(CultureInfo.InvariantCulture,
                $"confidence {crf.LabelConfidence}, gaussian {crf.GaussianSxy}/{crf.GaussianWeight}, bilateral {crf.BilateralSxy}/{crf.BilateralSrgb}/{crf.BilateralWeight}, iterations {crf.Iterations}"),
        }, settings.Force);
        bool force = settings.Force;
        CamMapsFile.RecordClasses(outDir, view.ClassNames);

        var ids = view.Shard(settings.Shard);
        maps.RequireMaps(ids);
        string mapsDir = maps.Folder;
        var source = maps.Source;
        var todo = ids.Where(id => force || !File.Exists(PathFor(outDir, id))).ToList();
        logger.LogInformation("{Step}: {Todo} of {Count} images to do from {Maps} (automatic threshold {Auto:F3}; confident foreground {Fg:F3}, background {Bg:F3}); writing {Dir}.",
            Name, todo.Count, ids.Count, mapsDir, automatic, fg, bg, outDir);

        int done = 0;
        var clock = Stopwatch.StartNew();
        var parallel = new ParallelOptions
        {
            CancellationToken = cancellationToken, MaxDegreeOfParallelism = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount,
        };
        try
        {
            Parallel.ForEach(todo, parallel, id => WriteOne(id));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The first image's own error (a corrupt image, a damaged maps file) is the message the user needs.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        ReportQuality(view, work, outDir, source, fg, bg, logger, cancellationToken);
        return todo.Count;

        void WriteOne(string id)
        {
            string mapsPath = CamMapsFile.PathFor(mapsDir, id);
            string imagePath = view.Dataset.ImagePath(id);
            var image = ImageDecoder.LoadRgb(imagePath);
            var maps = CamMapsFile.Read(mapsPath);
            if (maps.Width != image.Width || maps.Height != image.Height)
                throw new InvalidDataException($"Maps '{mapsPath}' are {maps.Width}x{maps.Height} but image '{imagePath}' is {image.Width}x{image.Height}.");
            PalettePngWriter.WriteGrey(PathFor(outDir, id), IrLabel.Make(image, maps, fg, bg, options.Crf));
            int n = Interlocked.Increment(ref done);
            if (n % 50 == 0 || n == todo.Count)
                logger.LogInformation("{Step}: {Done}/{Todo} images, {Ips:F1} images/s", Name, n, todo.Count, n / clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>The IR label file of an image.</summary>
    public static string PathFor(string folder, string id) => Path.Combine(folder, Data.ImageIds.Check(id, "IR label file name") + ".png");

    private static void ReportQuality(DatasetView view, WorkFolder work, string outDir, MapsSource source, double fg, double bg, ILogger logger,
        CancellationToken cancellationToken)
    {
        var quality = new IrLabelQuality();
        foreach (string id in view.Ids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string? maskPath = view.Dataset.MaskPath(id);
            string labelPath = PathFor(outDir, id);
            if (maskPath is null || !File.Exists(labelPath)) continue;
            quality.Add(PngLabelReader.Read(labelPath), PngLabelReader.Read(maskPath));
        }
        if (quality.Images == 0) return;
        Directory.CreateDirectory(work.Metrics);
        AtomicFile.WriteAllText(work.MetricsFile(Name), quality.ToJson(fg, bg, source.ToString().ToLowerInvariant()));
        logger.LogInformation("{Step}: against the masks of {Images} images: precision {P:F1}% (foreground {PF:F1}%, background {PB:F1}%), unsure {U:F1}% of pixels; wrote {Path}",
            Name, quality.Images, 100 * quality.Precision, 100 * quality.ForegroundPrecision, 100 * quality.BackgroundPrecision, 100 * quality.UnsureShare,
            work.MetricsFile(Name));
    }
}
