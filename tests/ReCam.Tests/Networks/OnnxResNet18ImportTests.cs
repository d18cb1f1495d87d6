using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ReCam.Networks;
using ReCam.Networks.Import;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Networks;

public class OnnxResNet18ImportTests
{
    [Fact]
    public void ImportedNetworkMatchesOnnxRuntime()
    {
        // The CNTK graph is a classic ResNet (layer4 stride 2) ending in 7x7 average pooling: build the
        // same topology, import, and compare pooled features with ONNX Runtime on one random input.
        using var resnet = new ResNet(ResNetBlock.Basic, [2, 2, 2, 3], lastStride: 2);
        OnnxResNet18Import.Load(resnet);
        resnet.eval();

        var rng = new Random(7);
        var input = new float[3 * 224 * 224];
        for (int i = 0; i < input.Length; i++) input[i] = (float)(rng.NextDouble() * 200 - 100);

        float[] ours;
        using (no_grad())
        using (var x = tensor(input, [1, 3, 224, 224]))
        using (var f = resnet.call(x))
        using (var pooled = f.mean([2L, 3L]))
        {
            Assert.Equal(new long[] { 1, 512, 7, 7 }, f.shape);
            ours = pooled.data<float>().ToArray();
        }

        using var session = new InferenceSession(OnnxResNet18Import.DefaultPath);
        var onnxInput = new DenseTensor<float>(input, [1, 3, 224, 224]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("Input247", onnxInput)]);
        var reference = results.First().AsEnumerable<float>().ToArray();

        Assert.Equal(512, reference.Length);
        double maxDiff = ours.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        double scale = reference.Max(Math.Abs);
        Assert.True(scale > 0.1, "reference features should not be all zero");
        Assert.True(maxDiff < 1e-4 * Math.Max(1, scale), $"max |ours - onnxruntime| = {maxDiff} (scale {scale})");
    }

    [Fact]
    public void ReCamBackboneHasOutputStride16()
    {
        using var resnet = new ResNet(ResNetBlock.Basic, [2, 2, 2, 3]);
        using var x = zeros(1, 3, 100, 75);
        using var f = resnet.call(x);
        Assert.Equal(new long[] { 1, 512, 7, 5 }, f.shape); // ceil(100/16)=7, ceil(75/16)=5
    }

    [Fact]
    public void WrongOnnxFileGivesClearError()
    {
        string path = Path.Combine(Path.GetTempPath(), $"truncated-{Guid.NewGuid():N}.onnx");
        var bytes = File.ReadAllBytes(OnnxResNet18Import.DefaultPath).AsSpan(0, 5000).ToArray();
        File.WriteAllBytes(path, bytes);
        try
        {
            using var resnet = new ResNet(ResNetBlock.Basic, [2, 2, 2, 3]);
            var e = Assert.Throws<InvalidDataException>(() => OnnxResNet18Import.Load(resnet, path));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
