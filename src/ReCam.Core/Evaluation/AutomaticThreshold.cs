using System.Globalization;
using System.Text.Json;
using ReCam.Cam;
using ReCam.Imaging;
using ReCam.IO;

namespace ReCam.Evaluation;

/// <summary>
/// A background threshold chosen without ground-truth masks, in two stages. First Otsu's threshold of the histogram of every
/// pixel's highest class value (the value the seed threshold is compared with), pooled over the images that have at least one
/// class: the maps are max-normalised per class, so the histogram is that of a foreground/background mixture on [0, 1], split
/// where the variance between the two groups is largest. Then, when images were added (<see cref="Add(CamMaps, RgbImage)"/>),
/// the <see cref="NormalizedCutThreshold"/> of the first <see cref="CutImages"/> images within <see cref="CutWindow"/> of it: the
/// threshold whose seeds best follow the images' own boundaries. The histogram cannot tell small items from large ones (the
/// best threshold moves with their size); the images can, but one image's cut is noisy, so the window keeps the vote near
/// the histogram's answer. Images without classes add nothing.
/// </summary>
public sealed class AutomaticThreshold
{
    /// <summary>Images whose cut votes choose the threshold; later images add to the Otsu histogram only.</summary>
    public const int CutImages = 100;

    /// <summary>How far from Otsu's threshold the normalised cut may move it, either way.</summary>
    public const float CutWindow = 0.08f;

    private readonly NormalizedCutThreshold _cut = new();

    /// <summary>The name of the file beside the maps that records the threshold: <c>threshold.json</c>.</summary>
    public const string FileName = "threshold.json";

    /// <summary>The histogram's bins over [0, 1].</summary>
    public const int Bins = 200;

    private readonly long[] _histogram = new long[Bins];

    /// <summary>Images added that had at least one class.</summary>
    public int Images { get; private set; }

    /// <summary>Pixels counted.</summary>
    public long Pixels { get; private set; }

    /// <summary>Images that voted through the normalised cut (0 when only maps were added).</summary>
    public int CutVotes => _cut.Images;

    /// <summary>How <see cref="Estimate"/> chooses: <c>normalized-cut</c> when images were added, else <c>otsu</c>.</summary>
    public string Method => _cut.Images > 0 ? "normalized-cut" : "otsu";

    /// <summary>
    /// Adds <paramref name="maps"/> and the <paramref name="image"/> they were extracted from: the pixels to the Otsu histogram and,
    /// for the first <see cref="CutImages"/> images with classes, the image's normalised-cut vote.
    /// </summary>
    /// <exception cref="ArgumentException">The maps and the image differ in size.</exception>
    public void Add(CamMaps maps, RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(maps);
        ArgumentNullException.ThrowIfNull(image);
        if (maps.Count > 0 && _cut.Images < CutImages) _cut.Add(maps, image);
        Add(maps);
    }

    /// <summary>Adds the pixels of <paramref name="maps"/> to the Otsu histogram (nothing if it has no class).</summary>
    public void Add(CamMaps maps)
    {
        ArgumentNullException.ThrowIfNull(maps);
        int k = maps.Count, pixels = maps.Height * maps.Width;
        if (k == 0 || pixels == 0) return;
        float[] planes = maps.HighRes;
        for (int p = 0; p < pixels; p++)
        {
            float m = planes[p];
            for (int c = 1; c < k; c++) m = Math.Max(m, planes[c * pixels + p]);
            int bin = float.IsNaN(m) ? 0 : Math.Clamp((int)(m * Bins), 0, Bins - 1);
            _histogram[bin]++;
        }
        Images++;
        Pixels += pixels;
    }

    /// <summary>The threshold: the normalised-cut vote within <see cref="CutWindow"/> of <see cref="Otsu"/> when images were added, else Otsu's.</summary>
    /// <exception cref="InvalidOperationException">No maps with classes were added.</exception>
    public float Estimate()
    {
        float otsu = Otsu();
        return _cut.Images > 0 ? _cut.Estimate(otsu - CutWindow, otsu + CutWindow) : otsu;
    }

