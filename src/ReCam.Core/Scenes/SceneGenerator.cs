using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using ReCam.Imaging;
using ReCam.IO;
using SkiaSharp;

namespace ReCam.Scenes;

/// <summary>What <see cref="SceneGenerator.Generate(string, SceneOptions, IProgress{int}?, CancellationToken)"/> wrote.</summary>
/// <param name="Root">The output folder (absolute), usable as a <see cref="Data.VocDataset"/> root.</param>
/// <param name="ClassNames">The class names written to <c>classes.txt</c>.</param>
/// <param name="TrainIds">Ids listed in <c>ImageSets/Segmentation/train.txt</c>.</param>
/// <param name="ValIds">Ids listed in <c>ImageSets/Segmentation/val.txt</c>.</param>
public sealed record SceneSet(string Root, IReadOnlyList<string> ClassNames, IReadOnlyList<string> TrainIds, IReadOnlyList<string> ValIds);

/// <summary>
/// Builds the project's bundled weakly-supervised segmentation data set from Fashion-MNIST (training split only):
/// square scenes of 1..N tinted, upscaled items over a gradient + texture + noise background, written in the
/// PASCAL VOC layout under an output folder:
/// <c>JPEGImages/&lt;id&gt;.jpg</c> (RGB JPEG), <c>SegmentationClass/&lt;id&gt;.png</c> (VOC palette PNG: 0 background,
/// c+1 class c, 255 a thin ignore band at item boundaries), <c>Annotations/&lt;id&gt;.xml</c> (VOC XML, one
/// <c>&lt;object&gt;</c> per visible item), <c>ImageSets/Segmentation/{train,val,trainval}.txt</c> and <c>classes.txt</c>.
/// Output is a pure function of the options: the same seed gives byte-identical files.
/// </summary>
public static class SceneGenerator
{
    /// <summary>Name of the class-list file written at the output root.</summary>
    public const string ClassesFile = "classes.txt";

