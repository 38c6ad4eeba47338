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

    public void ClassNeighborDigammaSums(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples)
    {
        var counts = new int[(long)features * samples];
        ClassNeighborCounts(values, labels, k, counts, features, samples);
        for (int f = 0; f < features; f++)
        {
            double sum = 0;
            foreach (int c in counts.AsSpan(f * samples, samples))
                sum += psi[c];
            sums[f] = sum;
        }
    }

    public void JointNeighborDigammaSums(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples)
    {
        var nx = new int[(long)features * samples];
        var ny = new int[(long)features * samples];
        JointNeighborCounts(x, y, k, nx, ny, features, samples);
        for (int f = 0; f < features; f++)
        {
            double sum = 0;
            for (int i = f * samples; i < (f + 1) * samples; i++)
                sum += psi[nx[i]] + psi[ny[i]];
            sums[f] = sum;
        }
    }
}
