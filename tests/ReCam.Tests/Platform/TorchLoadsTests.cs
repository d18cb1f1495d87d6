using TorchSharp;
using Xunit;

namespace ReCam.Tests.Platform;

public class TorchLoadsTests
{
    [Fact]
    public void TorchComputesOnCpu()
    {
        using var a = torch.ones(2, 3);
        using var b = a.sum();
        Assert.Equal(6f, b.item<float>());
    }
}
