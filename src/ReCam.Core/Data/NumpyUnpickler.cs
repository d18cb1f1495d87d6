using System.Collections;
using System.Text;
using System.Text.RegularExpressions;
using Razorvine.Pickle;
using Razorvine.Pickle.Objects;

namespace ReCam.Data;

/// <summary>
/// Unpickles, with Razorvine.Pickle, what <c>np.save</c> writes for a Python dict of numpy scalars and arrays.
/// Razorvine runs no Python; the only globals given a meaning here are numpy's array, scalar and dtype
/// reconstructors, which build inert <see cref="NpArray"/>, <see cref="NpScalar"/> and <see cref="NpDtype"/> objects.
/// Any other global reaches the caller as a Razorvine placeholder (or fails when called with arguments) and is
/// refused with an <see cref="InvalidDataException"/> naming the file and the global.
/// </summary>
internal static partial class NumpyUnpickler
{
    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>Unpickles <paramref name="pickle"/>; <paramref name="source"/> names the file in errors.</summary>
    public static object? Load(byte[] pickle, string source)
    {
        Register();
        using var unpickler = new Unpickler();
        try
        {
            return unpickler.loads(pickle);
        }
        // Razorvine reports malformed input with whatever the failing step throws (index, cast, null reference...).
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{source}': {Explain(e)}", e);
        }
    }

    /// <summary>Names a value the way an error message about the pickle needs it: a foreign global by its Python name.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        ClassDictConstructor c => $"the Python global {c.module}.{c.name}",
        ClassDict d => $"an object of the Python global {d.ClassName}",
        NumpyGlobal g => g.Name,
        IObjectConstructor c => $"a Python global that Razorvine builds with its {c.GetType().Name}",
        NpArray a => $"a numpy array of dtype {a.Dtype?.Descr ?? "?"} and shape ({string.Join(", ", a.Shape)})",
        NpScalar s => $"a numpy scalar of dtype {s.Dtype.Descr}",
        NpDtype => "a numpy dtype",
        Hashtable => "a dict",
        ArrayList => "a list",
        object[] => "a tuple",
        string => "a str",
        _ => value.GetType().Name,
    };

    /// <summary>Raw bytes of a pickled byte string; Python 2 pickles carry them as latin-1 text.</summary>
    public static byte[]? AsBytes(object? value) => value switch
    {
        byte[] bytes => bytes,
        string text when text.All(c => c <= '\u00ff') => Encoding.Latin1.GetBytes(text),
        _ => null,
    };

    // Razorvine has one constructor table for the whole process (TorchSharp.PyBridge adds its torch globals to it),
    // so the numpy names are added once and nothing else is touched.
    private static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            var ndarray = new NumpyGlobal("numpy.ndarray", _ => throw new InvalidDataException("numpy.ndarray is called directly."));
            Unpickler.registerConstructor("numpy", "ndarray", ndarray);
            Unpickler.registerConstructor("numpy", "dtype", new NumpyGlobal("numpy.dtype",
                args => args is [string descr, ..] ? new NpDtype(descr) : throw BadCall("numpy.dtype", args)));
            foreach (string module in (string[])["numpy.core.multiarray", "numpy._core.multiarray"])
            {
                string reconstruct = module + "._reconstruct", scalar = module + ".scalar";
                Unpickler.registerConstructor(module, "_reconstruct", new NumpyGlobal(reconstruct,
                    args => args is [NumpyGlobal cls, ..] && cls == ndarray ? new NpArray() : throw BadCall(reconstruct, args)));
                Unpickler.registerConstructor(module, "scalar", new NumpyGlobal(scalar,
                    args => args is [NpDtype dtype, var raw] && AsBytes(raw) is { } data
                        ? new NpScalar(dtype, data)
                        : throw BadCall(scalar, args)));
            }
            _registered = true;
        }
    }

    private static InvalidDataException BadCall(string global, object?[] args) =>
        new($"{global} is called with ({string.Join(", ", args.Select(Describe))}), which numpy does not write.");

    private static string Explain(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is InvalidDataException own) return own.Message;
        }
        // Razorvine refuses to call the placeholder of an unknown global with arguments; its message is the only
        // place that names the global.
        if (e is PickleException && ForeignCall().Match(e.Message) is { Success: true } call)
            return $"the pickle calls the Python global {call.Groups[1].Value}, which is not one of numpy's array, scalar or "
                   + "dtype reconstructors; the file is refused and nothing was run.";
        var messages = new List<string>();
        for (var inner = e; inner is not null; inner = inner.InnerException) messages.Add(inner.Message);
        return $"unsupported or corrupt pickle content ({e.GetType().Name}: {string.Join(" ", messages)}); only numpy's "
               + "own pickle of a dict of arrays and scalars is read.";
    }

    [GeneratedRegex(@"construction of ClassDict \(for ([^)\s]+)\)")]
    private static partial Regex ForeignCall();
}

/// <summary>A numpy global that Razorvine calls through <see cref="IObjectConstructor"/>.</summary>
internal sealed class NumpyGlobal(string name, Func<object?[], object> build) : IObjectConstructor
{
    /// <summary>Python name, e.g. <c>numpy.dtype</c>.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public object construct(object[] args) => build(args);
}

/// <summary>A numpy dtype: descriptor such as <c>f4</c> plus the byte order set by its pickled state.</summary>
internal sealed class NpDtype(string descr)
{
    public string Descr { get; } = descr;
    public string ByteOrder { get; private set; } = "=";
    public char Kind => Descr.Length > 0 ? Descr[0] : '?';
    public int Size => int.TryParse(Descr.AsSpan(1), out int n) ? n : -1;
    public bool BigEndian => ByteOrder == ">";

    /// <summary>Razorvine's BUILD; numpy's state is (version, byte order, ...).</summary>
    public void __setstate__(object[] state) =>
        ByteOrder = state is [_, string order, ..]
            ? order
            : throw new InvalidDataException($"numpy dtype '{Descr}' has an unexpected state ({string.Join(", ", state.Select(NumpyUnpickler.Describe))}).");
}

/// <summary>A numpy scalar: dtype plus its raw bytes. Compared by reference, so equal keys of a dict stay apart.</summary>
internal sealed class NpScalar(NpDtype dtype, byte[] data)
{
    public NpDtype Dtype { get; } = dtype;
    public byte[] Data { get; } = data;
}

/// <summary>A numpy array rebuilt from its pickled state; <see cref="Data"/> is raw bytes or, for object arrays, a list.</summary>
internal sealed class NpArray
{
    public int[] Shape { get; private set; } = [];
    public NpDtype? Dtype { get; private set; }
    public object? Data { get; private set; }

    /// <summary>Razorvine's BUILD; numpy's state is (version, shape, dtype, Fortran order, data).</summary>
    public void __setstate__(object[] state)
    {
        if (state is not [_, object[] shape, NpDtype dtype, bool, var data])
            throw new InvalidDataException($"numpy array has an unexpected state ({string.Join(", ", state.Select(NumpyUnpickler.Describe))}).");
        Shape = shape.Select(d => d switch
        {
            int n => n,
            long n => checked((int)n),
            _ => throw new InvalidDataException($"numpy array has a dimension of type {NumpyUnpickler.Describe(d)}."),
        }).ToArray();
        Dtype = dtype;
        Data = data as ArrayList ?? (object?)NumpyUnpickler.AsBytes(data)
               ?? throw new InvalidDataException($"numpy array data is {NumpyUnpickler.Describe(data)}.");
    }
}
