using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>? classCountsKernel;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int>? jointCountsKernel;

    private int NeighborGroupSize => Math.Min(RowGroupSize, NeighborKernels.MaxGroupSize);

    public void ClassNeighborCounts(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, Span<int> counts, int features, int samples)
    {
        if (features == 0 || samples == 0)
            return;
        classCountsKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>(NeighborKernels.ClassCountsKernel);
        var (hi, lo) = Split(values);
        var dHi = Upload("mi-xhi", hi);
        var dLo = Upload("mi-xlo", lo);
        var dLabels = Upload("mi-labels", labels);
        var dK = Upload("mi-k", k);
        var dCounts = Scratch<int>("mi-nx", counts.Length);
        int kMax = 0;
        foreach (int v in k)
            kMax = Math.Max(kMax, v);
        int group = NeighborGroupSize;
        int groupsPerFeature = (samples + group - 1) / group;
        classCountsKernel(new KernelConfig(features * groupsPerFeature, group), dHi, dLo, dLabels, dK, dCounts, samples, groupsPerFeature, kMax);
        Download(dCounts, counts);
    }

    public void JointNeighborCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny, int features, int samples)
    {
        if (features == 0 || samples == 0)
            return;
        jointCountsKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int>(NeighborKernels.JointCountsKernel);
        var (xHi, xLo) = Split(x);
        var (yHi, yLo) = Split(y);
        var dxHi = Upload("mi-xhi", xHi);
        var dxLo = Upload("mi-xlo", xLo);
        var dyHi = Upload("mi-yhi", yHi);
        var dyLo = Upload("mi-ylo", yLo);
        var dnx = Scratch<int>("mi-nx", nx.Length);
        var dny = Scratch<int>("mi-ny", ny.Length);
        int group = NeighborGroupSize;
        int groupsPerFeature = (samples + group - 1) / group;
        jointCountsKernel(new KernelConfig(features * groupsPerFeature, group), dxHi, dxLo, dyHi, dyLo, dnx, dny, samples, groupsPerFeature, k);
        Download(dnx, nx);
        Download(dny, ny);
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
