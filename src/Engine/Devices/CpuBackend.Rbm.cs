using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public void RbmColumnStatistics(DeviceBuffer<float> x, long offset, int rows, int cols, int split, DeviceBuffer<float> sums, float scaleFirst)
    {
        Counters.Launch();
        CpuRbmKernels.ColumnStatistics(x.Span, offset, rows, cols, split, sums.Span, scaleFirst);
    }

    public void RbmUpdate(DeviceBuffer<float> weights, DeviceBuffer<float> weightVelocity, DeviceBuffer<float> gradient, DeviceBuffer<float> visibleBias, DeviceBuffer<float> visibleVelocity, DeviceBuffer<float> visibleSums, DeviceBuffer<float> hiddenBias, DeviceBuffer<float> hiddenVelocity, DeviceBuffer<float> hiddenSums, DeviceBuffer<float> q, in RbmUpdateArgs args)
    {
        Counters.Launch();
        CpuRbmKernels.UpdateBias(hiddenBias.Span, hiddenVelocity.Span, hiddenSums.Span, q.Span, args.Hidden, true, args);
        CpuRbmKernels.UpdateBias(visibleBias.Span, visibleVelocity.Span, visibleSums.Span, q.Span, args.Visible, false, args);
        CpuRbmKernels.UpdateWeights(weights.Span, weightVelocity.Span, gradient.Span, visibleSums.Span, q.Span, args);
    }

    public void RbmFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> visibleBias, DeviceBuffer<float> result, int rows, int nv, int nh)
    {
        Counters.Launch();
        CpuRbmKernels.FreeEnergy(v.HostArray!, act.HostArray!, visibleBias.HostArray!, result.HostArray!, rows, nv, nh);
    }

    public void RbmSquaredError(DeviceBuffer<float> v, DeviceBuffer<float> p, DeviceBuffer<float> result, int rows, int cols)
    {
        Counters.Launch();
        CpuRbmKernels.SquaredError(v.HostArray!, p.HostArray!, result.HostArray!, rows, cols);
    }

    public void RbmFlipFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> weights, DeviceBuffer<float> visibleBias, DeviceBuffer<int> flips, DeviceBuffer<float> result, int pairs, int nv, int nh, bool allBits)
    {
        Counters.Launch();
        CpuRbmKernels.FlipFreeEnergy(v.HostArray!, act.HostArray!, weights.HostArray!, visibleBias.HostArray!, flips.HostArray!, result.HostArray!, pairs, nv, nh, allBits);
    }
}
