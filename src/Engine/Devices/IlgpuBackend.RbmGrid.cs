using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

/// <summary>The grid operations on the ILGPU kinds: one launch each, the models along the grid's second dimension.</summary>
internal sealed partial class IlgpuBackend
{
    private Action<Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, long, long, long>? gatherBatchedKernel;
    private Action<KernelConfig, ArrayView<float>, long, long, int, int, int, ArrayView<float>, long, float, int>? rbmColumnBatchedKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<RbmUpdateArgs>, int, int, RbmUpdateArgs>? rbmUpdateBatchedKernel;

    public void GatherRowsBatched(DeviceBuffer<float> src, DeviceBuffer<int> order, DeviceBuffer<float> dst, int start, int count, int cols, long dstOffset, long dstStride, long orderStride, int models)
    {
        using var scope = Enter();
        gatherBatchedKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, long, long, long>(RowKernels.GatherRowsBatchedKernel);
        if (count > 0 && cols > 0 && models > 0)
        {
            Counters.Launch();
            gatherBatchedKernel(new Index2D(count * cols, models), src.View, order.View, dst.View, start, cols, dstOffset, dstStride, orderStride);
        }
    }

    public void RbmColumnStatisticsBatched(DeviceBuffer<float> x, long offset, long xStride, int rows, int cols, int split, DeviceBuffer<float> sums, long sumsStride, float scaleFirst, int models)
    {
        using var scope = Enter();
        rbmColumnBatchedKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, long, long, int, int, int, ArrayView<float>, long, float, int>(RbmKernels.ColumnStatisticsBatchedKernel);
        if (cols > 0 && models > 0)
        {
            var (config, lanes) = ColumnTiles(cols);
            Counters.Launch();
            rbmColumnBatchedKernel(ForModels(config, models), x.View, offset, xStride, rows, cols, split, sums.View, sumsStride, scaleFirst, lanes);
        }
    }

    public void RbmUpdateBatched(DeviceBuffer<float> weights, DeviceBuffer<float> weightVelocity, DeviceBuffer<float> gradient, DeviceBuffer<float> visibleBias, DeviceBuffer<float> visibleVelocity, DeviceBuffer<float> visibleSums, DeviceBuffer<float> hiddenBias, DeviceBuffer<float> hiddenVelocity, DeviceBuffer<float> hiddenSums, DeviceBuffer<float> q, DeviceBuffer<RbmUpdateArgs> perModel, in RbmUpdateArgs shared, int models)
    {
        using var scope = Enter();
        rbmUpdateBatchedKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<RbmUpdateArgs>, int, int, RbmUpdateArgs>(RbmKernels.UpdateBatchedKernel);
        if ((shared.Visible <= 0 && shared.Hidden <= 0) || models <= 0)
            return;
        // The single-model launch's shape (column tiles of the hidden units, then groups of visible biases), once per model.
        int lanes = Math.Min(RowGroupSize, ColumnTileWidth);
        long tiles = ((long)Math.Max(shared.Hidden, 0) + lanes - 1) / lanes;
        long visibleGroups = ((long)Math.Max(shared.Visible, 0) + RowGroupSize - 1) / RowGroupSize;
        Counters.Launch();
        rbmUpdateBatchedKernel(
            ForModels(GroupConfig(tiles + visibleGroups), models), weights.View, weightVelocity.View, gradient.View,
            visibleBias.View, visibleVelocity.View, visibleSums.View, hiddenBias.View, hiddenVelocity.View, hiddenSums.View,
            q.View, perModel.View, lanes, (int)tiles, shared);
    }

    /// <summary>A one-dimensional group launch repeated for each model along the grid's second dimension (same groups, same shared memory).</summary>
    private static KernelConfig ForModels(KernelConfig config, int models) =>
        new(new Index3D(config.GridDim.X, models, 1), new Index3D(config.GroupDim.X, 1, 1), config.SharedMemoryConfig);
}
