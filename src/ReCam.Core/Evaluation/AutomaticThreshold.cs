using System.Globalization;
using System.Text.Json;
using ReCam.Cam;
using ReCam.IO;

namespace ReCam.Evaluation;

/// <summary>
/// A background threshold chosen from the maps alone, without ground-truth masks: Otsu's threshold of the histogram of every
/// pixel's highest class value (the value the seed threshold is compared with), pooled over the images that have at least one
/// class. The maps are max-normalised per class, so the histogram is that of a foreground/background mixture on [0, 1]; Otsu
/// splits it where the variance between the two groups is largest. Images without classes add nothing.
/// </summary>
public sealed class AutomaticThreshold
{
    /// <summary>The name of the file beside the maps that records the threshold: <c>threshold.json</c>.</summary>
    public const string FileName = "threshold.json";

    /// <summary>The histogram's bins over [0, 1].</summary>
    public const int Bins = 200;

    private readonly long[] _histogram = new long[Bins];

    /// <summary>Images added that had at least one class.</summary>
    public int Images { get; private set; }

    /// <summary>Pixels counted.</summary>
    public long Pixels { get; private set; }

    /// <summary>Adds the pixels of <paramref name="maps"/> (nothing if it has no class).</summary>
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

    /// <summary>Otsu's threshold of the pixels added: the upper edge of the bin that best splits the histogram.</summary>
    /// <exception cref="InvalidOperationException">No pixel was added.</exception>
    public float Estimate()
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

    /// <summary>The threshold of the maps of <paramref name="ids"/> in <paramref name="folder"/> (missing files are skipped).</summary>
    public static AutomaticThreshold FromFolder(string folder, IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        var estimate = new AutomaticThreshold();
        foreach (string id in ids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string path = CamMapsFile.PathFor(folder, id);
            if (File.Exists(path)) estimate.Add(CamMapsFile.Read(path));
        }
        return estimate;
    }

    /// <summary>Writes <c>threshold.json</c> into <paramref name="folder"/> atomically: <c>{"threshold": t, "method": "otsu", ...}</c>.</summary>
    public void Write(string folder)
    {
        float t = Estimate();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("threshold", Math.Round(t, 3));
            w.WriteString("method", "otsu");
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
