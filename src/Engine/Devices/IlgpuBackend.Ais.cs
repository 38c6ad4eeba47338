using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, AisStepArgs>? aisHiddenStepKernel;

    public void AisHiddenStep(DeviceBuffer<float> field, DeviceBuffer<float> visible, DeviceBuffer<float> biasDelta, DeviceBuffer<float> logWeight, DeviceBuffer<float> compensation, DeviceBuffer<float> hidden, int runs, int nv, int nh, float betaPrev, float beta, ulong seed, ulong stream, long sampleOffset)
    {
        using var scope = Enter();
        aisHiddenStepKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, AisStepArgs>(AisKernels.HiddenStepKernel);
        if (runs > 0)
        {
            var args = new AisStepArgs { Visible = nv, Hidden = nh, BetaPrev = betaPrev, Beta = beta, Seed = seed, Stream = stream, SampleOffset = sampleOffset };
            var (config, lanes) = RowBlocks(runs, Math.Max(nv, nh));
            Counters.Launch();
            aisHiddenStepKernel(config, field.View, visible.View, biasDelta.View, logWeight.View, compensation.View, hidden.View, runs, lanes, args);
        }
    }
}
