namespace ReCam.Tests.Imaging;

/// <summary>Access to Fixtures/Imaging (written once by make_fixtures.py with Pillow 9.4).</summary>
internal static class ImagingFixtures
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Imaging");

    public static string PathOf(string name) => Path.Combine(Dir, name);

    public static byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    /// <summary>Manifest rows of one kind: (source, width, height, reference file).</summary>
    public static IEnumerable<object[]> Rows(string kind) =>
        File.ReadAllLines(PathOf("manifest.tsv"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Where(f => f[0] == kind)
            .Select(f => new object[] { f[1], int.Parse(f[2]), int.Parse(f[3]), f[4] });

    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "recam-imaging-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
