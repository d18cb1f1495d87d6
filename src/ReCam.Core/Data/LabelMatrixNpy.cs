using System.Buffers.Binary;
using ReCam.IO;

namespace ReCam.Data;

/// <summary>
/// A label matrix saved with <c>np.save</c>: one row per image, one column per class, of a plain numeric dtype (bool, 8-bit,
/// 32/64-bit integer or float), binarised with &gt; 0. The official COCO code keeps its image-level labels this way
/// (<c>mscoco/train_labels.npy</c>, rows in image-id order).
/// </summary>
internal static class LabelMatrixNpy
{
    private static readonly string[] Numeric = ["b1", "u1", "i1", "i4", "i8", "u4", "u8", "f4", "f8"];

    /// <summary>Whether <paramref name="path"/> is a <c>.npy</c> file holding a 2-D numeric array (not a pickled dict).</summary>
    public static bool IsMatrix(string path)
    {
        if (!path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) || !File.Exists(path)) return false;
        try
        {
            using var stream = File.OpenRead(path);
            var header = NpyFormat.ReadHeader(stream, path);
            return header.Shape.Length == 2 && Numeric.Contains(header.DType[1..]);
        }
        catch (InvalidDataException)
        {
            return false; // the dict reader reports what is wrong with it
        }
    }

    /// <summary>Reads the matrix as 0/1 floats, row-major.</summary>
    /// <exception cref="InvalidDataException">Not a 2-D numeric C-order array, big-endian, or truncated.</exception>
    public static float[] Read(string path, out int rows, out int columns)
    {
        using var stream = File.OpenRead(path);
        var header = NpyFormat.ReadHeader(stream, path);
        string type = header.DType[1..];
        if (header.Shape.Length != 2 || !Numeric.Contains(type))
            throw new InvalidDataException($"'{path}': a label matrix must be a 2-D numeric array, not dtype '{header.DType}' of shape ({string.Join(", ", header.Shape)}).");
        if (header.FortranOrder) throw new InvalidDataException($"'{path}': Fortran-order arrays are not supported (save with C order).");
        if (header.DType[0] == '>') throw new InvalidDataException($"'{path}': big-endian arrays are not supported.");
        (rows, columns) = (header.Shape[0], header.Shape[1]);
        int size = int.Parse(type[1..], System.Globalization.CultureInfo.InvariantCulture);
        long count = (long)rows * columns;
        if (count * size > Array.MaxLength) throw new InvalidDataException($"'{path}': a {rows} x {columns} label matrix is too large.");
        var bytes = new byte[count * size];
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"'{path}': the label matrix is truncated (expected {rows} x {columns} values of '{header.DType}').");
        }
        var result = new float[count];
        for (long i = 0; i < count; i++)
        {
            var v = bytes.AsSpan((int)(i * size), size);
            bool positive = type switch
            {
                "b1" or "u1" => v[0] != 0,
                "i1" => (sbyte)v[0] > 0,
                "i4" => BinaryPrimitives.ReadInt32LittleEndian(v) > 0,
                "i8" => BinaryPrimitives.ReadInt64LittleEndian(v) > 0,
                "u4" => BinaryPrimitives.ReadUInt32LittleEndian(v) > 0,
                "u8" => BinaryPrimitives.ReadUInt64LittleEndian(v) > 0,
                "f4" => BinaryPrimitives.ReadSingleLittleEndian(v) > 0,
                _ => BinaryPrimitives.ReadDoubleLittleEndian(v) > 0,
            };
            result[i] = positive ? 1 : 0;
        }
        return result;
    }
}
