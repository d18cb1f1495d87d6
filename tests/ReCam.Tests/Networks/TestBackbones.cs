using ReCam.Networks;

namespace ReCam.Tests.Networks;

/// <summary>Backbones for tests: a tiny ResNet (one basic block per stage) with torchvision's input convention.</summary>
internal static class TestBackbones
{
    public static BackboneSpec Tiny { get; } = new("tiny", ResNetBlock.Basic, [1, 1, 1, 1], InputNormalization.Torchvision, false, "test");
}
