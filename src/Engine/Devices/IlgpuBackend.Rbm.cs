using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, long, int, int, int, ArrayView<float>, float>? rbmColumnKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RbmUpdateArgs>? rbmWeightsKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, RbmUpdateArgs>? rbmBiasKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? rbmFreeEnergyKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? rbmSquaredErrorKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>? rbmFlipKernel;

    public void RbmColumnStatistics(DeviceBuffer<float> x, long offset, int rows, int cols, int split, DeviceBuffer<float> sums, float scaleFirst)
    {
        using var scope = Enter();
        rbmColumnKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, long, int, int, int, ArrayView<float>, float>(RbmKernels.ColumnStatisticsKernel);
        if (cols > 0)
        {
            Counters.Launch();
            rbmColumnKernel(cols, x.View, offset, rows, cols, split, sums.View, scaleFirst);
        }
    }

    public void RbmUpdateWeights(DeviceBuffer<float> weights, DeviceBuffer<float> velocity, DeviceBuffer<float> gradient, DeviceBuffer<float> visibleSums, DeviceBuffer<float> q, in RbmUpdateArgs args)
    {
        using var scope = Enter();
        rbmWeightsKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RbmUpdateArgs>(RbmKernels.UpdateWeightsKernel);
        Counters.Launch();
        rbmWeightsKernel(args.Visible * args.Hidden, weights.View, velocity.View, gradient.View, visibleSums.View, q.View, args);
    }

    public void RbmUpdateBias(DeviceBuffer<float> bias, DeviceBuffer<float> velocity, DeviceBuffer<float> sums, DeviceBuffer<float> q, int n, bool hidden, in RbmUpdateArgs args)
    {
        using var scope = Enter();
        rbmBiasKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, RbmUpdateArgs>(RbmKernels.UpdateBiasKernel);
        Counters.Launch();
        rbmBiasKernel(n, bias.View, velocity.View, sums.View, q.View, n, hidden ? 1 : 0, args);
    }

    public void RbmFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> visibleBias, DeviceBuffer<float> result, int rows, int nv, int nh)
    {
        using var scope = Enter();
        rbmFreeEnergyKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(RbmKernels.FreeEnergyKernel);
        if (rows > 0)
        {
            Counters.Launch();
            rbmFreeEnergyKernel(rows, v.View, act.View, visibleBias.View, result.View, nv, nh);
        }
    }

    public void RbmSquaredError(DeviceBuffer<float> v, DeviceBuffer<float> p, DeviceBuffer<float> result, int rows, int cols)
    {
        using var scope = Enter();
        rbmSquaredErrorKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(RbmKernels.SquaredErrorKernel);
        if (rows > 0)
        {
            Counters.Launch();
            rbmSquaredErrorKernel(rows, v.View, p.View, result.View, cols);
        }
    }

    public void RbmFlipFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> weights, DeviceBuffer<float> visibleBias, DeviceBuffer<int> flips, DeviceBuffer<float> result, int pairs, int nv, int nh, bool allBits)
    {
        using var scope = Enter();
        rbmFlipKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(RbmKernels.FlipFreeEnergyKernel);
        if (pairs > 0)
        {
            Counters.Launch();
            rbmFlipKernel(pairs, v.View, act.View, weights.View, visibleBias.View, flips.View, result.View, nv, nh, allBits ? 1 : 0);
        }
    }
}
