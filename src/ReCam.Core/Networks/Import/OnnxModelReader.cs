using System.Text;

namespace ReCam.Networks.Import;

/// <summary>One node of an ONNX graph: operator, inputs, outputs and integer-list attributes.</summary>
/// <param name="OpType">Operator name, for example <c>Conv</c>.</param>
/// <param name="Inputs">Input value names (weights are initializer names).</param>
/// <param name="Outputs">Output value names.</param>
/// <param name="IntAttributes">Integer and integer-list attributes (strides, pads, kernel_shape...).</param>
/// <param name="FloatAttributes">Float attributes (epsilon...).</param>
public sealed record OnnxNode(
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, long[]> IntAttributes,
    IReadOnlyDictionary<string, float> FloatAttributes);

/// <summary>A float32 initializer (weight tensor) of an ONNX graph.</summary>
/// <param name="Name">Initializer name.</param>
/// <param name="Shape">Dimensions.</param>
/// <param name="Data">Values in row-major order.</param>
public sealed record OnnxTensor(string Name, long[] Shape, float[] Data);

/// <summary>
/// Reads the parts of an ONNX model needed to import convolutional weights: nodes in graph order and
/// float32 initializers. A small protobuf wire-format reader, so no generated ONNX classes are needed.
/// </summary>
public sealed class OnnxModelReader
{
    private OnnxModelReader(List<OnnxNode> nodes, Dictionary<string, OnnxTensor> initializers)
    {
        Nodes = nodes;
        Initializers = initializers;
    }

    /// <summary>Graph nodes in file order (ONNX requires topological order).</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>Float initializers by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>Reads an ONNX file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable ONNX model.</exception>
    public static OnnxModelReader Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model not found: {path}", path);
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            var nodes = new List<OnnxNode>();
            var inits = new Dictionary<string, OnnxTensor>();
            var model = new ProtoReader(bytes, 0, bytes.Length);
            bool sawGraph = false;
            while (model.Next(out int field, out int wire))
            {
                if (field == 7 && wire == 2)
                {
                    sawGraph = true;
                    var graph = model.Sub();
                    while (graph.Next(out int gf, out int gw))
                    {
                        if (gf == 1 && gw == 2) nodes.Add(ReadNode(graph.Sub()));
                        else if (gf == 5 && gw == 2)
                        {
                            var t = ReadTensor(graph.Sub());
                            if (t is not null) inits[t.Name] = t;
                        }
                        else graph.Skip(gw);
                    }
                }
                else model.Skip(wire);
            }
            if (!sawGraph) throw new InvalidDataException("no graph");
            return new OnnxModelReader(nodes, inits);
        }
        catch (Exception e) when (e is not InvalidDataException || !e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Cannot read ONNX model '{path}' (truncated or not ONNX): {e.Message}", e);
        }
    }

    private static OnnxNode ReadNode(ProtoReader r)
    {
        string op = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        var ints = new Dictionary<string, long[]>();
        var floats = new Dictionary<string, float>();
        while (r.Next(out int f, out int w))
        {
            switch (f)
            {
                case 1 when w == 2: inputs.Add(r.String()); break;
                case 2 when w == 2: outputs.Add(r.String()); break;
                case 4 when w == 2: op = r.String(); break;
                case 5 when w == 2: ReadAttribute(r.Sub(), ints, floats); break;
                default: r.Skip(w); break;
            }
        }
        return new OnnxNode(op, inputs, outputs, ints, floats);
    }

    private static void ReadAttribute(ProtoReader r, Dictionary<string, long[]> ints, Dictionary<string, float> floats)
    {
        string name = "";
        var values = new List<long>();
        float? fl = null;
        while (r.Next(out int f, out int w))
        {
            if (f == 1 && w == 2) name = r.String();
            else if (f == 2 && w == 5) fl = r.Fixed32();
            else if (f == 3 && w == 0) values.Add((long)r.Varint());
            else if (f == 8 && w == 0) values.Add((long)r.Varint());
            else if (f == 8 && w == 2)
            {
                var packed = r.Sub();
                while (!packed.AtEnd) values.Add((long)packed.Varint());
            }
            else r.Skip(w);
        }
        if (fl.HasValue) floats[name] = fl.Value;
        if (values.Count > 0) ints[name] = values.ToArray();
    }

    private static OnnxTensor? ReadTensor(ProtoReader r)
    {
        var dims = new List<long>();
        int type = 0;
        string name = "";
        float[]? data = null;
        var floatData = new List<float>();
        while (r.Next(out int f, out int w))
        {
            if (f == 1 && w == 0) dims.Add((long)r.Varint());
            else if (f == 1 && w == 2)
            {
                var packed = r.Sub();
                while (!packed.AtEnd) dims.Add((long)packed.Varint());
            }
            else if (f == 2 && w == 0) type = (int)r.Varint();
            else if (f == 4 && w == 2)
            {
                var packed = r.Sub();
                while (!packed.AtEnd) floatData.Add(packed.Fixed32());
            }
            else if (f == 4 && w == 5) floatData.Add(r.Fixed32());
            else if (f == 8 && w == 2) name = r.String();
            else if (f == 9 && w == 2)
            {
                var raw = r.Bytes();
                data = new float[raw.Length / 4];
                Buffer.BlockCopy(raw.ToArray(), 0, data, 0, data.Length * 4);
            }
            else r.Skip(w);
        }
        if (type != 1) return null; // only FLOAT tensors are weights we import
        data ??= floatData.ToArray();
        long count = dims.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length)
            throw new InvalidDataException($"initializer '{name}' has {data.Length} values for shape [{string.Join(",", dims)}]");
        return new OnnxTensor(name, dims.ToArray(), data);
    }

    /// <summary>Minimal protobuf wire-format cursor over a byte range.</summary>
    private sealed class ProtoReader(byte[] buffer, int start, int end)
    {
        private int _pos = start;

        public bool AtEnd => _pos >= end;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_pos >= end) return false;
            ulong key = Varint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= end) throw new InvalidDataException("unexpected end of data in varint");
                byte b = buffer[_pos++];
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw new InvalidDataException("malformed varint");
        }

        public float Fixed32()
        {
            Need(4);
            float v = BitConverter.ToSingle(buffer, _pos);
            _pos += 4;
            return v;
        }

        public ReadOnlySpan<byte> Bytes()
        {
            int len = checked((int)Varint());
            Need(len);
            var span = new ReadOnlySpan<byte>(buffer, _pos, len);
            _pos += len;
            return span;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public ProtoReader Sub()
        {
            int len = checked((int)Varint());
            Need(len);
            var sub = new ProtoReader(buffer, _pos, _pos + len);
            _pos += len;
            return sub;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Need(8); _pos += 8; break;
                case 2: int len = checked((int)Varint()); Need(len); _pos += len; break;
                case 5: Need(4); _pos += 4; break;
                default: throw new InvalidDataException($"unsupported protobuf wire type {wire}");
            }
        }

        private void Need(int n)
        {
            if (n < 0 || _pos + n > end) throw new InvalidDataException("unexpected end of data");
        }
    }
}
