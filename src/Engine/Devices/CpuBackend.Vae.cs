using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public unsafe void VaeReparameterize(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> z, int rows, int latent, int repeat, ulong seed, ulong stream, long offset)
    {
        Counters.Launch();
        fixed (float* s = stats.HostArray, e = eps.HostArray, zz = z.HostArray)
            CpuVaeKernels.Reparameterize(s, e, zz, rows, latent, repeat, seed, stream, offset);
    }

    public unsafe void VaeReparameterizeBackward(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> dz, DeviceBuffer<float> dstats, int rows, int latent, float beta)
    {
        Counters.Launch();
        fixed (float* s = stats.HostArray, e = eps.HostArray, d = dz.HostArray, ds = dstats.HostArray)
            CpuVaeKernels.ReparameterizeBackward(s, e, d, ds, rows, latent, beta);
    }

    public unsafe void VaeKl(DeviceBuffer<float> stats, DeviceBuffer<float> kl, int rows, int latent)
    {
        Counters.Launch();
        fixed (float* s = stats.HostArray, k = kl.HostArray)
            CpuVaeKernels.Kl(s, k, rows, latent);
    }

    public unsafe void VaeLatentLogWeight(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> z, DeviceBuffer<float> result, int rows, int latent, int repeat)
    {
        Counters.Launch();
        fixed (float* s = stats.HostArray, e = eps.HostArray, zz = z.HostArray, r = result.HostArray)
            CpuVaeKernels.LatentLogWeight(s, e, zz, r, rows, latent, repeat);
    }

    public unsafe void VaeCrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<float> x, DeviceBuffer<float> losses, int rows, int cols, int repeat, bool gradient)
    {
        Counters.Launch();
        fixed (float* l = logits.HostArray, xx = x.HostArray, o = losses.HostArray)
            CpuVaeKernels.CrossEntropy(l, xx, o, rows, cols, repeat, gradient);
    }

    public unsafe void VaeReluBackward(DeviceBuffer<float> dy, DeviceBuffer<float> y, DeviceBuffer<float> sums, int rows, int cols)
    {
        Counters.Launch();
        fixed (float* d = dy.HostArray, yy = y.HostArray, s = sums.HostArray)
            CpuVaeKernels.ReluBackward(d, yy, s, rows, cols);
    }

    public unsafe void VaeColumnSums(DeviceBuffer<float> x, DeviceBuffer<float> sums, int rows, int cols)
    {
        Counters.Launch();
        fixed (float* xx = x.HostArray, s = sums.HostArray)
            CpuVaeKernels.ColumnSums(xx, s, rows, cols);
    }

    public unsafe void VaeAdam(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v, in AdamArgs args)
    {
        AdamTensorsCheck.Check(p, g, m, v);
        Counters.Launch();
        for (int t = 0; t < p.Count; t++)
        {
            fixed (float* pp = p[t].HostArray, gg = g[t].HostArray, mm = m[t].HostArray, vv = v[t].HostArray)
                CpuVaeKernels.Adam(pp, gg, mm, vv, p[t].Length, args);
        }
    }
}
