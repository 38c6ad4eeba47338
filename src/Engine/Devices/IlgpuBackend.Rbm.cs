using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, long, int, int, int, ArrayView<float>, float, int>? rbmColumnKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, RbmUpdateArgs>? rbmUpdateKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>? rbmFreeEnergyKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? rbmSquaredErrorKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int>? rbmFlipKernel;

    public void RbmColumnStatistics(DeviceBuffer<float> x, long offset, int rows, int cols, int split, DeviceBuffer<float> sums, float scaleFirst)
    {
        using var scope = Enter();
        rbmColumnKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, long, int, int, int, ArrayView<float>, float, int>(RbmKernels.ColumnStatisticsKernel);
        if (cols > 0)
        {
            var (config, lanes) = ColumnTiles(cols);
            Counters.Launch();
            rbmColumnKernel(config, x.View, offset, rows, cols, split, sums.View, scaleFirst, lanes);
        }
    }

    public void RbmUpdate(DeviceBuffer<float> weights, DeviceBuffer<float> weightVelocity, DeviceBuffer<float> gradient, DeviceBuffer<float> visibleBias, DeviceBuffer<float> visibleVelocity, DeviceBuffer<float> visibleSums, DeviceBuffer<float> hiddenBias, DeviceBuffer<float> hiddenVelocity, DeviceBuffer<float> hiddenSums, DeviceBuffer<float> q, in RbmUpdateArgs args)
    {
        using var scope = Enter();
        rbmUpdateKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, RbmUpdateArgs>(RbmKernels.UpdateKernel);
        if (args.Visible <= 0 && args.Hidden <= 0)
            return;
        // Column tiles of the hidden units (with W's columns), then groups of visible biases.
        int lanes = Math.Min(RowGroupSize, ColumnTileWidth);
        long tiles = ((long)Math.Max(args.Hidden, 0) + lanes - 1) / lanes;
        long visibleGroups = ((long)Math.Max(args.Visible, 0) + RowGroupSize - 1) / RowGroupSize;
        Counters.Launch();
        rbmUpdateKernel(
            GroupConfig(tiles + visibleGroups), weights.View, weightVelocity.View, gradient.View,
            visibleBias.View, visibleVelocity.View, visibleSums.View, hiddenBias.View, hiddenVelocity.View, hiddenSums.View,
            q.View, lanes, (int)tiles, args);
    }

    public void RbmFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> visibleBias, DeviceBuffer<float> result, int rows, int nv, int nh)
    {
        using var scope = Enter();
        rbmFreeEnergyKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(RbmKernels.FreeEnergyKernel);
        if (rows > 0)
        {
            var (config, lanes) = RowBlocks(rows, Math.Max(nv, nh));
            Counters.Launch();
            rbmFreeEnergyKernel(config, v.View, act.View, visibleBias.View, result.View, rows, nv, nh, lanes);
        }
    }

    public void RbmSquaredError(DeviceBuffer<float> v, DeviceBuffer<float> p, DeviceBuffer<float> result, int rows, int cols)
    {
        using var scope = Enter();
        rbmSquaredErrorKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(RbmKernels.SquaredErrorKernel);
        if (rows > 0)
        {
            var (config, lanes) = RowBlocks(rows, cols);
            Counters.Launch();
            rbmSquaredErrorKernel(config, v.View, p.View, result.View, rows, cols, lanes);
        }
    }

    public void RbmFlipFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> weights, DeviceBuffer<float> visibleBias, DeviceBuffer<int> flips, DeviceBuffer<float> result, int pairs, int nv, int nh, bool allBits)
    {
        using var scope = Enter();
        rbmFlipKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int>(RbmKernels.FlipFreeEnergyKernel);
        if (pairs > 0)
        {
            var (config, lanes) = RowBlocks(pairs, nh);
            Counters.Launch();
            rbmFlipKernel(config, v.View, act.View, weights.View, visibleBias.View, flips.View, result.View, pairs, nv, nh, allBits ? 1 : 0, lanes);
        }
    }
}
