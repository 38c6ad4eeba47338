using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AisStepArgs>? aisHiddenStepKernel;

    public void AisHiddenStep(DeviceBuffer<float> field, DeviceBuffer<float> visible, DeviceBuffer<float> biasDelta, DeviceBuffer<float> logWeight, DeviceBuffer<float> compensation, DeviceBuffer<float> hidden, int runs, int nv, int nh, float betaPrev, float beta, ulong seed, ulong stream, long sampleOffset)
    {
        using var scope = Enter();
        aisHiddenStepKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AisStepArgs>(AisKernels.HiddenStepKernel);
        if (runs > 0)
        {
            var args = new AisStepArgs { Visible = nv, Hidden = nh, BetaPrev = betaPrev, Beta = beta, Seed = seed, Stream = stream, SampleOffset = sampleOffset };
            Counters.Launch();
            aisHiddenStepKernel(runs, field.View, visible.View, biasDelta.View, logWeight.View, compensation.View, hidden.View, args);
        }
    }
}