    /// <summary>The id of scene <paramref name="index"/>, e.g. <c>scene_000123</c>.</summary>
    /// <param name="index">0-based scene number.</param>
    public static string SceneId(int index) => "scene_" + index.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Loads Fashion-MNIST from <see cref="SceneOptions.FashionMnistDirectory"/> and generates the scenes.</summary>
    /// <param name="outputRoot">Output folder (created if needed; files of the same names are replaced).</param>
    /// <param name="options">Settings.</param>
    /// <param name="progress">Receives the number of scenes written so far.</param>
    /// <param name="cancellationToken">Stops the generation between scenes.</param>
    /// <returns>The written split lists.</returns>
    /// <exception cref="FileNotFoundException">The Fashion-MNIST files are missing (the message says how to install them).</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public static SceneSet Generate(string outputRoot, SceneOptions options, IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Generate(outputRoot, options, FashionMnist.LoadTrain(options.FashionMnistDirectory), progress, cancellationToken);
    }

    /// <summary>Generates the scenes from already loaded Fashion-MNIST items (<see cref="SceneOptions.FashionMnistDirectory"/> is ignored).</summary>
    /// <param name="outputRoot">Output folder (created if needed; files of the same names are replaced).</param>
    /// <param name="options">Settings.</param>
    /// <param name="source">The Fashion-MNIST training items.</param>
    /// <param name="progress">Receives the number of scenes written so far.</param>
    /// <param name="cancellationToken">Stops the generation between scenes.</param>
    /// <returns>The written split lists.</returns>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    internal static SceneSet Generate(string outputRoot, SceneOptions options, FashionMnist source, IProgress<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outputRoot);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(source);
        options.Validate();
        string root = Path.GetFullPath(outputRoot);
        int[][] byClass = Enumerable.Range(0, FashionMnist.ClassNames.Count)
            .Select(c => Enumerable.Range(0, source.Count).Where(i => source.Label(i) == c).ToArray()).ToArray();
        for (int c = 0; c < byClass.Length; c++)
            if (byClass[c].Length == 0)
                throw new InvalidDataException($"Fashion-MNIST in '{source.Directory}' has no item of class {FashionMnist.ClassNames[c]}.");

        // One seed per scene, drawn in order from the master generator, so scenes can be built in parallel
        // and still depend only on Seed.
        var master = new Random(options.Seed);
        int[] seeds = Enumerable.Range(0, options.Count).Select(_ => master.Next()).ToArray();
        foreach (string dir in new[] { "JPEGImages", "SegmentationClass", "Annotations", Path.Combine("ImageSets", "Segmentation") })
            Directory.CreateDirectory(Path.Combine(root, dir));

        int done = 0;
        var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = Environment.ProcessorCount };
        try
        {
            Parallel.For(0, options.Count, parallel, i => WriteScene(root, i, seeds[i], options, source, byClass, progress, ref done));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        int valCount = Math.Min((int)Math.Round(options.Count * options.ValFraction, MidpointRounding.AwayFromZero), options.Count - 1);
        var ids = Enumerable.Range(0, options.Count).Select(SceneId).ToList();
        var train = ids.Take(options.Count - valCount).ToList();
        var val = ids.Skip(options.Count - valCount).ToList();
        string splits = Path.Combine(root, "ImageSets", "Segmentation");
        AtomicFile.WriteAllText(Path.Combine(splits, "train.txt"), Lines(train));
        AtomicFile.WriteAllText(Path.Combine(splits, "val.txt"), Lines(val));
        AtomicFile.WriteAllText(Path.Combine(splits, "trainval.txt"), Lines(ids));
        AtomicFile.WriteAllText(Path.Combine(root, ClassesFile), Lines(FashionMnist.ClassNames));
        return new SceneSet(root, FashionMnist.ClassNames, train, val);
    }

    private static void WriteScene(string root, int i, int seed, SceneOptions options, FashionMnist source, int[][] byClass,
        IProgress<int>? progress, ref int done)
    {
        string id = SceneId(i);
        var scene = SceneComposer.Compose(source, byClass, options, new Random(seed));
        AtomicFile.WriteAllBytes(Path.Combine(root, "JPEGImages", id + ".jpg"), EncodeJpeg(scene.Rgb, options.ImageSize, options.JpegQuality));
        PalettePngWriter.Write(Path.Combine(root, "SegmentationClass", id + ".png"),
            new LabelMap(options.ImageSize, options.ImageSize, scene.Mask));
        WriteAnnotation(Path.Combine(root, "Annotations", id + ".xml"), id, options.ImageSize, scene.Objects);
        progress?.Report(Interlocked.Increment(ref done));
    }

    private static string Lines(IEnumerable<string> lines)
    {
        var text = new StringBuilder();
        foreach (string line in lines) text.Append(line).Append('\n');
        return text.ToString();
    }

    private static byte[] EncodeJpeg(byte[] rgb, int size, int quality)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = new byte[size * size * 4];
        for (int p = 0, n = size * size; p < n; p++)
        {
            rgba[4 * p] = rgb[3 * p];
            rgba[4 * p + 1] = rgb[3 * p + 1];
            rgba[4 * p + 2] = rgb[3 * p + 2];
            rgba[4 * p + 3] = 255;
        }
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality)
            ?? throw new InvalidOperationException("SkiaSharp could not encode a JPEG image.");
        return data.ToArray();
    }

    private static void WriteAnnotation(string path, string id, int size, IReadOnlyList<SceneObject> objects)
    {
        static string S(int v) => v.ToString(CultureInfo.InvariantCulture);
        var doc = new XDocument(new XElement("annotation",
            new XElement("folder", "FashionScenes"),
            new XElement("filename", id + ".jpg"),
            new XElement("source", new XElement("database", "ReCam Fashion-MNIST scenes")),
            new XElement("size", new XElement("width", S(size)), new XElement("height", S(size)), new XElement("depth", "3")),
            new XElement("segmented", "1"),
            objects.Select(o => new XElement("object",
                new XElement("name", FashionMnist.ClassNames[o.ClassIndex]),
                new XElement("pose", "Unspecified"),
                new XElement("truncated", "0"),
                new XElement("difficult", "0"),
                new XElement("bndbox",   // VOC boxes are 1-based and inclusive
                    new XElement("xmin", S(o.XMin + 1)), new XElement("ymin", S(o.YMin + 1)),
                    new XElement("xmax", S(o.XMax + 1)), new XElement("ymax", S(o.YMax + 1)))))));
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, NewLineChars = "\n" };
        AtomicFile.Write(path, stream =>
        {
            using var writer = XmlWriter.Create(stream, settings);
            doc.Save(writer);
        });
    }
}