    /// <summary>Otsu's threshold of the pixels added: the upper edge of the bin that best splits the histogram.</summary>
    /// <exception cref="InvalidOperationException">No pixel was added.</exception>
    public float Otsu()
    {
        if (Pixels == 0) throw new InvalidOperationException("No maps with classes were added; the threshold cannot be chosen.");
        double total = Pixels, weightBelow = 0, sumBelow = 0, sumAll = 0;
        for (int i = 0; i < Bins; i++) sumAll += _histogram[i] * (i + 0.5) / Bins;
        double best = -1;
        int bestBin = 0;
        for (int i = 0; i < Bins; i++)
        {
            weightBelow += _histogram[i] / total;
            sumBelow += _histogram[i] / total * (i + 0.5) / Bins;
            double meanAll = sumAll / total, weightAbove = 1 - weightBelow;
            if (weightBelow <= 0 || weightAbove <= 0) continue;
            double between = Math.Pow(meanAll * weightBelow - sumBelow, 2) / (weightBelow * weightAbove);
            if (between > best)
            {
                best = between;
                bestBin = i;
            }
        }
        return (bestBin + 1) / (float)Bins;
    }

    /// <summary>
    /// The threshold of the maps of <paramref name="ids"/> in <paramref name="folder"/> (missing files are skipped), with the
    /// images at <paramref name="imagePath"/>(id) when given (null: from the maps alone).
    /// </summary>
    /// <exception cref="InvalidDataException">A maps file is not the size of its image (the message names both files).</exception>
    public static AutomaticThreshold FromFolder(string folder, IEnumerable<string> ids, Func<string, string>? imagePath = null,
        CancellationToken cancellationToken = default)
    {
        var estimate = new AutomaticThreshold();
        var voters = new List<(string Path, string Id, CamMaps Maps)>();
        foreach (string id in ids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string path = CamMapsFile.PathFor(folder, id);
            if (!File.Exists(path)) continue;
            var maps = CamMapsFile.Read(path);
            estimate.Add(maps);
            if (imagePath is not null && maps.Count > 0 && voters.Count < CutImages) voters.Add((path, id, maps));
        }
        // The votes are independent and each costs a lattice and 66 filters: spread them over the cores.
        try
        {
            Parallel.ForEach(voters, new ParallelOptions { CancellationToken = cancellationToken }, voter =>
            {
                var (mapsPath, maps, picture) = (voter.Path, voter.Maps, imagePath!(voter.Id));
                var image = ImageDecoder.LoadRgb(picture);
                if (maps.Width != image.Width || maps.Height != image.Height)
                    throw new InvalidDataException($"Maps '{mapsPath}' are {maps.Width}x{maps.Height} but image '{picture}' is {image.Width}x{image.Height}.");
                estimate._cut.Add(maps, image);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The first image's own error (a size mismatch, a corrupt file) is the message the user needs.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return estimate;
    }

    /// <summary>
    /// Writes <c>threshold.json</c> into <paramref name="folder"/> atomically:
    /// <c>{"threshold": t, "method": "normalized-cut", "otsu": o, ...}</c> (or <c>"method": "otsu"</c> from maps alone).
    /// </summary>
    public void Write(string folder)
    {
        float t = Estimate();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("threshold", Math.Round(t, 3));
            w.WriteString("method", Method);
            w.WriteNumber("otsu", Math.Round(Otsu(), 3));
            w.WriteNumber("cut_images", CutVotes);
            w.WriteNumber("images", Images);
            w.WriteNumber("pixels", Pixels);
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(Path.Combine(folder, FileName), System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>The threshold recorded in <paramref name="folder"/>'s <c>threshold.json</c>; null if there is none.</summary>
    /// <exception cref="InvalidDataException">The file exists but holds no threshold between 0 and 1.</exception>
    public static float? Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            float t = doc.RootElement.GetProperty("threshold").GetSingle();
            if (t is >= 0 and <= 1) return t;
            throw new InvalidDataException($"{path}: threshold {t.ToString(CultureInfo.InvariantCulture)} is not between 0 and 1.");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a threshold file ({e.Message}).", e);
        }
    }
}
