using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace ReCam.Data;

/// <summary>
/// A minimal pickle virtual machine for what <c>np.save</c> writes when it pickles a Python dict of numpy
/// scalars and arrays (protocols 2 to 5, as produced by Python 3 numpy). It builds inert objects
/// (<see cref="NpArray"/>, <see cref="NpScalar"/>, <see cref="PyDict"/>, ...) and never runs code: the only
/// callables it accepts are numpy's array/scalar/dtype reconstructors and <c>_codecs.encode(..., 'latin1')</c>.
/// Any other opcode or global is rejected with an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal static class NumpyPickle
{
    private static readonly object Mark = new();

    /// <summary>Runs the pickle in <paramref name="data"/> from <paramref name="offset"/> and returns its result.</summary>
    public static object? Load(byte[] data, int offset, string source)
    {
        var stack = new List<object?>();
        var marks = new Stack<int>();
        var memo = new Dictionary<long, object?>();
        int pos = offset;

        InvalidDataException Bad(string what) =>
            new($"'{source}': unsupported or corrupt pickle content ({what}) at byte {pos}; only numpy's own "
                + "dict/array/scalar pickles are read.");
        ReadOnlySpan<byte> Take(long n)
        {
            if (n < 0 || pos + n > data.Length) throw Bad("truncated data");
            var span = data.AsSpan(pos, (int)n);
            pos += (int)n;
            return span;
        }
        object? Pop()
        {
            if (stack.Count == 0 || stack[^1] == Mark) throw Bad("stack underflow");
            object? top = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return top;
        }
        List<object?> PopToMark()
        {
            if (marks.Count == 0) throw Bad("no MARK");
            int start = marks.Pop();
            var items = stack.GetRange(start + 1, stack.Count - start - 1);
            stack.RemoveRange(start, stack.Count - start);
            return items;
        }
        string Line()
        {
            int end = Array.IndexOf(data, (byte)'\n', pos);
            if (end < 0) throw Bad("unterminated GLOBAL");
            string s = Encoding.ASCII.GetString(data, pos, end - pos);
            pos = end + 1;
            return s;
        }
        object? Top() => stack.Count > 0 && stack[^1] != Mark ? stack[^1] : throw Bad("empty stack");

        while (true)
        {
            if (pos >= data.Length) throw Bad("missing STOP");
            byte op = data[pos++];
            switch (op)
            {
                case 0x80: Take(1); break;                                    // PROTO
                case 0x95: Take(8); break;                                    // FRAME (framing is only a hint)
                case (byte)'.': return stack.Count == 1 ? stack[0] : throw Bad("STOP with a stack of " + stack.Count);
                case (byte)'(': marks.Push(stack.Count); stack.Add(Mark); break;
                case (byte)'N': stack.Add(null); break;
                case 0x88: stack.Add(true); break;
                case 0x89: stack.Add(false); break;
                case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case (byte)'K': stack.Add((long)Take(1)[0]); break;
                case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case 0x8a: stack.Add((long)new BigInteger(Take(Take(1)[0]), isUnsigned: false)); break; // LONG1
                case (byte)'X': stack.Add(Encoding.UTF8.GetString(Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))))); break;
                case 0x8c: stack.Add(Encoding.UTF8.GetString(Take(Take(1)[0]))); break;
                case 0x8d: stack.Add(Encoding.UTF8.GetString(Take(BinaryPrimitives.ReadInt64LittleEndian(Take(8))))); break;
                case (byte)'B': stack.Add(Take(BinaryPrimitives.ReadUInt32LittleEndian(Take(4))).ToArray()); break;
                case (byte)'C': stack.Add(Take(Take(1)[0]).ToArray()); break;
                case 0x8e: stack.Add(Take(BinaryPrimitives.ReadInt64LittleEndian(Take(8))).ToArray()); break;
                // Python 2 byte strings (BINSTRING / SHORT_BINSTRING): numpy data, kept as bytes (latin-1).
                case (byte)'T': stack.Add(Take(BinaryPrimitives.ReadInt32LittleEndian(Take(4))).ToArray()); break;
                case (byte)'U': stack.Add(Take(Take(1)[0]).ToArray()); break;
                case (byte)')': stack.Add(new PyTuple([])); break;
                case 0x85: stack.Add(new PyTuple([Pop()])); break;
                case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new PyTuple([a, b])); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new PyTuple([a, b, c])); break; }
                case (byte)'t': stack.Add(new PyTuple(PopToMark().ToArray())); break;
                case (byte)']': stack.Add(new List<object?>()); break;
                case (byte)'a': { var item = Pop(); (Top() as List<object?> ?? throw Bad("APPEND to a non-list")).Add(item); break; }
                case (byte)'e': { var items = PopToMark(); (Top() as List<object?> ?? throw Bad("APPENDS to a non-list")).AddRange(items); break; }
                case (byte)'}': stack.Add(new PyDict()); break;
                case (byte)'s': { var v = Pop(); var k = Pop(); (Top() as PyDict ?? throw Bad("SETITEM on a non-dict")).Add((k, v)); break; }
                case (byte)'u':
                {
                    var items = PopToMark();
                    if (items.Count % 2 != 0) throw Bad("SETITEMS with an odd item count");
                    var dict = Top() as PyDict ?? throw Bad("SETITEMS on a non-dict");
                    for (int i = 0; i < items.Count; i += 2) dict.Add((items[i], items[i + 1]));
                    break;
                }
                case (byte)'q': memo[Take(1)[0]] = Top(); break;
                case (byte)'r': memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top(); break;
                case 0x94: memo[memo.Count] = Top(); break;                   // MEMOIZE
                case (byte)'h': stack.Add(memo.TryGetValue(Take(1)[0], out var g1) ? g1 : throw Bad("BINGET of an unknown memo slot")); break;
                case (byte)'j': stack.Add(memo.TryGetValue(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), out var g4) ? g4 : throw Bad("LONG_BINGET of an unknown memo slot")); break;
                case (byte)'c': { string module = Line(); stack.Add(Global(module, Line(), Bad)); break; }
                case 0x93:
                {
                    var name = Pop() as string; var module = Pop() as string;
                    if (name is null || module is null) throw Bad("STACK_GLOBAL without strings");
                    stack.Add(Global(module, name, Bad));
                    break;
                }
                case (byte)'R': { var args = Pop() as PyTuple; var fn = Pop() as PyGlobal; stack.Add(Reduce(fn, args, Bad)); break; }
                case (byte)'b': { var state = Pop(); Build(Top(), state, Bad); break; }
                default:
                    throw Bad($"opcode 0x{op:x2}" + (op is >= 0x20 and < 0x7f ? $" '{(char)op}'" : ""));
            }
        }
    }

    private static PyGlobal Global(string module, string name, Func<string, InvalidDataException> bad)
    {
        bool multiarray = module is "numpy.core.multiarray" or "numpy._core.multiarray";
        bool ok = (multiarray && name is "_reconstruct" or "scalar")
                  || (module == "numpy" && name is "ndarray" or "dtype")
                  || (module == "_codecs" && name == "encode");
        return ok ? new PyGlobal(module, name) : throw bad($"global {module}.{name}");
    }

    private static object Reduce(PyGlobal? fn, PyTuple? args, Func<string, InvalidDataException> bad)
    {
        if (fn is null || args is null) throw bad("REDUCE without a callable and an argument tuple");
        var a = args.Items;
        switch (fn.Name)
        {
            case "encode" when a.Length >= 1 && a[0] is string text:
                if (a.Length > 1 && a[1] is not ("latin1" or "latin-1" or "iso-8859-1"))
                    throw bad($"_codecs.encode with encoding {a[1]}");
                var bytes = new byte[text.Length];
                for (int i = 0; i < text.Length; i++)
                    bytes[i] = text[i] <= 0xFF ? (byte)text[i] : throw bad("non-latin-1 text in _codecs.encode");
                return bytes;
            case "dtype" when a.Length >= 1 && a[0] is string descr:
                return new NpDtype(descr);
            case "scalar" when a.Length == 2 && a[0] is NpDtype dtype && a[1] is byte[] raw:
                return new NpScalar(dtype, raw);
            case "_reconstruct" when a.Length == 3 && a[0] is PyGlobal { Name: "ndarray" }:
                return new NpArray();
            default:
                throw bad($"call of {fn.Module}.{fn.Name} with unexpected arguments");
        }
    }

    private static void Build(object? target, object? state, Func<string, InvalidDataException> bad)
    {
        var s = (state as PyTuple)?.Items;
        switch (target)
        {
            case NpDtype dtype when s is { Length: >= 2 } && s[1] is string order:
                dtype.ByteOrder = order;
                break;
            case NpArray array when s is { Length: 5 } && s[1] is PyTuple shape && s[2] is NpDtype dt && s[3] is bool fortran:
                array.Shape = shape.Items.Select(d => d is long n ? checked((int)n) : throw bad("non-integer array shape")).ToArray();
                array.Dtype = dt;
                array.Fortran = fortran;
                array.Data = s[4] is byte[] or List<object?> ? s[4] : throw bad("array data of an unexpected type");
                break;
            default:
                throw bad($"BUILD of {target?.GetType().Name ?? "None"}");
        }
    }
}

