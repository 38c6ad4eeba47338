using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public void ClassNeighborCounts(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, Span<int> counts, int features, int samples)
    {
        var v = values.ToArray();
        var l = labels.ToArray();
        var kk = k.ToArray();
        var c = new int[counts.Length];
        Parallel.For(0, features, f =>
            CpuNeighborKernels.ClassCountsBrute(v.AsSpan(f * samples, samples), l, kk, c.AsSpan(f * samples, samples)));
        c.CopyTo(counts);
    }

    public void JointNeighborCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny, int features, int samples)
    {
        var xs = x.ToArray();
        var ys = y.ToArray();
        var cx = new int[nx.Length];
        var cy = new int[ny.Length];
        Parallel.For(0, features, f =>
            CpuNeighborKernels.JointCountsBrute(xs.AsSpan(f * samples, samples), ys, k, cx.AsSpan(f * samples, samples), cy.AsSpan(f * samples, samples)));
        cx.CopyTo(nx);
        cy.CopyTo(ny);
    }
}
