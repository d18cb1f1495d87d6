using Microsoft.Extensions.Logging;
using ReCam.Data.Coco;
using ReCam.Imaging;
using ReCam.IO;

namespace ReCam.Pipeline;

/// <summary>
/// make-coco-masks: the ground-truth masks of a COCO split, painted from its instance annotations as the official
/// <c>annToMask</c> does: background 0, each non-crowd annotation filled with its class c + 1 in file order (a later
/// annotation overwrites an earlier one), crowd regions left as background, no ignore value; one 8-bit PNG per image in
/// <c>mask/&lt;split&gt;/&lt;id&gt;.png</c> under the COCO folder, where <c>eval-cam</c> and the other evaluations find them.
/// Masks already written are skipped (unless forced), so an interrupted run resumes.
/// </summary>
public static class MakeCocoMasksStep
{
    /// <summary>The step's name on the command line and in its outputs.</summary>
    public const string Name = "make-coco-masks";

    /// <summary>Paints the masks of <see cref="PipelineSettings.Split"/> (this process's shard); returns the masks written.</summary>
    /// <exception cref="ArgumentException">The settings name no COCO folder.</exception>
    /// <exception cref="InvalidDataException">An annotation's region does not fit its image.</exception>
    public static int Run(PipelineSettings settings, ILogger logger, CancellationToken cancellationToken = default)
    {
        settings.Validate();
        if (settings.CocoRoot is null) throw new ArgumentException($"{Name} reads a COCO data set: set --coco (not --voc).");
        var dataset = CocoDataset.Open(settings.CocoRoot, settings.Split);
        var annotations = CocoAnnotations.Read(CocoDataset.AnnotationPath(dataset.Root, settings.Split), withSegmentation: true);
        var classOf = new Dictionary<long, byte>();
        for (int c = 0; c < annotations.Categories.Count; c++) classOf[annotations.Categories[c].Id] = (byte)(c + 1);
        var byImage = annotations.Annotations.Where(a => !a.IsCrowd).ToLookup(a => a.ImageId);

        string folder = dataset.MaskFolder(settings.Split);
        Directory.CreateDirectory(folder);
        AtomicFile.RemoveStaleTemporaries(folder);
        var images = annotations.Images.Where((_, i) => i % settings.Shard.Count == settings.Shard.Index).ToList();
        var todo = images.Where(i => settings.Force || !File.Exists(PathFor(folder, i))).ToList();
        logger.LogInformation("{Step}: {Todo} of {Count} masks of '{Split}' to paint into {Folder}.", Name, todo.Count, images.Count, settings.Split, folder);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int n = 0; n < todo.Count; n++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var image = todo[n];
            PalettePngWriter.Write(PathFor(folder, image), Paint(image, byImage[image.Id], classOf, annotations.Path));
            if ((n + 1) % 1000 == 0 || n + 1 == todo.Count)
                logger.LogInformation("{Step}: {Done}/{Todo} masks, {Ips:F0} masks/s", Name, n + 1, todo.Count, (n + 1) / clock.Elapsed.TotalSeconds);
        }
        return todo.Count;
    }

    /// <summary>The mask of one image: its non-crowd annotations painted in order.</summary>
    internal static LabelMap Paint(CocoImage image, IEnumerable<CocoAnnotation> annotations, IReadOnlyDictionary<long, byte> classOf, string source)
    {
        var mask = new LabelMap(image.Width, image.Height);
        var region = new byte[image.Width * image.Height];
        foreach (var a in annotations)
        {
            if (a.Segmentation is null) continue;
            Array.Clear(region);
            a.Segmentation.Paint(region, image.Width, image.Height, $"'{source}': annotation {a.Id} of image {image.Id} ('{image.FileName}')");
            byte value = classOf[a.CategoryId];
            for (int p = 0; p < region.Length; p++)
                if (region[p] != 0) mask.Values[p] = value;
        }
        return mask;
    }

    private static string PathFor(string folder, CocoImage image) =>
        Path.Combine(folder, Path.GetFileNameWithoutExtension(image.FileName.Replace('\\', '/')) + ".png");
}
