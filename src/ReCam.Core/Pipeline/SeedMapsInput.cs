using System.Text.Json;
using ReCam.Cam;
using ReCam.IO;

namespace ReCam.Pipeline;

/// <summary>The seed maps a refinement step reads (cam-to-ir-label, make-sem-seg): which kind, where, checked up front.</summary>
/// <param name="Source">The kind of maps (never <see cref="MapsSource.Auto"/>).</param>
/// <param name="Folder">Their folder in the work folder.</param>
/// <param name="Split">The split the step runs on, for messages.</param>
internal sealed record SeedMapsInput(MapsSource Source, string Folder, string Split)
{
    /// <summary>The kind's name as the command line writes it.</summary>
    public string Name => Source.ToString().ToLowerInvariant();

    /// <summary>Resolves <paramref name="requested"/> (Auto: ReCAM when present, else CAM) and checks the folder and its class list.</summary>
    public static SeedMapsInput Open(WorkFolder work, MapsSource requested, DatasetView view, string split)
    {
        var source = requested == MapsSource.Auto ? work.DefaultMapsSource() : requested;
        string folder = work.MapsFolder(source);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"No maps folder '{folder}': {WorkFolder.HowToMake(source, split)}.");
        CamMapsFile.CheckClasses(folder, view.ClassNames);
        return new SeedMapsInput(source, folder, split);
    }

    /// <summary>Throws, naming a few, unless every id has its maps file.</summary>
    public void RequireMaps(IReadOnlyList<string> ids)
    {
        var missing = ids.Where(id => !File.Exists(CamMapsFile.PathFor(Folder, id))).ToList();
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{missing.Count} map file(s) missing in '{Folder}' (e.g. {string.Join(", ", missing.Take(5))}); {WorkFolder.HowToMake(Source, Split)}.");
    }

    /// <summary>The maps' automatic threshold: their <c>threshold.json</c>, else estimated from the maps and images of <paramref name="view"/>.</summary>
    public float AutomaticThreshold(DatasetView view, CancellationToken cancellationToken) =>
        Evaluation.AutomaticThreshold.Read(Folder)
        ?? Evaluation.AutomaticThreshold.FromFolder(Folder, view.Ids, view.Dataset.ImagePath, cancellationToken).Estimate();
}

/// <summary>
/// The settings a folder of per-image outputs was made with (<c>ir_label.json</c>, <c>pseudo_mask.json</c>), so that a rerun
/// with other settings does not mix its outputs with the old ones.
/// </summary>
internal static class OutputSettings
{
    /// <summary>
    /// Writes <paramref name="settings"/> to <paramref name="fileName"/> in <paramref name="folder"/>; throws when the folder already
    /// holds outputs (PNGs) made with different settings, unless <paramref name="force"/> (which redoes every output).
    /// </summary>
    public static void CheckOrRecord(string folder, string fileName, string what, IReadOnlyDictionary<string, object> settings, bool force)
    {
        string path = Path.Combine(folder, fileName);
        string wanted = JsonSerializer.Serialize(settings, new JsonSerializerOptions { WriteIndented = true });
        if (!force && File.Exists(path) && Directory.EnumerateFiles(folder, "*.png").Any() && File.ReadAllText(path) != wanted)
            throw new InvalidDataException(
                $"The {what} in '{folder}' were made with other settings ({path}: {File.ReadAllText(path).ReplaceLineEndings(" ")}); rerun with --force to replace them.");
        AtomicFile.WriteAllText(path, wanted);
    }
}
