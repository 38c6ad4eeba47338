using InfoGpu.Kernels;

namespace InfoGpu.Devices;

/// <summary>
/// The operations of a grid of VAEs stepped together (Variational.VaeTrainer.GridStepper): each is
/// one launch for all M models, whose buffers are stacked one model after another (model z's
/// block of a buffer starts z times its stride after model 0's), and gives every model the
/// arithmetic of the single-model operation (on <c>cpu</c> its bits: the same kernel, model after model).
/// </summary>
internal partial interface IComputeBackend
{
    /// <summary>
    /// <see cref="VaeReparameterize"/> (repeat 1) for <paramref name="models"/> models: model z's
    /// statistics at z statsStride, its eps and z at z zStride, its draws keyed by seeds[z] from
    /// the common <paramref name="offset"/>.
    /// </summary>
    void VaeReparameterizeBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> eps, DeviceBuffer<float> z, long zStride, int rows, int latent, DeviceBuffer<ulong> seeds, ulong stream, long offset, int models);

    /// <summary><see cref="VaeReparameterizeBackward"/> for <paramref name="models"/> models, model z with the KL weight betas[z].</summary>
    void VaeReparameterizeBackwardBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> eps, DeviceBuffer<float> dz, long zStride, DeviceBuffer<float> dstats, int rows, int latent, DeviceBuffer<float> betas, int models);

    /// <summary><see cref="VaeKl"/> for <paramref name="models"/> models: model z's row r into kl[klOffset + z klStride + r].</summary>
    void VaeKlBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> kl, long klOffset, long klStride, int rows, int latent, int models);

    /// <summary>
    /// <see cref="VaeCrossEntropy"/> (repeat 1, with the gradient) for <paramref name="models"/>
    /// models: model z's logits and targets at z stride, its row r's loss into losses[lossOffset + z lossStride + r].
    /// </summary>
    void VaeCrossEntropyBatched(DeviceBuffer<float> logits, DeviceBuffer<float> x, long stride, DeviceBuffer<float> losses, long lossOffset, long lossStride, int rows, int cols, int models);

    /// <summary><see cref="VaeReluBackward"/> for <paramref name="models"/> models: dy and y at z stride, sums at z cols.</summary>
    void VaeReluBackwardBatched(DeviceBuffer<float> dy, DeviceBuffer<float> y, long stride, DeviceBuffer<float> sums, int rows, int cols, int models);

    /// <summary><see cref="VaeColumnSums"/> for <paramref name="models"/> models: x at z stride, sums at z cols.</summary>
    void VaeColumnSumsBatched(DeviceBuffer<float> x, long stride, DeviceBuffer<float> sums, int rows, int cols, int models);

    /// <summary>
    /// <see cref="VaeAdam"/> for <paramref name="models"/> models whose tensors are stacked (p[t]
    /// holds the M blocks of tensor t, each p[t].Length / M values): model z steps with
    /// StepSize = stepSizes[offset + z stride] (lr / (1 - beta1^t), computed on the host in float64
    /// as the single trainer does, so no float64 runs on the device) and the other settings of
    /// <paramref name="shared"/>.
    /// </summary>
    void VaeAdamBatched(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v, DeviceBuffer<float> stepSizes, long offset, long stride, in AdamArgs shared, int models);
}
