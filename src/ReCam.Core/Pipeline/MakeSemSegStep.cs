using System.Globalization;
using Microsoft.Extensions.Logging;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.IO;
using ReCam.Refinement;
using TorchSharp;

namespace ReCam.Pipeline;

/// <summary>
/// make-sem-seg: pseudo masks from seed maps (the official <c>make_sem_seg_labels</c>): the boundary map of each image
/// (image + flip) from <c>models/irn.ckpt</c>, the stride-4 maps multiplied by 1 − boundary, the sparse random walk
/// (<see cref="RandomWalk"/>), upsampling, a background plane, argmax, optionally a dense CRF (<see cref="SemSegOptions.Crf"/>) → <c>pseudo_masks/&lt;id&gt;.png</c> (VOC palette,
/// 0 background, c+1 class c; 255 where the winner's lead is below <see cref="SemSegOptions.UncertainMargin"/>). Images done are
/// skipped; masks of other settings are not mixed in.
/// </summary>
public static class MakeSemSegStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "make-sem-seg";

    /// <summary>The file in <c>pseudo_masks/</c> recording what the masks were made from.</summary>
    public const string SettingsFile = "pseudo_mask.json";

    /// <summary>The pseudo mask file of an image.</summary>
    public static string PathFor(string folder, string id) => Path.Combine(folder, Data.ImageIds.Check(id, "pseudo mask file name") + ".png");

    /// <summary>Runs the step with <c>models/irn.ckpt</c> (or <see cref="PipelineSettings.Checkpoint"/>); returns the masks written.</summary>
    public static int Run(PipelineSettings settings, SemSegOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var (work, view, device) = StepContext.Open(settings, logger);
        var maps = SeedMapsInput.Open(work, options.Maps, view, settings.Split);
        string mapsDir = maps.Folder;
        string modelPath = settings.Checkpoint ?? work.Checkpoint(TrainIrnStep.Kind);
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"No boundary network '{modelPath}': run {TrainIrnStep.Name} first.", modelPath);
        var (network, info) = TrainIrnStep.Load(modelPath);
        using var _ = network;
        view.CheckClasses(modelPath, info.Classes, network);
        network.to(device);

        string outDir = work.PseudoMasks;
        Directory.CreateDirectory(outDir);
        AtomicFile.RemoveStaleTemporaries(outDir);
        double exponent = options.ExponentFor(maps.Source);
        float threshold = options.SemSegThreshold ?? maps.AutomaticThreshold(view, cancellationToken);
        var c = CultureInfo.InvariantCulture;
        var recorded = new Dictionary<string, object>
        {
            ["maps"] = maps.Name, ["model"] = Path.GetFullPath(modelPath), ["background_threshold"] = threshold.ToString(c),
            ["beta"] = options.Beta.ToString(c), ["radius"] = options.Radius.ToString(c), ["steps"] = options.Steps.ToString(c),
            ["maps_exponent"] = exponent.ToString(c),
        };
        // Recorded only when set, so that folders made before the option existed still resume.
        if (options.UncertainMargin > 0) recorded["uncertain_margin"] = options.UncertainMargin.ToString(c);
        if (options.Crf) recorded["crf"] = "true";
        OutputSettings.CheckOrRecord(outDir, SettingsFile, "pseudo masks", recorded, settings.Force);
        CamMapsFile.RecordClasses(outDir, view.ClassNames);

        var ids = view.Shard(settings.Shard);
        maps.RequireMaps(ids);
        var todo = ids.Where(id => settings.Force || !File.Exists(PathFor(outDir, id))).ToList();
        logger.LogInformation("{Step}: {Todo} of {Count} images to do from {Maps} with {Model} (beta {Beta}, radius {Radius}, {Steps} steps, background {Bg}, uncertain margin {Margin}, CRF {Crf}); writing {Dir}.",
            Name, todo.Count, ids.Count, mapsDir, modelPath, options.Beta, options.Radius, options.Steps, threshold, options.UncertainMargin, options.Crf, outDir);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int n = 0; n < todo.Count; n++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string id = todo[n];
            string imagePath = view.Dataset.ImagePath(id), mapsPath = CamMapsFile.PathFor(mapsDir, id);
            var image = ImageDecoder.LoadRgb(imagePath);
            var seedMaps = CamMapsFile.Read(mapsPath);
            if (seedMaps.Width != image.Width || seedMaps.Height != image.Height)
                throw new InvalidDataException($"Maps '{mapsPath}' are {seedMaps.Width}x{seedMaps.Height} but image '{imagePath}' is {image.Width}x{image.Height}.");
            PalettePngWriter.Write(PathFor(outDir, id), Mask(network, image, seedMaps, options, exponent, threshold, device));
            if ((n + 1) % 50 == 0 || n + 1 == todo.Count)
                logger.LogInformation("{Step}: {Done}/{Todo} images, {Ips:F2} images/s", Name, n + 1, todo.Count, (n + 1) / clock.Elapsed.TotalSeconds);
        }
        return todo.Count;
    }

    /// <summary>The pseudo mask of one image.</summary>
    internal static LabelMap Mask(Networks.BoundaryNetwork network, RgbImage image, CamMaps maps, SemSegOptions options, double exponent, float threshold,
        torch.Device device)
    {
        var mask = PseudoMask.FromSeedMaps(maps, network.BoundaryMap(image, device), threshold, options.Beta, options.Steps, options.Radius, exponent,
            options.UncertainMargin);
        return options.Crf ? PseudoMask.RefineWithCrf(image, mask) : mask;
    }
}
