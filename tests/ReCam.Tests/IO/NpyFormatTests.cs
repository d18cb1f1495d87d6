using System.Text;
using ReCam.IO;
using Xunit;

namespace ReCam.Tests.IO;

public class NpyFormatTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "IO", name);

    private static T[] RoundTrip<T>(T[] data, int[] shape, out int[] readShape) where T : unmanaged
    {
        using var stream = new MemoryStream();
        NpyFormat.Write<T>(stream, data, shape);
        stream.Position = 0;
        T[] read = NpyFormat.Read<T>(stream, out readShape, "mem");
        Assert.Equal(stream.Length, stream.Position);
        return read;
    }

    [Fact]
    public void RoundTripsEveryElementTypeAndShape()
    {
        float[] f = [1.5f, -2.25f, float.MaxValue, float.Epsilon, 0f, 3f];
        Assert.Equal(f, RoundTrip(f, [2, 3], out int[] s1));
        Assert.Equal([2, 3], s1);
        long[] l = [long.MinValue, -1, 0, long.MaxValue];
        Assert.Equal(l, RoundTrip(l, [4], out int[] s2));
        Assert.Equal([4], s2);
        int[] i = [7, -8];
        Assert.Equal(i, RoundTrip(i, [1, 2, 1], out int[] s3));
        Assert.Equal([1, 2, 1], s3);
        byte[] b = [0, 255];
        Assert.Equal(b, RoundTrip(b, [2], out _));
        double[] d = [Math.PI];
        Assert.Equal(d, RoundTrip(d, [], out int[] s4));
        Assert.Empty(s4);
        Assert.Empty(RoundTrip(Array.Empty<float>(), [0, 4, 5], out int[] s5));
        Assert.Equal([0, 4, 5], s5);
    }

    [Fact]
    public void WritesNumpyHeaderAlignedTo64Bytes()
    {
        using var stream = new MemoryStream();
        NpyFormat.Write<float>(stream, new float[6], [2, 3]);
        byte[] bytes = stream.ToArray();
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        Assert.Equal(0, (10 + headerLength) % 64);
        Assert.Equal(10 + headerLength + 24, bytes.Length);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith(" \n", header);

        stream.SetLength(0);
        NpyFormat.Write<long>(stream, new long[5], [5]);
        Assert.Contains("'shape': (5,)", Encoding.ASCII.GetString(stream.ToArray()));
    }

    [Fact]
    public void ReadsNumpyWrittenFiles()
    {
        byte[] u8 = NpyFormat.ReadFile<byte>(Fixture("uint8.npy"), out int[] s1);
        Assert.Equal(new byte[] { 0, 1, 254, 255 }, u8);
        Assert.Equal([4], s1);

        int[] v2 = NpyFormat.ReadFile<int>(Fixture("int32_v2.npy"), out int[] s2);
        Assert.Equal(Enumerable.Range(0, 12).ToArray(), v2);
        Assert.Equal([3, 4], s2);
    }

    [Fact]
    public void RejectsFortranOrderWithClearError()
    {
        var e = Assert.Throws<InvalidDataException>(() => NpyFormat.ReadFile<float>(Fixture("fortran.npy"), out _));
        Assert.Contains("fortran.npy", e.Message);
        Assert.Contains("Fortran", e.Message);
    }

    [Fact]
    public void RejectsWrongTypeTruncationAndGarbage()
    {
        using var stream = new MemoryStream();
        NpyFormat.Write<float>(stream, new float[6], [2, 3]);
        byte[] bytes = stream.ToArray();

        var wrongType = Assert.Throws<InvalidDataException>(() => NpyFormat.Read<long>(new MemoryStream(bytes), out _, "a.npy"));
        Assert.Contains("a.npy", wrongType.Message);
        Assert.Contains("'<f4'", wrongType.Message);

        var truncated = Assert.Throws<InvalidDataException>(() => NpyFormat.Read<float>(new MemoryStream(bytes[..^4]), out _, "b.npy"));
        Assert.Contains("b.npy", truncated.Message);
        Assert.Contains("truncated", truncated.Message);

        var shortHeader = Assert.Throws<InvalidDataException>(() => NpyFormat.Read<float>(new MemoryStream(bytes[..20]), out _, "c.npy"));
        Assert.Contains("header is truncated", shortHeader.Message);

        var garbage = Assert.Throws<InvalidDataException>(() => NpyFormat.Read<float>(new MemoryStream(new byte[64]), out _, "d.npy"));
        Assert.Contains("magic", garbage.Message);

        byte[] badShape = (byte[])bytes.Clone();
        Encoding.ASCII.GetBytes("'shape': (2, x)").CopyTo(badShape, 10 + "{'descr': '<f4', 'fortran_order': False, ".Length);
        var parse = Assert.Throws<InvalidDataException>(() => NpyFormat.Read<float>(new MemoryStream(badShape), out _, "e.npy"));
        Assert.Contains("e.npy", parse.Message);
    }

    [Fact]
    public void RejectsDataThatDoesNotMatchShapeOnWrite()
    {
        Assert.Throws<ArgumentException>(() => NpyFormat.Write<float>(new MemoryStream(), new float[5], [2, 3]));
    }
}
