using ReCam.Networks;
using Xunit;

namespace ReCam.Tests.Networks;

public class GlobalGeneratorTests
{
    [Fact]
    public async Task ASeededNetworkIsTheSameWhileAnotherThreadBuildsNetworks()
    {
        static float[] Weights(CamNetwork net) =>
            net.parameters().SelectMany(t => t.detach().flatten().data<float>().ToArray()).ToArray();

        float[] alone;
        using (var net = CamNetwork.Create(TestBackbones.Tiny, 3, null, seed: 17).Network) alone = Weights(net);

        using var stop = new CancellationTokenSource();
        var noise = Task.Run(() =>
        {
            int built = 0;
            while (!stop.IsCancellationRequested || built == 0)
            {
                using var other = new CamNetwork(TestBackbones.Tiny, 5);
                using var head = new ReCamHead(8, 5);
                built++;
            }
            return built;
        });
        for (int i = 0; i < 5; i++)
        {
            using var net = CamNetwork.Create(TestBackbones.Tiny, 3, null, seed: 17).Network;
            Assert.Equal(alone, Weights(net));
        }
        stop.Cancel();
        Assert.True(await noise > 0);
    }
}
