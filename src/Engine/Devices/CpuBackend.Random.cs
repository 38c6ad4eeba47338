using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public void FillUniform(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset)
    {
        Counters.Launch();
        CpuRandomKernels.Uniform(buffer.Span, seed, stream, offset);
    }

    public void FillNormal(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset)
    {
        Counters.Launch();
        CpuRandomKernels.Normal(buffer.Span, seed, stream, offset);
    }
}
