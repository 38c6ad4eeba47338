using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

/// <summary>The VAE grid operations on <c>cpu</c>: one counted launch that runs the single-model kernels model after model, at the models' offsets (so each model has the bits it has alone).</summary>
internal sealed partial class CpuBackend
{
    public unsafe void VaeReparameterizeBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> eps, DeviceBuffer<float> z, long zStride, int rows, int latent, DeviceBuffer<ulong> seeds, ulong stream, long offset, int models)
    {
        Counters.Launch();
        var seed = seeds.HostArray!;
        fixed (float* s = stats.HostArray, e = eps.HostArray, zz = z.HostArray)
        {
            for (int m = 0; m < models; m++)
                CpuVaeKernels.Reparameterize(s + (m * statsStride), e + (m * zStride), zz + (m * zStride), rows, latent, 1, seed[m], stream, offset);
        }
    }

    public unsafe void VaeReparameterizeBackwardBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> eps, DeviceBuffer<float> dz, long zStride, DeviceBuffer<float> dstats, int rows, int latent, DeviceBuffer<float> betas, int models)
    {
        Counters.Launch();
        var beta = betas.HostArray!;
        fixed (float* s = stats.HostArray, e = eps.HostArray, d = dz.HostArray, ds = dstats.HostArray)
        {
            for (int m = 0; m < models; m++)
                CpuVaeKernels.ReparameterizeBackward(s + (m * statsStride), e + (m * zStride), d + (m * zStride), ds + (m * statsStride), rows, latent, beta[m]);
        }
    }

    public unsafe void VaeKlBatched(DeviceBuffer<float> stats, long statsStride, DeviceBuffer<float> kl, long klOffset, long klStride, int rows, int latent, int models)
    {
        Counters.Launch();
        fixed (float* s = stats.HostArray, k = kl.HostArray)
        {
            for (int m = 0; m < models; m++)
                CpuVaeKernels.Kl(s + (m * statsStride), k + klOffset + (m * klStride), rows, latent);
        }
    }

    public unsafe void VaeCrossEntropyBatched(DeviceBuffer<float> logits, DeviceBuffer<float> x, long stride, DeviceBuffer<float> losses, long lossOffset, long lossStride, int rows, int cols, int models)
    {
        Counters.Launch();
        fixed (float* l = logits.HostArray, xx = x.HostArray, o = losses.HostArray)
        {
            for (int m = 0; m < models; m++)
                CpuVaeKernels.CrossEntropy(l + (m * stride), xx + (m * stride), o + lossOffset + (m * lossStride), rows, cols, 1, true);
        }
    }

    public unsafe void VaeReluBackwardBatched(DeviceBuffer<float> dy, DeviceBuffer<float> y, long stride, DeviceBuffer<float> sums, int rows, int cols, int models)
    {
        Counters.Launch();
        fixed (float* d = dy.HostArray, yy = y.HostArray, s = sums.HostArray)
        {
            for (int m = 0; m < models; m++)
                CpuVaeKernels.ReluBackward(d + (m * stride), yy + (m * stride), s + ((long)m * cols), rows, cols);
        }
    }

    public unsafe void VaeColumnSumsBatched(DeviceBuffer<float> x, long stride, DeviceBuffer<float> sums, int rows, int cols, int models)
    {
        Counters.Launch();
        fixed (float* xx = x.HostArray, s = sums.HostArray)
        {
            for (int m = 0; m < models; m++)
                CpuVaeKernels.ColumnSums(xx + (m * stride), s + ((long)m * cols), rows, cols);
        }
    }

    public unsafe void VaeAdamBatched(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v, DeviceBuffer<float> stepSizes, long offset, long stride, in AdamArgs shared, int models)
    {
        AdamTensorsCheck.Check(p, g, m, v);
        AdamTensorsCheck.CheckStacked(p, models);
        Counters.Launch();
        var sizes = stepSizes.HostArray!;
        for (int z = 0; z < models; z++)
        {
            var args = shared;
            args.StepSize = sizes[offset + (z * stride)];
            for (int t = 0; t < p.Count; t++)
            {
                long n = p[t].Length / models, at = z * n;
                fixed (float* pp = p[t].HostArray, gg = g[t].HostArray, mm = m[t].HostArray, vv = v[t].HostArray)
                    CpuVaeKernels.Adam(pp + at, gg + at, mm + at, vv + at, n, args);
            }
        }
    }
}
