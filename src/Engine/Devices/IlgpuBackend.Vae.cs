using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, ulong, ulong, long>? vaeReparameterize;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? vaeReparameterizeBackward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int>? vaeKl;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? vaeLatentLogWeight;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? vaeCrossEntropy;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? vaeReluBackward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, int, int>? vaeColumnSums;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamArgs>? vaeAdam;

    public void VaeReparameterize(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> z, int rows, int latent, int repeat, ulong seed, ulong stream, long offset)
    {
        using var scope = Enter();
        vaeReparameterize ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, ulong, ulong, long>(VaeKernels.ReparameterizeKernel);
        if (rows > 0 && latent > 0)
        {
            Counters.Launch();
            vaeReparameterize(rows * latent, stats.View, eps.View, z.View, latent, repeat, seed, stream, offset);
        }
    }

    public void VaeReparameterizeBackward(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> dz, DeviceBuffer<float> dstats, int rows, int latent, float beta)
    {
        using var scope = Enter();
        vaeReparameterizeBackward ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(VaeKernels.ReparameterizeBackwardKernel);
        if (rows > 0 && latent > 0)
        {
            Counters.Launch();
            vaeReparameterizeBackward(rows * latent, stats.View, eps.View, dz.View, dstats.View, latent, beta);
        }
    }

    public void VaeKl(DeviceBuffer<float> stats, DeviceBuffer<float> kl, int rows, int latent)
    {
        using var scope = Enter();
        vaeKl ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(VaeKernels.KlKernel);
        if (rows > 0)
        {
            Counters.Launch();
            vaeKl(rows, stats.View, kl.View, latent);
        }
    }

    public void VaeLatentLogWeight(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> z, DeviceBuffer<float> result, int rows, int latent, int repeat)
    {
        using var scope = Enter();
        vaeLatentLogWeight ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(VaeKernels.LatentLogWeightKernel);
        if (rows > 0)
        {
            Counters.Launch();
            vaeLatentLogWeight(rows, stats.View, eps.View, z.View, result.View, latent, repeat);
        }
    }

    public void VaeCrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<float> x, DeviceBuffer<float> losses, int rows, int cols, int repeat, bool gradient)
    {
        using var scope = Enter();
        vaeCrossEntropy ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(VaeKernels.CrossEntropyKernel);
        if (rows > 0)
        {
            Counters.Launch();
            vaeCrossEntropy(rows, logits.View, x.View, losses.View, cols, repeat, gradient ? 1 : 0);
        }
    }

    public void VaeReluBackward(DeviceBuffer<float> dy, DeviceBuffer<float> y, DeviceBuffer<float> sums, int rows, int cols)
    {
        using var scope = Enter();
        vaeReluBackward ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(VaeKernels.ReluBackwardKernel);
        if (cols > 0)
        {
            Counters.Launch();
            vaeReluBackward(cols, dy.View, y.View, sums.View, rows, cols);
        }
    }

    public void VaeColumnSums(DeviceBuffer<float> x, DeviceBuffer<float> sums, int rows, int cols)
    {
        using var scope = Enter();
        vaeColumnSums ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(VaeKernels.ColumnSumsKernel);
        if (cols > 0)
        {
            Counters.Launch();
            vaeColumnSums(cols, x.View, sums.View, rows, cols);
        }
    }

    public void VaeAdam(DeviceBuffer<float> p, DeviceBuffer<float> g, DeviceBuffer<float> m, DeviceBuffer<float> v, in AdamArgs args)
    {
        using var scope = Enter();
        vaeAdam ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamArgs>(VaeKernels.AdamKernel);
        if (p.Length > 0)
        {
            Counters.Launch();
            vaeAdam((int)p.Length, p.View, g.View, m.View, v.View, args);
        }
    }
}
