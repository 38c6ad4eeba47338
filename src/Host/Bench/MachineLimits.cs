using System.Runtime.InteropServices;

namespace InfoGpu.Host.Bench;

/// <summary>The machine's limits the benchmark cases are compared with.</summary>
internal sealed record MachineLimits(double CopyGBPerSecond, double? SgemmGFlops, int Cores, string Processor)
{
    /// <summary>Copy bandwidth: bytes read plus bytes written per second for a 256 MiB copy on all cores.</summary>
    public static unsafe double MeasureCopyBandwidth()
    {
        const int bytes = 256 << 20;
        var src = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        var dst = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        try
        {
            new Span<byte>(src, bytes).Fill(1);
            new Span<byte>(dst, bytes).Clear();
            int parts = Environment.ProcessorCount;
            double seconds = Timing.Median(
                () => Parallel.For(0, parts, p =>
                {
                    long lo = (long)bytes * p / parts, hi = (long)bytes * (p + 1) / parts;
                    Buffer.MemoryCopy(src + lo, dst + lo, hi - lo, hi - lo);
                }),
                5);
            return 2.0 * bytes / seconds / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(src);
            NativeMemory.AlignedFree(dst);
        }
    }

    public static string ProcessorName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
