using ReCam.IO;
using Xunit;

namespace ReCam.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void TemporariesOfDeadWritersAreRemovedAndLiveOnesKept()
    {
        string dir = Directory.CreateTempSubdirectory("recam-atomic").FullName;
        try
        {
            int dead = Enumerable.Range(100_000, 1_000_000).First(pid => !Directory.Exists($"/proc/{pid}"));
            string stale = Path.Combine(dir, $".scene_1.npz.{dead}.{Guid.NewGuid():N}.tmp");
            string live = Path.Combine(dir, $".scene_2.npz.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            string output = Path.Combine(dir, "scene_3.npz");
            foreach (string f in new[] { stale, live, output }) File.WriteAllBytes(f, [1, 2, 3]);

            Assert.Equal(1, AtomicFile.RemoveStaleTemporaries(dir));
            Assert.False(File.Exists(stale));
            Assert.True(File.Exists(live));
            Assert.True(File.Exists(output));
            Assert.Equal(0, AtomicFile.RemoveStaleTemporaries(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
