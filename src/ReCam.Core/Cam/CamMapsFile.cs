using System.IO.Compression;
using ReCam.IO;

namespace ReCam.Cam;

/// <summary>
/// Reads and writes <see cref="CamMaps"/> as a numpy .npz (zip of <c>keys.npy</c> int64 [K], <c>cam.npy</c>
/// float32 [K, ceil(H/4), ceil(W/4)] and <c>high_res.npy</c> float32 [K, H, W]), stored uncompressed like
/// <c>np.savez</c>, so <c>numpy.load(path)</c> opens it.
/// </summary>
public static class CamMapsFile
{
    /// <summary>The file extension, including the dot.</summary>
    public const string Extension = ".npz";

    private const string KeysEntry = "keys.npy";
    private const string CamEntry = "cam.npy";
    private const string HighResEntry = "high_res.npy";
    private static readonly DateTimeOffset EntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The file beside the maps that lists their classes, one per line: map key k is line k.</summary>
    public const string ClassesFile = "classes.txt";

    /// <summary>
    /// Records the class list of the maps in <paramref name="folder"/>, or checks it against the one recorded: keys are class
    /// indices, so maps made with one class list and read with another would name every class wrongly.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder holds maps of another class list.</exception>
    public static void RecordClasses(string folder, IReadOnlyList<string> classNames)
    {
        string path = Path.Combine(folder, ClassesFile);
        if (File.Exists(path)) CheckClasses(folder, classNames);
        else IO.AtomicFile.WriteAllText(path, string.Join("\n", classNames) + "\n");
    }

    /// <summary>Throws unless the class list recorded beside the maps (if any; older folders have none) is <paramref name="classNames"/>.</summary>
    /// <exception cref="InvalidDataException">The maps were made with another class list.</exception>
    public static void CheckClasses(string folder, IReadOnlyList<string> classNames)
    {
        string path = Path.Combine(folder, ClassesFile);
        if (!File.Exists(path)) return;
        var recorded = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (!recorded.SequenceEqual(classNames))
            throw new InvalidDataException(
                $"The maps in '{folder}' were made for the classes [{string.Join(", ", recorded)}] (see {ClassesFile}), but the data set has " +
                $"[{string.Join(", ", classNames)}]. Use the class list they were made with, or redo them (--force after removing the folder).");
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a finished maps file: a readable zip holding the three arrays, each matching its
    /// CRC-32. A file cut short (a full disk, a copy interrupted) or damaged is not, so a resumed step makes it again instead of
    /// counting it as done.
    /// </summary>
    public static bool IsComplete(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            if (!new[] { KeysEntry, CamEntry, HighResEntry }.All(name => zip.GetEntry(name) is { Length: > 0 })) return false;
            CheckedZipEntry.VerifyAll(zip, path);
            return true;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The path of the maps of image <paramref name="id"/> in <paramref name="folder"/>: <c>folder/id.npz</c>.</summary>
    public static string PathFor(string folder, string id) => Path.Combine(folder, Data.ImageIds.Check(id, "maps file name") + Extension);

    /// <summary>Writes <paramref name="maps"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, CamMaps maps)
    {
        ArgumentNullException.ThrowIfNull(maps);
        int k = maps.Count;
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            AddEntry<long>(zip, KeysEntry, maps.Keys, [k]);
            AddEntry<float>(zip, CamEntry, maps.Cam, [k, maps.CamHeight, maps.CamWidth]);
            AddEntry<float>(zip, HighResEntry, maps.HighRes, [k, maps.Height, maps.Width]);
        });
    }

    /// <summary>Reads the maps written by <see cref="Write"/> or by <c>np.savez</c>/<c>np.savez_compressed</c>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid maps archive; the message names the file.</exception>
    public static CamMaps Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CAM maps file not found: {path}", path);
        try
        {
            using var stream = File.OpenRead(path);
            using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
            long[] keys = ReadEntry<long>(zip, KeysEntry, path, out int[] keyShape);
            float[] cam = ReadEntry<float>(zip, CamEntry, path, out int[] camShape);
            float[] highRes = ReadEntry<float>(zip, HighResEntry, path, out int[] highShape);
            if (keyShape.Length != 1 || camShape.Length != 3 || highShape.Length != 3)
                throw new InvalidDataException(
                    $"{path}: expected keys [K], cam [K, h, w] and high_res [K, H, W], found {Show(keyShape)}, {Show(camShape)}, {Show(highShape)}.");
            if (camShape[0] != keys.Length || highShape[0] != keys.Length)
                throw new InvalidDataException(
                    $"{path}: {keys.Length} keys but cam has {camShape[0]} and high_res {highShape[0]} maps.");
            return new CamMaps(keys, cam, camShape[1], camShape[2], highRes, highShape[1], highShape[2]);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: not a valid .npz archive ({e.Message})", e);
        }
    }

    private static void AddEntry<T>(ZipArchive zip, string name, T[] data, int[] shape) where T : unmanaged
    {
        ZipArchiveEntry entry = zip.CreateEntry(name, CompressionLevel.NoCompression);
        entry.LastWriteTime = EntryTime;
        using Stream s = entry.Open();
        NpyFormat.Write<T>(s, data, shape);
    }

    private static T[] ReadEntry<T>(ZipArchive zip, string name, string path, out int[] shape) where T : unmanaged
    {
        ZipArchiveEntry entry = zip.GetEntry(name)
            ?? throw new InvalidDataException($"{path}: entry '{name}' is missing.");
        string source = $"{path}!{name}";
        using Stream s = CheckedZipEntry.Open(entry, source);
        T[] data = NpyFormat.Read<T>(s, out shape, source);
        if (s.ReadByte() >= 0)
            throw new InvalidDataException($"{source}: unexpected data after the array of shape {Show(shape)}.");
        return data;
    }

    private static string Show(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
