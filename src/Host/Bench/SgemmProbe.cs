using InfoGpu.Devices;
using InfoGpu.LinearAlgebra;
using InfoGpu.Random;

namespace InfoGpu.Host.Bench;

/// <summary>The machine's sgemm rate, measured with the engine's own best GEMM on the device.</summary>
internal static class SgemmProbe
{
    /// <summary>
    /// GFLOP/s (2 m n k per product, median of 5 after a warm-up) of a 1024-cubed float32
    /// product on <paramref name="device"/>; 64-cubed on ilgpu-cpu, whose emulated kernels
    /// would take minutes at full size.
    /// </summary>
    public static double? Measure(ComputeDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        int n = device.Kind == DeviceKind.IlgpuCpu ? 64 : 1024;
        using var a = device.Allocate<float>((long)n * n);
        using var b = device.Allocate<float>((long)n * n);
        using var c = device.Allocate<float>((long)n * n);
        RandomFill.Uniform(a, 1, 1);
        RandomFill.Uniform(b, 1, 2);
        void Once()
        {
            Gemm.Multiply(GemmLayout.NN, (a, n, n), (b, n, n), (c, n, n), GemmEpilogue.None);
            device.Synchronize();
        }
        Once();
        double seconds = Timing.Median(Once, 5);
        return 2.0 * n * n * n / seconds / 1e9;
    }
}
