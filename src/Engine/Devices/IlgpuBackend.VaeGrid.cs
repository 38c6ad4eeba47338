using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

/// <summary>The VAE grid operations on the ILGPU kinds: one launch each, the models along the grid's second dimension (the single-model launch's groups, repeated per model).</summary>
internal sealed partial class IlgpuBackend
{
    private Action<Index2D, ArrayView<float>, long, ArrayView<float>, ArrayView<float>, long, int, ArrayView<ulong>, ulong, long>? vaeReparameterizeBatched;
    private Action<Index2D, ArrayView<float>, long, ArrayView<float>, ArrayView<float>, long, ArrayView<float>, int, ArrayView<float>>? vaeReparameterizeBackwardBatched;
    private Action<KernelConfig, ArrayView<float>, long, ArrayView<float>, long, long, int, int, int>? vaeKlBatched;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, long, ArrayView<float>, long, long, int, int, int>? vaeCrossEntropyBatched;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, long, ArrayView<float>, int, int, int>? vaeReluBackwardBatched;
    private Action<KernelConfig, ArrayView<float>, long, ArrayView<float>, int, int, int>? vaeColumnSumsBatched;
    private Action<Index1D, AdamTensors, AdamArgs, ArrayView<float>, long, long, int>? vaeAdamBatched;

    public void VaeReparameterizeBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> eps, DeviceBuffer<float> z, long zStride, int rows, int latent, DeviceBuffer<ulong> seeds, ulong stream, long offset, int models)
    {
        using var scope = Enter();
        vaeReparameterizeBatched ??= Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<float>, ArrayView<float>, long, int, ArrayView<ulong>, ulong, long>(VaeGridKernels.ReparameterizeBatchedKernel);
        if (rows > 0 && latent > 0 && models > 0)
        {
            Counters.Launch();
            vaeReparameterizeBatched(new Index2D(rows * latent, models), stats.View, statsStride, eps.View, z.View, zStride, latent, seeds.View, stream, offset);
        }
    }

    public void VaeReparameterizeBackwardBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> eps, DeviceBuffer<float> dz, long zStride, DeviceBuffer<float> dstats, int rows, int latent, DeviceBuffer<float> betas, int models)
    {
        using var scope = Enter();
        vaeReparameterizeBackwardBatched ??= Accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, long, ArrayView<float>, ArrayView<float>, long, ArrayView<float>, int, ArrayView<float>>(VaeGridKernels.ReparameterizeBackwardBatchedKernel);
        if (rows > 0 && latent > 0 && models > 0)
        {
            Counters.Launch();
            vaeReparameterizeBackwardBatched(new Index2D(rows * latent, models), stats.View, statsStride, eps.View, dz.View, zStride, dstats.View, latent, betas.View);
        }
    }

    public void VaeKlBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> kl, long klOffset, long klStride, int rows, int latent, int models)
    {
        using var scope = Enter();
        vaeKlBatched ??= Accelerator.LoadStreamKernel<ArrayView<float>, long, ArrayView<float>, long, long, int, int, int>(VaeGridKernels.KlBatchedKernel);
        if (rows > 0 && models > 0)
        {
            var (config, lanes) = RowBlocks(rows, latent);
            Counters.Launch();
            vaeKlBatched(ForModels(config, models), stats.View, statsStride, kl.View, klOffset, klStride, rows, latent, lanes);
        }
    }

    public void VaeCrossEntropyBatched(DeviceBuffer<float> logits, DeviceBuffer<float> x, long stride, DeviceBuffer<float> losses, long lossOffset, long lossStride, int rows, int cols, int models)
    {
        using var scope = Enter();
        vaeCrossEntropyBatched ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, long, ArrayView<float>, long, long, int, int, int>(VaeGridKernels.CrossEntropyBatchedKernel);
        if (rows > 0 && models > 0)
        {
            var (config, lanes) = RowBlocks(rows, cols);
            Counters.Launch();
            vaeCrossEntropyBatched(ForModels(config, models), logits.View, x.View, stride, losses.View, lossOffset, lossStride, rows, cols, lanes);
        }
    }

    public void VaeReluBackwardBatched(DeviceBuffer<float> dy, DeviceBuffer<float> y, long stride, DeviceBuffer<float> sums, int rows, int cols, int models)
    {
        using var scope = Enter();
        vaeReluBackwardBatched ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, long, ArrayView<float>, int, int, int>(VaeGridKernels.ReluBackwardBatchedKernel);
        if (cols > 0 && models > 0)
        {
            var (config, lanes) = ColumnTiles(cols);
            Counters.Launch();
            vaeReluBackwardBatched(ForModels(config, models), dy.View, y.View, stride, sums.View, rows, cols, lanes);
        }
    }

    public void VaeColumnSumsBatched(DeviceBuffer<float> x, long stride, DeviceBuffer<float> sums, int rows, int cols, int models)
    {
        using var scope = Enter();
        vaeColumnSumsBatched ??= Accelerator.LoadStreamKernel<ArrayView<float>, long, ArrayView<float>, int, int, int>(VaeGridKernels.ColumnSumsBatchedKernel);
        if (cols > 0 && models > 0)
        {
            var (config, lanes) = ColumnTiles(cols);
            Counters.Launch();
            vaeColumnSumsBatched(ForModels(config, models), x.View, stride, sums.View, rows, cols, lanes);
        }
    }

    public void VaeAdamBatched(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v, DeviceBuffer<float> stepSizes, long offset, long stride, in AdamArgs shared, int models)
    {
        AdamTensorsCheck.Check(p, g, m, v);
        AdamTensorsCheck.CheckStacked(p, models);
        using var scope = Enter();
        vaeAdamBatched ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, AdamTensors, AdamArgs, ArrayView<float>, long, long, int>(VaeGridKernels.AdamBatchedKernel);
        // As VaeAdam: one launch per eight stacked tensors (the VAE has eight), within int indices.
        for (int t = 0; NextAdamLaunch(p, g, m, v, ref t, out var slots, out int end);)
        {
            Counters.Launch();
            vaeAdamBatched(end, slots, shared, stepSizes.View, offset, stride, models);
        }
    }
}
