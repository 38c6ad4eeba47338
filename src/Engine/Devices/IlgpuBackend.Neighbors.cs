using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

// Brute force: one launch of NeighborKernels.NeighborCountsKernel for all features, in the
// distance of the estimator. Sorted order: the host sorts each feature (the cpu backend's radix
// sort; the values are on the host for the upload anyway) and lays out the sorted runs, then a
// device thread per sample and feature finds its neighbours and counts them. Either way the
// values travel as float32 pairs and the digamma sums are made on the device.
internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int, AbsoluteDistance>? classCountsKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int, MaxNormDistance>? jointCountsKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>? classCountsSortedKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int>? jointCountsSortedKernel;
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? digammaSumKernel;

    private int NeighborGroupSize => Math.Min(RowGroupSize, NeighborKernels.MaxGroupSize);

    public void ClassNeighborCounts(
        ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, Span<int> counts, int features, int samples, NeighborMethod method)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        Download(LaunchClassCounts(values, labels, k, classes, features, samples, method), counts);
    }

    public void JointNeighborCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny, int features, int samples, NeighborMethod method)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        var (dnx, dny) = LaunchJointCounts(x, y, k, features, samples, method);
        Download(dnx, nx);
        Download(dny, ny);
    }

    public void ClassNeighborDigammaSums(
        ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, ReadOnlySpan<double> psi, Span<double> sums,
        int features, int samples, NeighborMethod method)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        var counts = LaunchClassCounts(values, labels, k, classes, features, samples, method);
        DigammaSums(counts, counts, false, psi, sums, features, samples);
    }

    public void JointNeighborDigammaSums(
        ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples, NeighborMethod method)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        var (nx, ny) = LaunchJointCounts(x, y, k, features, samples, method);
        DigammaSums(nx, ny, true, psi, sums, features, samples);
    }

    private void DigammaSums(ArrayView<int> a, ArrayView<int> b, bool two, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples)
    {
        digammaSumKernel ??= Accelerator.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(NeighborKernels.DigammaSumKernel);
        var table = psi.ToArray();
        table[0] = 0; // psi(0) is never looked up (every count includes its sample); keep the table finite
        var (hi, lo) = Split(table);
        var dHi = Upload("mi-psihi", hi);
        var dLo = Upload("mi-psilo", lo);
        var dSumHi = Scratch<float>("mi-sumhi", features);
        var dSumLo = Scratch<float>("mi-sumlo", features);
        Counters.Launch();
        digammaSumKernel(new KernelConfig(features, NeighborGroupSize), a, b, dHi, dLo, dSumHi, dSumLo, samples, two ? 1 : 0);
        var sumHi = new float[features];
        var sumLo = new float[features];
        Download(dSumHi, sumHi);
        Download(dSumLo, sumLo);
        for (int f = 0; f < features; f++)
            sums[f] = (double)sumHi[f] + sumLo[f];
    }

    private ArrayView<int> LaunchClassCounts(
        ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, int features, int samples, NeighborMethod method)
    {
        var dLabels = Upload("mi-labels", labels);
        var dK = Upload("mi-k", k);
        var dCounts = Scratch<int>("mi-nx", (long)features * samples);
        if (method == NeighborMethod.Sorted)
        {
            var sorted = ClassRuns(values, labels, classes, features, samples);
            var dStart = Upload("mi-start", sorted.Start);
            classCountsSortedKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>(
                NeighborKernels.ClassCountsSortedKernel);
            Counters.Launch();
            classCountsSortedKernel(
                features * samples, Upload("mi-xhi", sorted.SortedHi), Upload("mi-xlo", sorted.SortedLo), Upload("mi-chi", sorted.ClassHi), Upload("mi-clo", sorted.ClassLo),
                Upload("mi-sample", sorted.ClassSample), Upload("mi-position", sorted.ClassPosition), dLabels, dStart, dK, dCounts, samples);
            return dCounts;
        }
        classCountsKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int, AbsoluteDistance>(
            NeighborKernels.NeighborCountsKernel);
        var (hi, lo) = Split(values);
        var dHi = Upload("mi-xhi", hi);
        var dLo = Upload("mi-xlo", lo);
        int kMax = 0;
        foreach (int v in k)
            kMax = Math.Max(kMax, v);
        int group = NeighborGroupSize;
        int groupsPerFeature = (samples + group - 1) / group;
        // one coordinate: the y views and ny are not read or written
        Counters.Launch();
        classCountsKernel(new KernelConfig(features * groupsPerFeature, group), dHi, dLo, dHi, dLo, dLabels, dK, dCounts, dCounts, samples, groupsPerFeature, kMax, default);
        return dCounts;
    }

    private (ArrayView<int> Nx, ArrayView<int> Ny) LaunchJointCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, int features, int samples, NeighborMethod method)
    {
        var dnx = Scratch<int>("mi-nx", (long)features * samples);
        var dny = Scratch<int>("mi-ny", (long)features * samples);
        if (method == NeighborMethod.Sorted)
        {
            if (k > NeighborKernels.MaxNeighbors)
                throw new InfoGpuException($"k = {k}: the sorted search on ILGPU keeps at most {NeighborKernels.MaxNeighbors} neighbours");
            var sorted = JointRuns(x, y, features, samples);
            jointCountsSortedKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int>(
                NeighborKernels.JointCountsSortedKernel);
            Counters.Launch();
            jointCountsSortedKernel(
                features * samples, Upload("mi-xhi", sorted.XHi), Upload("mi-xlo", sorted.XLo), Upload("mi-yhi", sorted.YHi), Upload("mi-ylo", sorted.YLo),
                Upload("mi-order", sorted.XOrder), Upload("mi-ysorthi", sorted.YSortedHi), Upload("mi-ysortlo", sorted.YSortedLo), Upload("mi-position", sorted.YPosition),
                dnx, dny, samples, k);
            return (dnx, dny);
        }
        jointCountsKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int, MaxNormDistance>(
            NeighborKernels.NeighborCountsKernel);
        var (xHi, xLo) = Split(x);
        var (yHi, yLo) = Split(y);
        var dxHi = Upload("mi-xhi", xHi);
        var dxLo = Upload("mi-xlo", xLo);
        var dyHi = Upload("mi-yhi", yHi);
        var dyLo = Upload("mi-ylo", yLo);
        // every sample is a candidate neighbour (one label) and has the same k
        var dLabels = Upload("mi-labels", new int[samples].AsSpan());
        var dK = Upload("mi-k", Enumerable.Repeat(k, samples).ToArray().AsSpan());
        int group = NeighborGroupSize;
        int groupsPerFeature = (samples + group - 1) / group;
        Counters.Launch();
        jointCountsKernel(new KernelConfig(features * groupsPerFeature, group), dxHi, dxLo, dyHi, dyLo, dLabels, dK, dnx, dny, samples, groupsPerFeature, k, default);
        return (dnx, dny);
    }

    private sealed record ClassSortedRuns(float[] SortedHi, float[] SortedLo, float[] ClassHi, float[] ClassLo, int[] ClassSample, int[] ClassPosition, int[] Start);

    /// <summary>Each feature sorted, and split by class (the layout of <see cref="NeighborKernels.ClassCountsSortedKernel"/>).</summary>
    private static ClassSortedRuns ClassRuns(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, int classes, int features, int samples)
    {
        long total = (long)features * samples;
        var runs = new ClassSortedRuns(new float[total], new float[total], new float[total], new float[total], new int[total], new int[total], CpuNeighborKernels.ClassStarts(labels, classes));
        var v = values.ToArray();
        var l = labels.ToArray();
        Parallel.For(0, features, () => new SortScratch(samples), (f, _, s) =>
        {
            long row = (long)f * samples;
            CpuNeighborKernels.SortOrder(v.AsSpan((int)row, samples), s.Order, s.Sorted, s.Workspace);
            CpuNeighborKernels.SplitByClass(s.Sorted, s.Order, l, runs.Start, s.ClassValues, s.ClassSample, s.Position);
            for (int p = 0; p < samples; p++)
            {
                (runs.SortedHi[row + p], runs.SortedLo[row + p]) = Split(s.Sorted[p]);
                (runs.ClassHi[row + p], runs.ClassLo[row + p]) = Split(s.ClassValues[p]);
                runs.ClassSample[row + p] = s.ClassSample[p];
                runs.ClassPosition[row + p] = s.Position[s.ClassSample[p]];
            }
            return s;
        }, _ => { });
        return runs;
    }

    private sealed record JointSortedRuns(float[] XHi, float[] XLo, float[] YHi, float[] YLo, int[] XOrder, float[] YSortedHi, float[] YSortedLo, int[] YPosition);

    /// <summary>Each feature in ascending order with its samples' targets, and the sorted targets (the layout of <see cref="NeighborKernels.JointCountsSortedKernel"/>).</summary>
    private static JointSortedRuns JointRuns(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int features, int samples)
    {
        long total = (long)features * samples;
        var yOrder = new int[samples];
        var ySorted = new double[samples];
        CpuNeighborKernels.SortOrder(y, yOrder, ySorted);
        var yPlace = new int[samples];
        for (int p = 0; p < samples; p++)
            yPlace[yOrder[p]] = p;
        var (ySortedHi, ySortedLo) = Split(ySorted);
        var runs = new JointSortedRuns(new float[total], new float[total], new float[total], new float[total], new int[total], ySortedHi, ySortedLo, new int[total]);
        var xs = x.ToArray();
        var ys = y.ToArray();
        Parallel.For(0, features, () => new SortScratch(samples), (f, _, s) =>
        {
            long row = (long)f * samples;
            CpuNeighborKernels.SortOrder(xs.AsSpan((int)row, samples), s.Order, s.Sorted, s.Workspace);
            for (int p = 0; p < samples; p++)
            {
                int sample = s.Order[p];
                (runs.XHi[row + p], runs.XLo[row + p]) = Split(s.Sorted[p]);
                (runs.YHi[row + p], runs.YLo[row + p]) = Split(ys[sample]);
                runs.XOrder[row + p] = sample;
                runs.YPosition[row + p] = yPlace[sample];
            }
            return s;
        }, _ => { });
        return runs;
    }

    /// <summary>One thread's arrays for sorting features and splitting them by class.</summary>
    private sealed class SortScratch(int samples)
    {
        public readonly int[] Order = new int[samples];
        public readonly double[] Sorted = new double[samples];
        public readonly double[] ClassValues = new double[samples];
        public readonly int[] ClassSample = new int[samples];
        public readonly int[] Position = new int[samples];
        public readonly CpuNeighborKernels.Workspace Workspace = new();
    }

    /// <summary>float64 values as float32 pairs hi + lo (hi the nearest float, lo the rounded rest).</summary>
    private static (float[] Hi, float[] Lo) Split(ReadOnlySpan<double> values)
    {
        var hi = new float[values.Length];
        var lo = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
            (hi[i], lo[i]) = Split(values[i]);
        return (hi, lo);
    }

    private static (float Hi, float Lo) Split(double value)
    {
        float hi = (float)value;
        return (hi, (float)(value - hi));
    }
}
