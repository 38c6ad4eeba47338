using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, ulong, ulong, long>? vaeReparameterize;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? vaeReparameterizeBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? vaeKl;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>? vaeLatentLogWeight;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>? vaeCrossEntropy;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? vaeReluBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? vaeColumnSums;
    private Action<Index1D, AdamTensors, AdamArgs>? vaeAdam;

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
        vaeKl ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(VaeKernels.KlKernel);
        if (rows > 0)
        {
            var (config, lanes) = RowBlocks(rows, latent);
            Counters.Launch();
            vaeKl(config, stats.View, kl.View, rows, latent, lanes);
        }
    }

    public void VaeLatentLogWeight(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> z, DeviceBuffer<float> result, int rows, int latent, int repeat)
    {
        using var scope = Enter();
        vaeLatentLogWeight ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(VaeKernels.LatentLogWeightKernel);
        if (rows > 0)
        {
            var (config, lanes) = RowBlocks(rows, latent);
            Counters.Launch();
            vaeLatentLogWeight(config, stats.View, eps.View, z.View, result.View, rows, latent, repeat, lanes);
        }
    }

    public void VaeCrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<float> x, DeviceBuffer<float> losses, int rows, int cols, int repeat, bool gradient)
    {
        using var scope = Enter();
        vaeCrossEntropy ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(VaeKernels.CrossEntropyKernel);
        if (rows > 0)
        {
            var (config, lanes) = RowBlocks(rows, cols);
            Counters.Launch();
            vaeCrossEntropy(config, logits.View, x.View, losses.View, rows, cols, repeat, gradient ? 1 : 0, lanes);
        }
    }

    public void VaeReluBackward(DeviceBuffer<float> dy, DeviceBuffer<float> y, DeviceBuffer<float> sums, int rows, int cols)
    {
        using var scope = Enter();
        vaeReluBackward ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(VaeKernels.ReluBackwardKernel);
        if (cols > 0)
        {
            var (config, lanes) = ColumnTiles(cols);
            Counters.Launch();
            vaeReluBackward(config, dy.View, y.View, sums.View, rows, cols, lanes);
        }
    }

    public void VaeColumnSums(DeviceBuffer<float> x, DeviceBuffer<float> sums, int rows, int cols)
    {
        using var scope = Enter();
        vaeColumnSums ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(VaeKernels.ColumnSumsKernel);
        if (cols > 0)
        {
            var (config, lanes) = ColumnTiles(cols);
            Counters.Launch();
            vaeColumnSums(config, x.View, sums.View, rows, cols, lanes);
        }
    }

    public void VaeAdam(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v, in AdamArgs args)
    {
        AdamTensorsCheck.Check(p, g, m, v);
        using var scope = Enter();
        vaeAdam ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, AdamTensors, AdamArgs>(VaeKernels.AdamKernel);
        for (int t = 0; NextAdamLaunch(p, g, m, v, ref t, out var slots, out int end);)
        {
            Counters.Launch();
            vaeAdam(end, slots, args);
        }
    }

    /// <summary>
    /// The next launch of the tensors from <paramref name="t"/> on, packed up to
    /// <see cref="AdamTensors.Slots"/> at a time (the VAE's eight fit one): slot k covers elements
    /// [End_{k-1}, End_k) of a launch over [0, <paramref name="end"/>), within int indices. False when
    /// no tensor is left. Allocates nothing (it runs in every training step).
    /// </summary>
    private static bool NextAdamLaunch(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v, ref int t, out AdamTensors slots, out int end)
    {
        while (t < p.Count)
        {
            slots = default;
            long total = 0;
            int k = 0;
            for (; k < AdamTensors.Slots && t < p.Count && total + p[t].Length <= int.MaxValue; k++, t++)
            {
                total += p[t].Length;
                slots.Set(k, p[t].View, g[t].View, m[t].View, v[t].View, total);
            }
            if (k == 0)
                throw new ArgumentOutOfRangeException(nameof(p), "a tensor of more than 2^31 - 1 elements");
            for (int e = k; e < AdamTensors.Slots; e++)
                slots.Set(e, p[t - 1].View, g[t - 1].View, m[t - 1].View, v[t - 1].View, total);
            if (total > 0)
            {
                end = (int)total;
                return true;
            }
        }
        slots = default;
        end = 0;
        return false;
    }
}

/// <summary>The argument check of both backends' VaeAdam.</summary>
internal static class AdamTensorsCheck
{
    /// <summary>Throws unless the four lists have one tensor each of equal lengths.</summary>
    public static void Check(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v)
    {
        if (g.Count != p.Count || m.Count != p.Count || v.Count != p.Count)
            throw new ArgumentException($"Adam: {p.Count} parameter tensors, {g.Count} gradients, {m.Count} and {v.Count} moments");
        for (int t = 0; t < p.Count; t++)
        {
            if (g[t].Length != p[t].Length || m[t].Length != p[t].Length || v[t].Length != p[t].Length)
                throw new ArgumentException($"Adam: tensor {t} has {p[t].Length} parameters, {g[t].Length} gradients, {m[t].Length} and {v[t].Length} moments");
        }
    }

    /// <summary>Throws unless every stacked tensor splits into <paramref name="models"/> equal blocks.</summary>
    public static void CheckStacked(IReadOnlyList<DeviceBuffer<float>> p, int models)
    {
        if (models < 1)
            throw new ArgumentOutOfRangeException(nameof(models), models, "at least one model");
        for (int t = 0; t < p.Count; t++)
        {
            if (p[t].Length % models != 0)
                throw new ArgumentException($"Adam: stacked tensor {t} has {p[t].Length} values, not a multiple of {models} models");
        }
    }
}
