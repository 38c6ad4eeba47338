using System.Diagnostics;
using System.Text.Json.Nodes;

namespace InfoGpu.Host.Bench;

/// <summary>How a case's work is measured against the machine's limits.</summary>
internal enum PeakKind
{
    /// <summary>Bytes moved, against the memory copy bandwidth.</summary>
    Bandwidth,

    /// <summary>Floating-point operations, against the best sgemm rate of the cpu path.</summary>
    Flops,
}

/// <summary>A peer run: a script of ../shared/peers, its arguments, and where its time is in the JSON it prints.</summary>
internal sealed record PeerSpec(string Name, string Script, string[] Arguments, Func<JsonNode, double?> Seconds);

/// <summary>One benchmark case: InfoGpu's run, the work it does, and the peer doing the same.</summary>
internal sealed record BenchCase(
    string Suite,
    string Name,
    Func<double> RunInfoGpu,
    double Work,
    PeakKind Peak,
    PeerSpec? Peer);

/// <summary>A measured case.</summary>
internal sealed record BenchResult(
    string Name,
    double InfoGpuSeconds,
    string? Peer,
    double? PeerSeconds,
    double? FractionOfPeak,
    string? Note)
{
    public double? Ratio => PeerSeconds is double p && InfoGpuSeconds > 0 ? p / InfoGpuSeconds : null;
}

internal static class Timing
{
    /// <summary>Median seconds of <paramref name="repeat"/> timed calls after a warm-up (at least three calls and 0.3 s).</summary>
    public static double Median(Action body, int repeat)
    {
        // Warm up until the JIT has had time to finish the optimized code of the hot loops
        // (it compiles them in the background after a few calls): three calls and at least 0.3 s.
        long w0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < 3 || Stopwatch.GetElapsedTime(w0).TotalSeconds < 0.3; i++)
            body();
        var times = new double[repeat];
        for (int i = 0; i < repeat; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        return repeat % 2 == 1 ? times[repeat / 2] : 0.5 * (times[repeat / 2 - 1] + times[repeat / 2]);
    }
}
