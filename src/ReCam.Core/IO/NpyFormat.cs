using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace ReCam.IO;

/// <summary>The header of a .npy array: element type, memory order and shape.</summary>
/// <param name="DType">The numpy type string, e.g. <c>&lt;f4</c>.</param>
/// <param name="FortranOrder">True when the data is stored column-major (not supported for reading data).</param>
/// <param name="Shape">The dimensions; empty for a 0-d array.</param>
internal sealed record NpyHeader(string DType, bool FortranOrder, int[] Shape)
{
    /// <summary>The number of elements (product of the dimensions; 1 for a 0-d array).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>
/// Reads and writes single arrays in numpy's .npy format: little-endian, C order, element types
/// float32 (<c>&lt;f4</c>), float64 (<c>&lt;f8</c>), int64 (<c>&lt;i8</c>), int32 (<c>&lt;i4</c>) and uint8 (<c>|u1</c>).
/// Writes format version 1.0 (2.0 for very large headers) with the data aligned to 64 bytes, as numpy does;
/// reads versions 1.0, 2.0 and 3.0.
/// </summary>
internal static class NpyFormat
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int Alignment = 64;

    /// <summary>The numpy type string for <typeparamref name="T"/>; throws for unsupported types.</summary>
    public static string DTypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? "<f4"
        : typeof(T) == typeof(double) ? "<f8"
        : typeof(T) == typeof(long) ? "<i8"
        : typeof(T) == typeof(int) ? "<i4"
        : typeof(T) == typeof(byte) ? "|u1"
        : throw new NotSupportedException($"Element type {typeof(T).Name} is not supported by the .npy reader/writer.");

    /// <summary>Writes <paramref name="data"/> (C order) with the given shape as one .npy array.</summary>
    /// <param name="stream">Destination, positioned where the array starts.</param>
    /// <param name="data">The elements; their count must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">The dimensions (each &gt;= 0); empty for a 0-d array.</param>
    public static void Write<T>(Stream stream, ReadOnlySpan<T> data, ReadOnlySpan<int> shape) where T : unmanaged
    {
        EnsureLittleEndian();
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension {d} in shape.", nameof(shape));
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"Shape ({string.Join(", ", shape.ToArray())}) holds {count} elements but {data.Length} were given.", nameof(data));

        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape.ToArray());
        string dict = $"{{'descr': '{DTypeOf<T>()}', 'fortran_order': False, 'shape': ({dims}), }}";
        int major = 1;
        int preamble = 10;
        int padded = Pad(dict.Length + 1, preamble);
        if (padded > ushort.MaxValue)
        {
            major = 2;
            preamble = 12;
            padded = Pad(dict.Length + 1, preamble);
        }
        var header = new byte[preamble + padded];
        Magic.CopyTo(header, 0);
        header[6] = (byte)major;
        header[7] = 0;
        if (major == 1) BitConverter.TryWriteBytes(header.AsSpan(8), (ushort)padded);
        else BitConverter.TryWriteBytes(header.AsSpan(8), (uint)padded);
        Encoding.ASCII.GetBytes(dict, header.AsSpan(preamble));
        header.AsSpan(preamble + dict.Length, padded - dict.Length - 1).Fill((byte)' ');
        header[^1] = (byte)'\n';
        stream.Write(header);
        stream.Write(MemoryMarshal.AsBytes(data));
    }

    /// <summary>Writes one .npy file atomically.</summary>
    public static void WriteFile<T>(string path, T[] data, int[] shape) where T : unmanaged =>
        AtomicFile.Write(path, s => Write<T>(s, data, shape));

    /// <summary>Reads an array whose element type must be <typeparamref name="T"/>.</summary>
    /// <param name="stream">Source, positioned at the magic string; need not be seekable.</param>
    /// <param name="shape">Receives the dimensions.</param>
    /// <param name="source">Name of the file (or entry) used in error messages.</param>
    /// <exception cref="InvalidDataException">Bad header, other element type, Fortran order or truncated data.</exception>
    public static T[] Read<T>(Stream stream, out int[] shape, string source) where T : unmanaged
    {
        EnsureLittleEndian();
        NpyHeader header = ReadHeader(stream, source);
        string expected = DTypeOf<T>();
        if (!SameType(header.DType, expected))
            throw new InvalidDataException($"{source}: array has dtype '{header.DType}' but '{expected}' was expected.");
        if (header.FortranOrder)
            throw new InvalidDataException($"{source}: Fortran-order arrays are not supported (save with C order).");
        long count = header.ElementCount;
        if (count > Array.MaxLength)
            throw new InvalidDataException($"{source}: array of {count} elements is too large.");
        var data = new T[count];
        try
        {
            stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{source}: array data is truncated (expected {count} elements of '{header.DType}').");
        }
        shape = header.Shape;
        return data;
    }

    /// <summary>Reads one .npy file whose element type must be <typeparamref name="T"/>.</summary>
    public static T[] ReadFile<T>(string path, out int[] shape) where T : unmanaged
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Array file not found: {path}", path);
        using var stream = File.OpenRead(path);
        return Read<T>(stream, out shape, path);
    }

    /// <summary>Reads the magic string, version and header dictionary, leaving the stream at the data.</summary>
    /// <param name="stream">Source, positioned at the magic string.</param>
    /// <param name="source">Name of the file (or entry) used in error messages.</param>
    public static NpyHeader ReadHeader(Stream stream, string source)
    {
        Span<byte> pre = stackalloc byte[12];
        try
        {
            stream.ReadExactly(pre[..8]);
            if (!pre[..6].SequenceEqual(Magic))
                throw new InvalidDataException($"{source}: not a .npy array (bad magic string).");
            int major = pre[6];
            int length;
            if (major == 1)
            {
                stream.ReadExactly(pre.Slice(8, 2));
                length = BitConverter.ToUInt16(pre.Slice(8, 2));
            }
            else if (major is 2 or 3)
            {
                stream.ReadExactly(pre.Slice(8, 4));
                uint len = BitConverter.ToUInt32(pre.Slice(8, 4));
                if (len > 1 << 24) throw new InvalidDataException($"{source}: .npy header length {len} is implausible.");
                length = (int)len;
            }
            else
            {
                throw new InvalidDataException($"{source}: unsupported .npy format version {major}.{pre[7]}.");
            }
            var text = new byte[length];
            stream.ReadExactly(text);
            string dict = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(text);
            return NpyHeaderParser.Parse(dict, source);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{source}: .npy header is truncated.");
        }
    }

    private static int Pad(int headerLength, int preamble) =>
        headerLength + (Alignment - (preamble + headerLength) % Alignment) % Alignment;

    private static bool SameType(string actual, string expected)
    {
        if (actual == expected) return true;
        // Single-byte types carry no byte order; numpy writes '|' but '<', '>' and '=' mean the same.
        return expected[0] == '|' && actual.Length == expected.Length && "<>=".Contains(actual[0]) && actual[1..] == expected[1..];
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("The .npy reader/writer supports little-endian machines only.");
    }
}

