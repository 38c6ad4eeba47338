using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    /// <summary>Configurations per thread of the enumeration's log-sum-exp (a group covers group size times this many).</summary>
    private const int EnumerationPerThread = 16;

    /// <summary>Configurations per launch of the enumeration (about 2^22; tests lower it to exercise several launches).</summary>
    internal long EnumerationConfigurationsPerLaunch { get; set; } = 1L << 22;

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, long, long, int, int>? enumerationKernel;

    public double EnumerateLogPartition(float[] m, float[] d, float[] e, int n, int k)
    {
        using var scope = Enter();
        enumerationKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, long, long, int, int>(
            RbmEnumerationKernels.LogSumExpKernel);
        var dm = Upload("p", m.AsSpan());
        var dd = Upload("q", d.AsSpan());
        var de = Upload("u", e.AsSpan());
        long total = 1L << n;
        int span = RowGroupSize * EnumerationPerThread;
        long groups = (total + span - 1) / span;
        var partials = Scratch<float>("r", 2 * groups);
        // Launches of at most 2^22 configurations; each group writes its (max, sum) pair to its
        // own slot, and the pairs come back once, at the end.
        long perLaunch = Math.Max(1, EnumerationConfigurationsPerLaunch / span);
        for (long slot = 0; slot < groups; slot += perLaunch)
        {
            long count = Math.Min(perLaunch, groups - slot);
            Counters.Launch();
            enumerationKernel(GroupConfig(count), dm, dd, de, partials, n, k, slot * span, total, span, (int)slot);
        }
        var host = new float[2 * groups];
        Download(partials, host);
        // The pairs in float64, in group order: log sum_g sum_g exp(max_g).
        var max = new double[groups];
        var sum = new double[groups];
        for (long g = 0; g < groups; g++)
        {
            max[g] = host[2 * g];
            sum[g] = host[2 * g + 1];
        }
        return LogSumExp64.Of(max, sum);
    }
}
