using InfoGpu.Devices;

namespace InfoGpu.Tests.Devices;

/// <summary>
/// The driver probe that <c>auto</c> asks before opening ILGPU may only rule out what ILGPU would
/// not find: where it says a kind cannot be present, ILGPU itself finds no device of that kind.
/// </summary>
public class DriverProbeTests
{
    [Fact]
    public void TheProbeNeverRulesOutADeviceIlgpuFinds()
    {
        var present = ComputeDevice.Available().Select(d => d.Kind).ToHashSet(StringComparer.Ordinal);
        if (!DriverProbe.MayHaveCuda())
            Assert.DoesNotContain("cuda", present);
        if (!DriverProbe.MayHaveOpenCL())
            Assert.DoesNotContain("opencl", present);
        // And auto opens what the probe and ILGPU agree on: a GPU kind when one is present, else cpu.
        using var auto = ComputeDevice.Open(DeviceKind.Auto);
        string expected = present.Contains("cuda") ? "cuda" : present.Contains("opencl") ? "opencl" : "cpu";
        Assert.Equal(expected, auto.Info.Kind);
    }
}
