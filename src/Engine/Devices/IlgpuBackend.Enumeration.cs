using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, long>? configurationValueKernel;

    public double EnumerateLogPartition(float[] m, float[] d, float[] e, int n, int k)
    {
        using var scope = Enter();
        configurationValueKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, long>(
            RbmEnumerationKernels.ConfigurationValueKernel);
        var dm = Upload("p", m.AsSpan());
        var dd = Upload("q", d.AsSpan());
        var de = Upload("u", e.AsSpan());
        long total = 1L << n;
        int batch = (int)Math.Min(total, 1 << 22);
        var values = Scratch<float>("r", batch);
        var host = new float[batch];
        // Streaming log-sum-exp in float64 over batches, in a fixed order.
        var run = LogSumExp64.Running.Empty;
        for (long first = 0; first < total; first += batch)
        {
            Counters.Launch();
            configurationValueKernel(batch, dm, dd, de, values, n, k, first);
            Download(values, host);
            foreach (float v in host)
                run.Add(v);
        }
        return run.Value;
    }
}
