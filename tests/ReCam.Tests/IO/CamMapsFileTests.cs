using System.IO.Compression;
using ReCam.Cam;
using ReCam.IO;
using Xunit;

namespace ReCam.Tests.IO;

public sealed class CamMapsFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "recam-cammaps-" + Guid.NewGuid().ToString("N"));

    public CamMapsFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "IO", name);

    private static CamMaps RandomMaps(long[] keys, int height, int width, int seed)
    {
        var rng = new Random(seed);
        int ch = CamMaps.StridedSize(height), cw = CamMaps.StridedSize(width);
        var cam = new float[keys.Length * ch * cw];
        var high = new float[keys.Length * height * width];
        for (int i = 0; i < cam.Length; i++) cam[i] = rng.NextSingle();
        for (int i = 0; i < high.Length; i++) high[i] = rng.NextSingle();
        return new CamMaps(keys, cam, ch, cw, high, height, width);
    }

    [Fact]
    public void RoundTripsStoredUncompressed()
    {
        CamMaps maps = RandomMaps([0, 6, 19], 13, 10, seed: 1);
        string path = CamMapsFile.PathFor(_dir, "2007_000032");
        CamMapsFile.Write(path, maps);

        CamMaps read = CamMapsFile.Read(path);
        Assert.Equal(maps.Keys, read.Keys);
        Assert.Equal((4, 3, 13, 10), (read.CamHeight, read.CamWidth, read.Height, read.Width));
        Assert.Equal(maps.Cam, read.Cam);
        Assert.Equal(maps.HighRes, read.HighRes);
        Assert.Equal(["2007_000032.npz"], Directory.GetFiles(_dir).Select(Path.GetFileName));

        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(["keys.npy", "cam.npy", "high_res.npy"], zip.Entries.Select(e => e.FullName));
        Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength));
    }

    [Fact]
    public void RoundTripsZeroClasses()
    {
        CamMaps maps = RandomMaps([], 7, 5, seed: 2);
        string path = Path.Combine(_dir, "empty.npz");
        CamMapsFile.Write(path, maps);
        CamMaps read = CamMapsFile.Read(path);
        Assert.Equal(0, read.Count);
        Assert.Equal((2, 2, 7, 5), (read.CamHeight, read.CamWidth, read.Height, read.Width));
        Assert.Empty(read.HighRes);
    }

    [Theory]
    [InlineData("maps_savez.npz")]
    [InlineData("maps_savez_compressed.npz")]
    public void ReadsNumpySavezExactly(string name)
    {
        // Written by Fixtures/IO/make_fixtures.py: value = (k*100 + y*10 + x) / 128, negated for cam.
        CamMaps maps = CamMapsFile.Read(Fixture(name));
        Assert.Equal([3L, 14L], maps.Keys);
        Assert.Equal((2, 3, 5, 9), (maps.CamHeight, maps.CamWidth, maps.Height, maps.Width));
        for (int k = 0; k < 2; k++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 9; x++)
                    Assert.Equal((k * 100 + y * 10 + x) / 128f, maps.HighRes[(k * 5 + y) * 9 + x]);
        for (int k = 0; k < 2; k++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 3; x++)
                    Assert.Equal(-(k * 100 + y * 10 + x) / 128f, maps.CamPlane(k)[y * 3 + x]);
    }

    [Fact]
    public void MissingFileThrowsFileNotFound()
    {
        string path = Path.Combine(_dir, "none.npz");
        var e = Assert.Throws<FileNotFoundException>(() => CamMapsFile.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TruncatedFileErrorNamesThePath()
    {
        string path = Path.Combine(_dir, "cut.npz");
        CamMapsFile.Write(path, RandomMaps([1], 8, 8, seed: 3));
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => CamMapsFile.Read(path));
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void MissingEntryAndShapeMismatchErrorsNameThePath()
    {
        string missing = Path.Combine(_dir, "missing.npz");
        WriteZip(missing, ("keys.npy", Npy<long>([1], [1])), ("cam.npy", Npy<float>(new float[4], [1, 2, 2])));
        var e1 = Assert.Throws<InvalidDataException>(() => CamMapsFile.Read(missing));
        Assert.Contains(missing, e1.Message);
        Assert.Contains("high_res.npy", e1.Message);

        string mismatch = Path.Combine(_dir, "mismatch.npz");
        WriteZip(mismatch, ("keys.npy", Npy<long>([1, 2], [2])), ("cam.npy", Npy<float>(new float[4], [1, 2, 2])),
            ("high_res.npy", Npy<float>(new float[64], [1, 8, 8])));
        var e2 = Assert.Throws<InvalidDataException>(() => CamMapsFile.Read(mismatch));
        Assert.Contains(mismatch, e2.Message);

        string badStride = Path.Combine(_dir, "stride.npz");
        WriteZip(badStride, ("keys.npy", Npy<long>([1], [1])), ("cam.npy", Npy<float>(new float[9], [1, 3, 3])),
            ("high_res.npy", Npy<float>(new float[64], [1, 8, 8])));
        var e3 = Assert.Throws<InvalidDataException>(() => CamMapsFile.Read(badStride));
        Assert.Contains(badStride, e3.Message);
        Assert.Contains("3x3", e3.Message);
    }

    [Fact]
    public void ConstructorValidatesLengthsAndKeys()
    {
        Assert.Throws<ArgumentException>(() => new CamMaps([0], new float[4], 2, 2, new float[63], 8, 8));
        Assert.Throws<ArgumentException>(() => new CamMaps([0], new float[3], 2, 2, new float[64], 8, 8));
        Assert.Throws<ArgumentException>(() => new CamMaps([2, 1], new float[8], 2, 2, new float[128], 8, 8));
        Assert.Throws<ArgumentException>(() => new CamMaps([0], new float[9], 3, 3, new float[64], 8, 8));
    }

    private static byte[] Npy<T>(T[] data, int[] shape) where T : unmanaged
    {
        using var s = new MemoryStream();
        NpyFormat.Write<T>(s, data, shape);
        return s.ToArray();
    }

    private static void WriteZip(string path, params (string Name, byte[] Bytes)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using Stream s = zip.CreateEntry(name).Open();
            s.Write(bytes);
        }
    }

    [Fact]
    public void FlippedBytesFailTheCrcAndTheFileIsNotDone()
    {
        CamMaps maps = RandomMaps([2, 5], 40, 30, seed: 3);
        string path = CamMapsFile.PathFor(_dir, "flipped");
        CamMapsFile.Write(path, maps);
        Assert.True(CamMapsFile.IsComplete(path));
        var bytes = File.ReadAllBytes(path);
        for (int i = 0; i < 64; i++) bytes[bytes.Length / 2 + i] ^= 0xFF; // inside high_res, stored: the zip still opens
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<InvalidDataException>(() => CamMapsFile.Read(path));
        Assert.Contains("CRC-32", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("high_res", e.Message);
        Assert.False(CamMapsFile.IsComplete(path));
    }

    [Fact]
    public void ACutShortMapsFileIsNotDoneAndTheClassListTravelsWithTheMaps()
    {
        string dir = Directory.CreateTempSubdirectory("recam-maps-done").FullName;
        try
        {
            var maps = new CamMaps([1], new float[4 * 4], 4, 4, new float[16 * 16], 16, 16);
            string whole = CamMapsFile.PathFor(dir, "a"), cut = CamMapsFile.PathFor(dir, "b");
            CamMapsFile.Write(whole, maps);
            CamMapsFile.Write(cut, maps);
            var bytes = File.ReadAllBytes(cut);
            File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
            Assert.True(CamMapsFile.IsComplete(whole));
            Assert.False(CamMapsFile.IsComplete(cut));
            var todo = MapsExtraction.ToDo([new MapsRequest("a", "a.jpg", [1]), new MapsRequest("b", "b.jpg", [1]), new MapsRequest("c", "c.jpg", [1])], dir, force: false);
            Assert.Equal(["b", "c"], todo.Select(r => r.Id));

            CamMapsFile.RecordClasses(dir, ["cat", "dog"]);
            CamMapsFile.RecordClasses(dir, ["cat", "dog"]);
            CamMapsFile.CheckClasses(dir, ["cat", "dog"]);
            var e = Assert.Throws<InvalidDataException>(() => CamMapsFile.CheckClasses(dir, ["dog", "cat"]));
            Assert.Contains("cat, dog", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
