using InfoGpu.Kernels;

namespace InfoGpu.Devices;

/// <summary>
/// The operations of a grid of RBMs stepped together (Restricted.RbmTrainer.GridStepper): each is
/// one launch for all M models, whose buffers are stacked one model after another, and gives
/// every model the bits of the single-model operation.
/// </summary>
internal partial interface IComputeBackend
{
    /// <summary>
    /// <see cref="GatherRows"/> for <paramref name="models"/> models at once: model z's rows
    /// order[z orderStride + start ..] of the shared <paramref name="src"/> go to dst from
    /// dstOffset + z dstStride.
    /// </summary>
    void GatherRowsBatched(DeviceBuffer<float> src, DeviceBuffer<int> order, DeviceBuffer<float> dst, int start, int count, int cols, long dstOffset, long dstStride, long orderStride, int models);

    /// <summary>
    /// <see cref="RbmColumnStatistics"/> for <paramref name="models"/> models at once: model z's
    /// block starts at offset + z xStride and its sums (2 cols values) at z sumsStride.
    /// </summary>
    void RbmColumnStatisticsBatched(DeviceBuffer<float> x, long offset, long xStride, int rows, int cols, int split, DeviceBuffer<float> sums, long sumsStride, float scaleFirst, int models);

    /// <summary>
    /// <see cref="RbmUpdate"/> for <paramref name="models"/> models with stacked parameters (model
    /// z's W, velocity and gradient the z-th blocks of nv x nh values, biases, velocities and q the
    /// z-th blocks of nv and nh, column sums the z-th blocks of 2 nv and 2 nh); the sizes and batch
    /// scales come from <paramref name="shared"/>, the learning rate, momentum, weight decay and
    /// sparsity settings from perModel[z] on the device (RbmKernels.UpdateBatchedKernel).
    /// </summary>
    void RbmUpdateBatched(DeviceBuffer<float> weights, DeviceBuffer<float> weightVelocity, DeviceBuffer<float> gradient, DeviceBuffer<float> visibleBias, DeviceBuffer<float> visibleVelocity, DeviceBuffer<float> visibleSums, DeviceBuffer<float> hiddenBias, DeviceBuffer<float> hiddenVelocity, DeviceBuffer<float> hiddenSums, DeviceBuffer<float> q, DeviceBuffer<RbmUpdateArgs> perModel, in RbmUpdateArgs shared, int models);
}
