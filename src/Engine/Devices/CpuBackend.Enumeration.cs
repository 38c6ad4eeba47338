using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public double EnumerateLogPartition(float[] m, float[] d, float[] e, int n, int k)
    {
        Counters.Launch();
        return CpuRbmEnumerationKernels.LogSumExp(m, d, e, n, k);
    }
}
