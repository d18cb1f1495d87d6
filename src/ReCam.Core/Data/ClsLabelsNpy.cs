using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Text;

namespace ReCam.Data;

/// <summary>
/// Reads the official <c>voc12/cls_labels.npy</c>: an <c>np.save</c> of a Python dict (a 0-d object array whose
/// payload is a pickle, protocol 2 or higher). Keys are numpy int32 scalars encoding the id without its
/// underscore (<c>2007000032</c> → <c>"2007_000032"</c>); values are float32 multi-hot arrays (20 for VOC).
/// No Python code is executed: the pickle is read with Razorvine.Pickle, which knows only numpy's array, scalar and
/// dtype reconstructors here; a file that refers to any other Python global is refused.
/// </summary>
internal static class ClsLabelsNpy
{
    /// <summary>Reads the dict stored in <paramref name="path"/>.</summary>
    /// <param name="path">The <c>.npy</c> file.</param>
    /// <returns>Image id → multi-hot vector; every vector has the same length.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an <c>.npy</c> holding a pickled dict of integer (or string)
    /// keys and 1-D float arrays, its pickle is corrupt, or it refers to a Python global other than numpy's array, scalar
    /// and dtype reconstructors (the message names that global).</exception>
    public static IReadOnlyDictionary<string, float[]> Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Label file not found: '{path}'.", path);
        byte[] bytes = File.ReadAllBytes(path);
        int offset = ReadHeader(bytes, path);
        object? root = NumpyUnpickler.Load(bytes[offset..], path);
        var dict = root switch
        {
            NpArray { Data: ArrayList { Count: 1 } items } when items[0] is Hashtable d => d,
            Hashtable d => d,
            _ => throw new InvalidDataException(
                $"'{path}' does not hold a pickled dict (np.save of a Python dict expected) but {NumpyUnpickler.Describe(root)}."),
        };
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        int length = -1;
        foreach (DictionaryEntry entry in dict)
        {
            string id = ImageIds.Check(KeyToId(entry.Key, path), path);
            float[] vector = ToVector(entry.Value, path, id);
            if (length >= 0 && vector.Length != length)
                throw new InvalidDataException($"'{path}': entry '{id}' has {vector.Length} values, earlier entries have {length}.");
            length = vector.Length;
            if (!result.TryAdd(id, vector))
                throw new InvalidDataException($"'{path}': image id '{id}' occurs twice.");
        }
        return result;
    }

    /// <summary>
    /// Turns an integer key of <c>cls_labels.npy</c> into a VOC id the way the official
    /// <c>decode_int_filename</c> does: the first four digits, an underscore, then the rest.
    /// </summary>
    /// <param name="key">The integer key, e.g. 2007000032.</param>
    /// <returns>The id, e.g. <c>"2007_000032"</c>.</returns>
    public static string DecodeId(long key)
    {
        string s = key.ToString(CultureInfo.InvariantCulture);
        return s.Length > 4 ? s[..4] + "_" + s[4..] : s;
    }

    private static int ReadHeader(byte[] bytes, string path)
    {
        ReadOnlySpan<byte> magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(magic))
            throw new InvalidDataException($"'{path}' is not a .npy file (bad magic string).");
        int major = bytes[6];
        int headerLength, start;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); start = 10; }
        else if (major is 2 or 3 && bytes.Length >= 12) { headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))); start = 12; }
        else throw new InvalidDataException($"'{path}': unsupported .npy format version {major}.{bytes[7]}.");
        if (start + headerLength > bytes.Length)
            throw new InvalidDataException($"'{path}': truncated .npy header.");
        string header = Encoding.UTF8.GetString(bytes, start, headerLength);
        string compact = header.Replace(" ", "", StringComparison.Ordinal).Replace("\"", "'", StringComparison.Ordinal);
        if (!compact.Contains("'descr':'|O'", StringComparison.Ordinal))
            throw new InvalidDataException($"'{path}' is not an object array (header {header.Trim()}); cls_labels.npy holds a pickled dict.");
        if (!compact.Contains("'shape':()", StringComparison.Ordinal))
            throw new InvalidDataException($"'{path}' is not a 0-d array (header {header.Trim()}); cls_labels.npy holds a single pickled dict.");
        return start + headerLength;
    }

    private static string KeyToId(object? key, string path) => key switch
    {
        string s => s,
        int n => DecodeId(n),
        long n => DecodeId(n),
        NpScalar { Dtype.Kind: 'i' or 'u' } scalar => DecodeId(ScalarToInt64(scalar, path)),
        _ => throw new InvalidDataException($"'{path}': unsupported dict key {NumpyUnpickler.Describe(key)} (integer ids expected)."),
    };

    private static long ScalarToInt64(NpScalar scalar, string path)
    {
        var d = scalar.Data.AsSpan();
        bool big = scalar.Dtype.BigEndian;
        bool signed = scalar.Dtype.Kind == 'i';
        if (d.Length != scalar.Dtype.Size)
            throw new InvalidDataException($"'{path}': integer key of dtype {scalar.Dtype.Descr} holds {d.Length} bytes.");
        return d.Length switch
        {
            1 => signed ? (sbyte)d[0] : d[0],
            2 => signed ? (big ? BinaryPrimitives.ReadInt16BigEndian(d) : BinaryPrimitives.ReadInt16LittleEndian(d))
                        : (big ? BinaryPrimitives.ReadUInt16BigEndian(d) : BinaryPrimitives.ReadUInt16LittleEndian(d)),
            4 => signed ? (big ? BinaryPrimitives.ReadInt32BigEndian(d) : BinaryPrimitives.ReadInt32LittleEndian(d))
                        : (big ? BinaryPrimitives.ReadUInt32BigEndian(d) : BinaryPrimitives.ReadUInt32LittleEndian(d)),
            8 => big ? BinaryPrimitives.ReadInt64BigEndian(d) : BinaryPrimitives.ReadInt64LittleEndian(d),
            _ => throw new InvalidDataException($"'{path}': unsupported integer key dtype {scalar.Dtype.Descr}."),
        };
    }

    private static float[] ToVector(object? value, string path, string id)
    {
        if (value is not NpArray { Dtype: { } dtype, Data: byte[] raw } array || array.Shape.Length != 1
            || dtype.Kind != 'f' || dtype.Size is not (4 or 8))
            throw new InvalidDataException(
                $"'{path}': the value of '{id}' is not a 1-D float32/float64 numpy array but {NumpyUnpickler.Describe(value)}.");
        int n = array.Shape[0];
        if (raw.Length != n * dtype.Size)
            throw new InvalidDataException($"'{path}': the array of '{id}' has {raw.Length} bytes for {n} values.");
        var result = new float[n];
        for (int i = 0; i < n; i++)
        {
            var span = raw.AsSpan(i * dtype.Size, dtype.Size);
            result[i] = dtype.Size == 4
                ? (dtype.BigEndian ? BinaryPrimitives.ReadSingleBigEndian(span) : BinaryPrimitives.ReadSingleLittleEndian(span))
                : (float)(dtype.BigEndian ? BinaryPrimitives.ReadDoubleBigEndian(span) : BinaryPrimitives.ReadDoubleLittleEndian(span));
        }
        return result;
    }
}
