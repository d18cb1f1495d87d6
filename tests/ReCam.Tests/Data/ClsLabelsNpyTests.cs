using System.Text;
using ReCam.Data;
using Xunit;

namespace ReCam.Tests.Data;

public class ClsLabelsNpyTests
{
    // Same content as ENTRIES in Fixtures/Data/make_fixtures.py.
    private static readonly Dictionary<string, int[]> Expected = new()
    {
        ["2007_000032"] = [0, 14],
        ["2007_000039"] = [19],
        ["2008_000123"] = [3, 8, 11],
        ["2011_003276"] = [14],
    };

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Data", name);

    [Theory]
    [InlineData("cls_labels_p2.npy")] // layout of the official file (protocol 2, _codecs.encode byte strings)
    [InlineData("cls_labels_p3.npy")] // np.save default in numpy 1.24 (protocol 3)
    [InlineData("cls_labels_p4.npy")] // protocol 4 (STACK_GLOBAL, MEMOIZE, FRAME)
    public void Read_NumpyWrittenDict_GivesIdsAndMultiHot(string file)
    {
        var labels = ClsLabelsNpy.Read(Fixture(file));
        Assert.Equal(Expected.Keys.Order(), labels.Keys.Order());
        foreach (var (id, present) in Expected)
        {
            float[] v = labels[id];
            Assert.Equal(20, v.Length);
            for (int c = 0; c < 20; c++) Assert.Equal(present.Contains(c) ? 1f : 0f, v[c]);
        }
    }

    [Fact]
    public void Read_LargeProtocol2Dict_WithLongMemoAndSeveralBatches()
    {
        using var dir = new TempDir();
        string path = dir.File("large.npy");
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(Fixture("cls_labels_p2_large.npy.gz")),
                   System.IO.Compression.CompressionMode.Decompress))
        using (var output = File.Create(path))
            gz.CopyTo(output);
        var labels = ClsLabelsNpy.Read(path);
        Assert.Equal(1234, labels.Count);
        for (int i = 0; i < 1234; i++)
        {
            float[] v = labels[ClsLabelsNpy.DecodeId(2007000000 + 7 * i)];
            int[] present = Enumerable.Range(0, 20).Where(c => v[c] != 0f).ToArray();
            Assert.Equal(new[] { i % 20, (7 * i + 3) % 20 }.Distinct().Order(), present);
            Assert.All(present, c => Assert.Equal(1f, v[c]));
        }
    }

    [Fact]
    public void DecodeId_InsertsUnderscoreAfterYear()
    {
        Assert.Equal("2007_000032", ClsLabelsNpy.DecodeId(2007000032));
        Assert.Equal("2011_003276", ClsLabelsNpy.DecodeId(2011003276));
    }

    [Theory]
    [InlineData((byte)'G', "corrupt pickle")]           // BINFLOAT, whose 8-byte argument runs past the end
    [InlineData((byte)0xFF, "invalid pickle opcode: 255")]
    public void Read_CorruptPickle_NamesFileAndProblem(byte opcode, string problem)
    {
        byte[] bytes = File.ReadAllBytes(Fixture("cls_labels_p3.npy"));
        int stop = Array.LastIndexOf(bytes, (byte)'.');
        bytes[stop - 1] = opcode;             // replaces the BUILD before STOP
        using var dir = new TempDir();
        string path = dir.File("bad.npy");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => ClsLabelsNpy.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData("_codecs\nencode\n", "os\nsystem\n", "os.system")]       // called with arguments (REDUCE)
    [InlineData("_codecs\nencode\n", "builtins\neval\n", "builtins.eval")]
    [InlineData("numpy\nndarray\n", "os\nsystem\n", "os.system")]        // only passed as an argument
    public void Read_ForeignGlobal_IsRejectedWithoutRunningIt(string global, string foreign, string named)
    {
        byte[] bytes = File.ReadAllBytes(Fixture("cls_labels_p2.npy"));
        string text = Encoding.Latin1.GetString(bytes);
        Assert.Contains(global, text);
        text = text.Replace(global, foreign, StringComparison.Ordinal);
        using var dir = new TempDir();
        string path = dir.File("evil.npy");
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(text));
        var e = Assert.Throws<InvalidDataException>(() => ClsLabelsNpy.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Read_PlainNumericNpy_IsRejected()
    {
        using var dir = new TempDir();
        string path = dir.File("plain.npy");
        string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        header = header.PadRight(64 - 10 - 1) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange(Encoding.ASCII.GetBytes("NUMPY"));
        bytes.AddRange([1, 0, (byte)header.Length, 0]);
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(new byte[8]);
        File.WriteAllBytes(path, bytes.ToArray());
        var e = Assert.Throws<InvalidDataException>(() => ClsLabelsNpy.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("object array", e.Message);
    }

    [Fact]
    public void Read_NotNpy_And_Missing()
    {
        using var dir = new TempDir();
        string path = dir.File("x.npy", "hello, not numpy");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => ClsLabelsNpy.Read(path)).Message);
        string missing = Path.Combine(dir.Path, "none.npy");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => ClsLabelsNpy.Read(missing)).Message);
    }
}
