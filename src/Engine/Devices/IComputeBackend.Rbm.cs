using InfoGpu.Kernels;

namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>Model and data column sums of a stacked block (model rows first), then the model rows scaled in place (RbmKernels.ColumnStatisticsKernel).</summary>
    void RbmColumnStatistics(DeviceBuffer<float> x, long offset, int rows, int cols, int split, DeviceBuffer<float> sums, float scaleFirst);

    /// <summary>
    /// The momentum update of every parameter (one launch on the ILGPU kinds): the hidden biases
    /// and the running mean q from the hidden column sums, the visible biases from the visible
    /// column sums, then W from the correlation difference, weight decay and the sparsity term
    /// with the new q (RbmKernels.UpdateKernel).
    /// </summary>
    void RbmUpdate(DeviceBuffer<float> weights, DeviceBuffer<float> weightVelocity, DeviceBuffer<float> gradient, DeviceBuffer<float> visibleBias, DeviceBuffer<float> visibleVelocity, DeviceBuffer<float> visibleSums, DeviceBuffer<float> hiddenBias, DeviceBuffer<float> hiddenVelocity, DeviceBuffer<float> hiddenSums, DeviceBuffer<float> q, in RbmUpdateArgs args);

    /// <summary>result[r] = -b.v_r - sum_j softplus(act[r, j]) for rows rows.</summary>
    void RbmFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> visibleBias, DeviceBuffer<float> result, int rows, int nv, int nh);

    /// <summary>result[r] = sum_i (v[r, i] - p[r, i])^2.</summary>
    void RbmSquaredError(DeviceBuffer<float> v, DeviceBuffer<float> p, DeviceBuffer<float> result, int rows, int cols);

    /// <summary>F(v with one bit flipped) - F(v) for each pair (see RbmKernels.FlipFreeEnergyKernel).</summary>
    void RbmFlipFreeEnergy(DeviceBuffer<float> v, DeviceBuffer<float> act, DeviceBuffer<float> weights, DeviceBuffer<float> visibleBias, DeviceBuffer<int> flips, DeviceBuffer<float> result, int pairs, int nv, int nh, bool allBits);
}
