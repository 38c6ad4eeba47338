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

/// <summary>A peer run: a script of benchmarks/peers, its arguments, and where its time is in the JSON it prints.</summary>
/// <param name="Name">The peer's name in tables and JSON.</param>
/// <param name="Script">The script's file name in the peers folder.</param>
/// <param name="Arguments">Its arguments (the runner adds --json and --threads).</param>
/// <param name="Seconds">Where its time is in the JSON it prints (or in what the runner adds, see <paramref name="ProcessRuns"/>).</param>
/// <param name="ProcessRuns">
/// 0: the script runs once. N &gt; 0: it runs N times and the runner adds to its last JSON
/// "process_seconds", the median wall-clock seconds of the whole process (interpreter start-up,
/// imports, reading the input, the work and the output), and "process_seconds_all".
/// </param>
internal sealed record PeerSpec(string Name, string Script, string[] Arguments, Func<JsonNode, double?> Seconds, int ProcessRuns = 0);

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
    /// <summary>Short cases get more timed calls than asked for, up to about this many seconds of them.</summary>
    private const double ShortCaseBudgetSeconds = 1.0;

    /// <summary>The most timed calls a short case gets.</summary>
    private const int MaxRepeat = 51;

    /// <summary>
    /// Median seconds of at least <paramref name="repeat"/> timed calls after a warm-up (at least
    /// three calls and 0.3 s). When <paramref name="repeat"/> calls would take under a second,
    /// there are more of them, up to about a second's worth and at most 51 (odd, so the median is
    /// one of the calls): on a shared machine single calls of 20 ms move by half their length.
    /// </summary>
    public static double Median(Action body, int repeat)
    {
        // Warm up until the JIT has had time to finish the optimized code of the hot loops
        // (it compiles them in the background after a few calls): three calls and at least 0.3 s.
        long w0 = Stopwatch.GetTimestamp();
        int warm = 0;
        for (; warm < 3 || Stopwatch.GetElapsedTime(w0).TotalSeconds < 0.3; warm++)
            body();
        double perCall = Stopwatch.GetElapsedTime(w0).TotalSeconds / warm;
        if (repeat < MaxRepeat && perCall * repeat < ShortCaseBudgetSeconds)
            repeat = Math.Clamp((int)(ShortCaseBudgetSeconds / Math.Max(perCall, 1e-9)) | 1, repeat, MaxRepeat);
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
