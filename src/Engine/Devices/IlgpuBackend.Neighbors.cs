using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>? classCountsKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int>? jointCountsKernel;

    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? digammaSumKernel;

    private int NeighborGroupSize => Math.Min(RowGroupSize, NeighborKernels.MaxGroupSize);

    public void ClassNeighborCounts(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, Span<int> counts, int features, int samples)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        Download(LaunchClassCounts(values, labels, k, features, samples), counts);
    }

    public void ClassNeighborDigammaSums(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        var counts = LaunchClassCounts(values, labels, k, features, samples);
        DigammaSums(counts, counts, false, psi, sums, features, samples);
    }

    public void JointNeighborDigammaSums(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        var (nx, ny) = LaunchJointCounts(x, y, k, features, samples);
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
        digammaSumKernel(new KernelConfig(features, NeighborGroupSize), a, b, dHi, dLo, dSumHi, dSumLo, samples, two ? 1 : 0);
        var sumHi = new float[features];
        var sumLo = new float[features];
        Download(dSumHi, sumHi);
        Download(dSumLo, sumLo);
        for (int f = 0; f < features; f++)
            sums[f] = (double)sumHi[f] + sumLo[f];
    }

    private ArrayView<int> LaunchClassCounts(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int features, int samples)
    {
        classCountsKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>(NeighborKernels.ClassCountsKernel);
        var (hi, lo) = Split(values);
        var dHi = Upload("mi-xhi", hi);
        var dLo = Upload("mi-xlo", lo);
        var dLabels = Upload("mi-labels", labels);
        var dK = Upload("mi-k", k);
        var dCounts = Scratch<int>("mi-nx", (long)features * samples);
        int kMax = 0;
        foreach (int v in k)
            kMax = Math.Max(kMax, v);
        int group = NeighborGroupSize;
        int groupsPerFeature = (samples + group - 1) / group;
        classCountsKernel(new KernelConfig(features * groupsPerFeature, group), dHi, dLo, dLabels, dK, dCounts, samples, groupsPerFeature, kMax);
        return dCounts;
    }

    public void JointNeighborCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny, int features, int samples)
    {
        using var scope = Enter();
        if (features == 0 || samples == 0)
            return;
        var (dnx, dny) = LaunchJointCounts(x, y, k, features, samples);
        Download(dnx, nx);
        Download(dny, ny);
    }

    private (ArrayView<int> Nx, ArrayView<int> Ny) LaunchJointCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, int features, int samples)
    {
        jointCountsKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int>(NeighborKernels.JointCountsKernel);
        var (xHi, xLo) = Split(x);
        var (yHi, yLo) = Split(y);
        var dxHi = Upload("mi-xhi", xHi);
        var dxLo = Upload("mi-xlo", xLo);
        var dyHi = Upload("mi-yhi", yHi);
        var dyLo = Upload("mi-ylo", yLo);
        var dnx = Scratch<int>("mi-nx", (long)features * samples);
        var dny = Scratch<int>("mi-ny", (long)features * samples);
        int group = NeighborGroupSize;
        int groupsPerFeature = (samples + group - 1) / group;
        jointCountsKernel(new KernelConfig(features * groupsPerFeature, group), dxHi, dxLo, dyHi, dyLo, dnx, dny, samples, groupsPerFeature, k);
        return (dnx, dny);
    }

    /// <summary>float64 values as float32 pairs hi + lo (hi the nearest float, lo the rounded rest).</summary>
    private static (float[] Hi, float[] Lo) Split(ReadOnlySpan<double> values)
    {
        var hi = new float[values.Length];
        var lo = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            hi[i] = (float)values[i];
            lo[i] = (float)(values[i] - hi[i]);
        }
        return (hi, lo);
    }
}