/// <summary>Parses the Python dict literal of a .npy header.</summary>
internal sealed class NpyHeaderParser
{
    private readonly string _text;
    private readonly string _source;
    private int _pos;

    private NpyHeaderParser(string text, string source) => (_text, _source) = (text, source);

    internal static NpyHeader Parse(string text, string source)
    {
        var p = new NpyHeaderParser(text, source);
        var values = new Dictionary<string, object>();
        p.Expect('{');
        while (p.Peek() != '}')
        {
            string key = p.ReadString();
            p.Expect(':');
            values[key] = p.ReadValue();
            if (p.Peek() == ',') p._pos++;
            else if (p.Peek() != '}') throw p.Error("expected ',' or '}'");
        }
        p._pos++;
        if (values.GetValueOrDefault("descr") is not string descr) throw p.Error("missing or unsupported 'descr' (structured dtypes are not supported)");
        if (values.GetValueOrDefault("fortran_order") is not bool fortran) throw p.Error("missing 'fortran_order'");
        if (values.GetValueOrDefault("shape") is not int[] shape) throw p.Error("missing 'shape'");
        return new NpyHeader(descr, fortran, shape);
    }

    private char Peek()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos])) _pos++;
        return _pos < _text.Length ? _text[_pos] : throw Error("unexpected end");
    }

    private void Expect(char c)
    {
        if (Peek() != c) throw Error($"expected '{c}'");
        _pos++;
    }

    private string ReadString()
    {
        char quote = Peek();
        if (quote is not ('\'' or '"')) throw Error("expected a quoted string");
        int end = _text.IndexOf(quote, _pos + 1);
        if (end < 0) throw Error("unterminated string");
        string s = _text[(_pos + 1)..end];
        _pos = end + 1;
        return s;
    }

    private object ReadValue()
    {
        char c = Peek();
        if (c is '\'' or '"') return ReadString();
        if (c == '(') return ReadTuple();
        if (Match("True")) return true;
        if (Match("False")) return false;
        throw Error($"unsupported value starting with '{c}'");
    }

    private bool Match(string word)
    {
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0) return false;
        _pos += word.Length;
        return true;
    }

    private int[] ReadTuple()
    {
        Expect('(');
        var dims = new List<int>();
        while (Peek() != ')')
        {
            int start = _pos;
            while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
            if (!long.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out long d) || d > int.MaxValue)
                throw Error("bad dimension in 'shape'");
            dims.Add((int)d);
            if (_pos < _text.Length && _text[_pos] == 'L') _pos++; // Python 2 long suffix
            if (Peek() == ',') _pos++;
            else if (Peek() != ')') throw Error("expected ',' or ')' in 'shape'");
        }
        _pos++;
        return [.. dims];
    }

    private InvalidDataException Error(string what) =>
        new($"{_source}: bad .npy header ({what}) in {_text.TrimEnd()}");
}
