using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

/// <summary>The grid operations on <c>cpu</c>: one counted launch that runs the single-model kernels model after model, at the models' offsets (so each model has the bits it has alone).</summary>
internal sealed partial class CpuBackend
{
    public void GatherRowsBatched(DeviceBuffer<float> src, DeviceBuffer<int> order, DeviceBuffer<float> dst, int start, int count, int cols, long dstOffset, long dstStride, long orderStride, int models)
    {
        Counters.Launch();
        for (int z = 0; z < models; z++)
            CpuRowKernels.GatherRows(src.Span, order.Span[(int)(z * orderStride)..], dst.Span, start, count, cols, dstOffset + (z * dstStride));
    }

    public void RbmColumnStatisticsBatched(DeviceBuffer<float> x, long offset, long xStride, int rows, int cols, int split, DeviceBuffer<float> sums, long sumsStride, float scaleFirst, int models)
    {
        Counters.Launch();
        for (int z = 0; z < models; z++)
            CpuRbmKernels.ColumnStatistics(x.Span, offset + (z * xStride), rows, cols, split, sums.Span.Slice((int)(z * sumsStride), 2 * cols), scaleFirst);
    }

    public void RbmUpdateBatched(DeviceBuffer<float> weights, DeviceBuffer<float> weightVelocity, DeviceBuffer<float> gradient, DeviceBuffer<float> visibleBias, DeviceBuffer<float> visibleVelocity, DeviceBuffer<float> visibleSums, DeviceBuffer<float> hiddenBias, DeviceBuffer<float> hiddenVelocity, DeviceBuffer<float> hiddenSums, DeviceBuffer<float> q, DeviceBuffer<RbmUpdateArgs> perModel, in RbmUpdateArgs shared, int models)
    {
        Counters.Launch();
        int nv = shared.Visible, nh = shared.Hidden, nw = nv * nh;
        for (int z = 0; z < models; z++)
        {
            var u = RbmMath.ForModel(shared, perModel.Span[z]);
            var qz = q.Span.Slice(z * nh, nh);
            var visibleSumsZ = visibleSums.Span.Slice(2 * z * nv, 2 * nv);
            CpuRbmKernels.UpdateBias(hiddenBias.Span.Slice(z * nh, nh), hiddenVelocity.Span.Slice(z * nh, nh), hiddenSums.Span.Slice(2 * z * nh, 2 * nh), qz, nh, true, u);
            CpuRbmKernels.UpdateBias(visibleBias.Span.Slice(z * nv, nv), visibleVelocity.Span.Slice(z * nv, nv), visibleSumsZ, qz, nv, false, u);
            CpuRbmKernels.UpdateWeights(weights.Span.Slice(z * nw, nw), weightVelocity.Span.Slice(z * nw, nw), gradient.Span.Slice(z * nw, nw), visibleSumsZ, qz, u);
        }
    }
}
