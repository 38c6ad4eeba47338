using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public void AisHiddenStep(DeviceBuffer<float> field, DeviceBuffer<float> visible, DeviceBuffer<float> biasDelta, DeviceBuffer<float> logWeight, DeviceBuffer<float> compensation, DeviceBuffer<float> hidden, int runs, int nv, int nh, float betaPrev, float beta, ulong seed, ulong stream, long sampleOffset)
    {
        Counters.Launch();
        CpuAisKernels.HiddenStep(field.HostArray!, visible.HostArray!, biasDelta.HostArray!, logWeight.HostArray!, compensation.HostArray!, hidden.HostArray!, runs, nv, nh, betaPrev, beta, seed, stream, sampleOffset);
    }
}