/// <summary>A reference to one of the few allowed Python callables.</summary>
internal sealed record PyGlobal(string Module, string Name);

/// <summary>A Python tuple.</summary>
internal sealed record PyTuple(object?[] Items);

/// <summary>A Python dict, kept as its (key, value) pairs in insertion order.</summary>
internal sealed class PyDict : List<(object? Key, object? Value)>;

/// <summary>A numpy dtype: descriptor such as <c>f4</c> plus the byte order set by its pickled state.</summary>
internal sealed class NpDtype(string descr)
{
    public string Descr { get; } = descr;
    public string ByteOrder { get; set; } = "=";
    public char Kind => Descr.Length > 0 ? Descr[0] : '?';
    public int Size => int.TryParse(Descr.AsSpan(1), out int n) ? n : -1;
    public bool BigEndian => ByteOrder == ">";
}

/// <summary>A numpy scalar: dtype plus its raw bytes.</summary>
internal sealed record NpScalar(NpDtype Dtype, byte[] Data);

/// <summary>A numpy array rebuilt from its pickled state; <see cref="Data"/> is raw bytes or, for object arrays, a list.</summary>
internal sealed class NpArray
{
    public int[] Shape { get; set; } = [];
    public NpDtype? Dtype { get; set; }
    public bool Fortran { get; set; }
    public object? Data { get; set; }
}
