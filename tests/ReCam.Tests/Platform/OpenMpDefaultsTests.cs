using System.Runtime.InteropServices;
using ReCam.Platform;
using Xunit;

namespace ReCam.Tests.Platform;

public class OpenMpDefaultsTests
{
    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    private static string? NativeValue(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    [Fact]
    public void TheWaitPolicyIsSetForNativeCodeAndAChosenOneIsKept()
    {
        // Loading ReCam.Core set it (or the test run chose one); OpenMP reads the C library's copy, which must agree.
        string policy = Environment.GetEnvironmentVariable(OpenMpDefaults.WaitPolicyVariable)!;
        Assert.False(string.IsNullOrEmpty(policy));
        Assert.Equal(policy, NativeValue(OpenMpDefaults.WaitPolicyVariable));

        string variable = "RECAM_TEST_" + Guid.NewGuid().ToString("N");
        Assert.Equal("PASSIVE", OpenMpDefaults.SetUnlessChosen(variable, "PASSIVE"));
        Assert.Equal("PASSIVE", NativeValue(variable));
        Assert.Equal("PASSIVE", OpenMpDefaults.SetUnlessChosen(variable, "ACTIVE")); // a value already chosen wins
        Assert.Equal("PASSIVE", NativeValue(variable));
    }
}
