using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace ReCam.Networks.Import;

/// <summary>
/// Imports the ImageNet ResNet-18 shipped as ONNX in the Microsoft.ML.DnnImageFeaturizer.ResNet18
/// package (a CNTK export, BasicBlocks [2, 2, 2, 3]). Its 22 Conv+BatchNormalization pairs, in graph
/// order, map one-to-one onto the torchvision-named modules (in the first block of layers 2-4 the
/// downsample pair comes first). Shapes are checked pair by pair.
/// </summary>
internal static class OnnxResNet18Import
{
    /// <summary>Path of the ONNX file as the package copies it into an application's output folder.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("RECAM_RESNET18_ONNX") is { Length: > 0 } p
            ? p
            : Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>Loads the ONNX weights into <paramref name="resnet"/> (which must be BasicBlock [2, 2, 2, 3]).</summary>
    /// <exception cref="InvalidDataException">The graph does not match the network.</exception>
    public static void Load(ResNet resnet, string? onnxPath = null)
    {
        string path = onnxPath ?? DefaultPath;
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"The ImageNet ResNet-18 weights were not found at '{path}'. They come with the NuGet package " +
                "Microsoft.ML.DnnImageFeaturizer.ResNet18 (copied to DnnImageModels/ResNet18Onnx/ in the build output); " +
                "set RECAM_RESNET18_ONNX to point elsewhere.", path);
        var graph = ReadGraph(path);
        var convs = graph.Node.Where(n => n.OpType == "Conv").ToList();
        var bns = graph.Node.Where(n => n.OpType == "BatchNormalization").ToList();
        var names = ConvBnNames(resnet.Layers);
        if (convs.Count != names.Count || bns.Count != names.Count)
            throw new InvalidDataException($"'{path}' has {convs.Count} Conv / {bns.Count} BatchNormalization nodes; the network needs {names.Count} pairs.");
        var initializers = new Dictionary<string, TensorProto>();
        foreach (var initializer in graph.Initializer) initializers[initializer.Name] = initializer;
        var parameters = resnet.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var buffers = resnet.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        using var noGrad = no_grad();
        for (int i = 0; i < names.Count; i++)
        {
            var (conv, bn) = names[i];
            Copy(initializers, convs[i].Input[1], parameters[conv + ".weight"], path);
            Copy(initializers, bns[i].Input[1], parameters[bn + ".weight"], path);
            Copy(initializers, bns[i].Input[2], parameters[bn + ".bias"], path);
            Copy(initializers, bns[i].Input[3], buffers[bn + ".running_mean"], path);
            Copy(initializers, bns[i].Input[4], buffers[bn + ".running_var"], path);
        }
        // The parsed model (45 MB of weights as protobuf byte strings, on the large-object heap) is garbage now, and the large-object
        // heap is only swept by full collections, which a process that spends its time in native code rarely triggers: the weights'
        // second copy would stay resident for the process's life (measured: 40 MiB of a make-cam process's peak). One collection at
        // load time returns it.
        initializers.Clear();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>The (conv, bn) module names of a BasicBlock ResNet in the CNTK graph's order.</summary>
    internal static List<(string Conv, string Bn)> ConvBnNames(IReadOnlyList<int> layers)
    {
        var names = new List<(string, string)> { ("conv1", "bn1") };
        for (int l = 0; l < 4; l++)
        {
            for (int b = 0; b < layers[l]; b++)
            {
                string prefix = $"layer{l + 1}.{b}";
                if (b == 0 && l > 0) names.Add(($"{prefix}.downsample.0", $"{prefix}.downsample.1"));
                names.Add(($"{prefix}.conv1", $"{prefix}.bn1"));
                names.Add(($"{prefix}.conv2", $"{prefix}.bn2"));
            }
        }
        return names;
    }

    private static GraphProto ReadGraph(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return ModelProto.Parser.ParseFrom(stream).Graph
                   ?? throw new InvalidDataException($"Cannot read ONNX model '{path}': it has no graph.");
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"Cannot read ONNX model '{path}' (truncated or not ONNX): {e.Message}", e);
        }
    }

    private static void Copy(Dictionary<string, TensorProto> initializers, string name, Tensor target, string path)
    {
        if (!initializers.TryGetValue(name, out var source))
            throw new InvalidDataException($"'{path}': initializer '{name}' not found.");
        long[] shape = source.Dims.ToArray();
        if (!shape.SequenceEqual(target.shape))
            throw new InvalidDataException(
                $"'{path}': initializer '{name}' has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", target.shape)}].");
        if (source.DataType != (int)TensorProto.Types.DataType.Float)
            throw new InvalidDataException($"'{path}': initializer '{name}' is not float32 (ONNX data type {source.DataType}).");
        long count = source.RawData.IsEmpty ? source.FloatData.Count : source.RawData.Length / sizeof(float);
        if (count != target.numel() || source.RawData.Length % sizeof(float) != 0)
            throw new InvalidDataException(
                $"'{path}': initializer '{name}' has {count} values for shape [{string.Join(", ", shape)}].");
        // ONNX writes raw_data little-endian, the byte order of every platform TorchSharp runs on. The bytes go straight into the
        // parameter: no managed copy of the weights is made, so loading leaves no large garbage behind.
        if (source.RawData.IsEmpty)
            target.bytes = MemoryMarshal.AsBytes(source.FloatData.ToArray().AsSpan());
        else
            target.bytes = MemoryMarshal.AsMemory(source.RawData.Memory).Span; // read only: the setter copies from it
    }
}
