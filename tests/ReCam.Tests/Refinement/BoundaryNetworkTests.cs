using ReCam.Networks;
using ReCam.Refinement;
using ReCam.Training;
using Xunit;
using static TorchSharp.torch;

namespace ReCam.Tests.Refinement;

public sealed class BoundaryNetworkTests
{
    private static BoundaryNetwork Small() =>
        GlobalGenerator.Seeded(1, () => BoundaryNetwork.Empty(new BackboneSpec("test-resnet", ResNetBlock.Basic, [1, 1, 1, 1], InputNormalization.Torchvision, false, "test")));

    [Theory]
    [InlineData(64, 64)]
    [InlineData(37, 50)]
    public void LogitsAreOnTheStrideFourGridAndOnlyTheEdgeLayersTrain(int height, int width)
    {
        using var net = Small();
        using var scope = NewDisposeScope();
        var logits = net.call(GlobalGenerator.Seeded(3, () => randn(2, 3, height, width)));
        Assert.Equal(new long[] { 2, 1, (height + 3) / 4, (width + 3) / 4 }, logits.shape);
        Assert.True(logits.isfinite().all().item<bool>());
        var names = net.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.All(names, n => Assert.StartsWith("fc_edge", n));
        Assert.Contains("fc_edge1.0.weight", names);
        Assert.Contains("fc_edge3.1.bias", names);
        Assert.Contains("fc_edge6.bias", names);
        Assert.Equal(net.EdgeParameters().Count(), names.Count);
    }

    [Fact]
    public void BoundaryMapAveragesTheImageAndItsMirror()
    {
        using var net = Small();
        var rng = new Random(2);
        var px = new byte[30 * 22 * 3];
        rng.NextBytes(px);
        var image = new ReCam.Imaging.RgbImage(30, 22, px);
        var map = net.BoundaryMap(image, CPU);
        Assert.Equal(8 * 6, map.Length);
        Assert.All(map, v => Assert.InRange(v, 0f, 1f));
        // The mirrored image gives the mirrored map.
        var mirrored = net.BoundaryMap(image.FlipHorizontal(), CPU);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 8; x++) Assert.Equal(map[y * 8 + x], mirrored[y * 8 + (7 - x)], 1e-4f);
    }

    // The loss written out pair by pair, for a grid and boundary small enough to enumerate.
    private static double LoopLoss(float[] boundary, byte[] labels, int grid, PathIndex index)
    {
        int floor = index.Radius - 1;
        double bg = 0, bgN = 0, fg = 0, fgN = 0, neg = 0, negN = 0;
        for (int y = 0; y < grid - floor; y++)
            for (int x = floor; x < grid - floor; x++)
                for (int d = 0; d < index.Directions.Count; d++)
                {
                    var (dy, dx) = index.Directions[d];
                    double max = index.Paths[d].Max(p => (double)boundary[(y + p.Dy) * grid + x + p.Dx]);
                    double a = 1 - max;
                    byte s = labels[y * grid + x], t = labels[(y + dy) * grid + x + dx];
                    if (s == 255 || t == 255) continue;
                    if (s == t && s == 0) { bg += -Math.Log(a + 1e-5); bgN++; }
                    else if (s == t) { fg += -Math.Log(a + 1e-5); fgN++; }
                    else { neg += -Math.Log(1 + 1e-5 - a); negN++; }
                }
        return (bg / (bgN + 1e-5) / 2 + fg / (fgN + 1e-5) / 2 + neg / (negN + 1e-5)) / 2;
    }

    [Fact]
    public void AffinityLossEqualsThePairByPairDefinition()
    {
        const int grid = 12;
        var index = new PathIndex(4);
        var rng = new Random(3);
        var boundary = Enumerable.Range(0, grid * grid).Select(_ => (float)rng.NextDouble() * 0.9f).ToArray();
        var labels = Enumerable.Range(0, grid * grid).Select(i => (byte)(i % grid < 5 ? 0 : i % 7 == 0 ? 255 : 2)).ToArray();
        using var scope = NewDisposeScope();
        using var pairs = new AffinityPairs(index, grid, CPU);
        var logits = tensor(boundary.Select(b => (float)Math.Log(b / (1 - b))).ToArray(), [1, 1, grid, grid]);
        var loss = BoundaryTrainingStep.AffinityLoss(logits, tensor(labels.Select(v => (float)v).ToArray(), [1, grid, grid]), pairs);
        Assert.Equal(LoopLoss(boundary, labels, grid, index), loss.item<float>(), 4);
    }
}
