using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

// Features run in parallel, one workspace per thread. The inputs stay pinned while the features
// run (the lambdas cannot capture spans), so large feature matrices are not copied.
internal sealed partial class CpuBackend
{
    public unsafe void ClassNeighborCounts(
        ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, Span<int> counts, int features, int samples, NeighborMethod method)
    {
        Counters.Launch();
        fixed (double* pv = values)
        fixed (int* pl = labels, pk = k, pc = counts)
        {
            nint v = (nint)pv, l = (nint)pl, kk = (nint)pk, c = (nint)pc;
            ForEachFeature(features, (f, ws) => ClassCounts(
                Column((double*)v, f, samples), new ReadOnlySpan<int>((int*)l, samples), new ReadOnlySpan<int>((int*)kk, samples), classes,
                new Span<int>((int*)c + (long)f * samples, samples), method, ws));
        }
    }

    public unsafe void JointNeighborCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny, int features, int samples, NeighborMethod method)
    {
        Counters.Launch();
        var ySorted = SortedTarget(y, method);
        fixed (double* px = x, py = y)
        fixed (int* pnx = nx, pny = ny)
        {
            nint xs = (nint)px, ys = (nint)py, cx = (nint)pnx, cy = (nint)pny;
            ForEachFeature(features, (f, ws) => JointCounts(
                Column((double*)xs, f, samples), new ReadOnlySpan<double>((double*)ys, samples), k, ySorted,
                new Span<int>((int*)cx + (long)f * samples, samples), new Span<int>((int*)cy + (long)f * samples, samples), method, ws));
        }
    }

    public unsafe void ClassNeighborDigammaSums(
        ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, ReadOnlySpan<double> psi, Span<double> sums,
        int features, int samples, NeighborMethod method)
    {
        Counters.Launch();
        var table = psi.ToArray();
        var result = new double[features];
        fixed (double* pv = values)
        fixed (int* pl = labels, pk = k)
        {
            nint v = (nint)pv, l = (nint)pl, kk = (nint)pk;
            ForEachFeature(features, (f, ws) =>
            {
                var counts = ws.Counts(samples);
                ClassCounts(
                    Column((double*)v, f, samples), new ReadOnlySpan<int>((int*)l, samples), new ReadOnlySpan<int>((int*)kk, samples), classes,
                    counts, method, ws);
                double sum = 0;
                foreach (int count in counts)
                    sum += table[count];
                result[f] = sum;
            });
        }
        result.CopyTo(sums);
    }

    public unsafe void JointNeighborDigammaSums(
        ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples, NeighborMethod method)
    {
        Counters.Launch();
        var table = psi.ToArray();
        var result = new double[features];
        var ySorted = SortedTarget(y, method);
        fixed (double* px = x, py = y)
        {
            nint xs = (nint)px, ys = (nint)py;
            ForEachFeature(features, (f, ws) =>
            {
                var nx = ws.Counts(samples);
                var ny = ws.Counts2(samples);
                JointCounts(Column((double*)xs, f, samples), new ReadOnlySpan<double>((double*)ys, samples), k, ySorted, nx, ny, method, ws);
                double sum = 0;
                for (int i = 0; i < samples; i++)
                    sum += table[nx[i]] + table[ny[i]];
                result[f] = sum;
            });
        }
        result.CopyTo(sums);
    }

    private static void ForEachFeature(int features, Action<int, CpuNeighborKernels.Workspace> body) =>
        Parallel.For(0, features, () => new CpuNeighborKernels.Workspace(), (f, _, ws) =>
        {
            body(f, ws);
            return ws;
        }, _ => { });

    private static unsafe ReadOnlySpan<double> Column(double* values, int feature, int samples) =>
        new(values + (long)feature * samples, samples);

    private static void ClassCounts(
        ReadOnlySpan<double> column, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, Span<int> counts, NeighborMethod method,
        CpuNeighborKernels.Workspace ws)
    {
        if (method == NeighborMethod.Brute)
            CpuNeighborKernels.ClassCountsBrute(column, labels, k, counts);
        else
            CpuNeighborKernels.ClassCountsSorted(column, labels, k, CpuNeighborKernels.SortOrder(column, ws), classes, counts, ws);
    }

    private static void JointCounts(
        ReadOnlySpan<double> column, ReadOnlySpan<double> y, int k, double[] ySorted, Span<int> nx, Span<int> ny, NeighborMethod method,
        CpuNeighborKernels.Workspace ws)
    {
        if (method == NeighborMethod.Brute)
            CpuNeighborKernels.JointCountsBrute(column, y, k, nx, ny);
        else
            CpuNeighborKernels.JointCountsSorted(column, y, k, CpuNeighborKernels.SortOrder(column, ws), ySorted, nx, ny, ws);
    }

    /// <summary>The target sorted ascending, once for all features (the sorted search counts in y by bisection).</summary>
    private static double[] SortedTarget(ReadOnlySpan<double> y, NeighborMethod method)
    {
        if (method == NeighborMethod.Brute)
            return [];
        var sorted = y.ToArray();
        Array.Sort(sorted);
        return sorted;
    }
}
