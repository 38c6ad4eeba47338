using System.Text.Json.Nodes;
using InfoGpu.Devices;
using InfoGpu.Measures;
using InfoGpu.Random;

namespace InfoGpu.Host.Bench;

/// <summary>Batched entropy and KL over many rows, against numpy (benchmarks/peers/numpy_measures.py).</summary>
internal static class MeasuresSuite
{
    public static IEnumerable<BenchCase> Cases(ComputeDevice device, bool quick, int repeat)
    {
        int rows = quick ? 10_000 : 100_000;
        const int cols = 784;
        var p = SoftmaxRows(device, rows, cols, 1);
        var q = SoftmaxRows(device, rows, cols, 2);
        var m = new InformationMeasures(device);
        string[] peerArgs = ["--rows", rows.ToString(System.Globalization.CultureInfo.InvariantCulture), "--cols", "784", "--repeat", repeat.ToString(System.Globalization.CultureInfo.InvariantCulture), "--impl", "numpy,special,stats"];
        yield return new BenchCase(
            "measures",
            $"entropy {rows}x{cols}",
            () => Timing.Median(() => m.Entropy(p, cols, LogBase.Nats), repeat),
            4.0 * rows * cols,
            PeakKind.Bandwidth,
            new PeerSpec("numpy-measures", "numpy_measures.py", [.. peerArgs, "--measures", "entropy"], j => Seconds(j, "entropy")));
        yield return new BenchCase(
            "measures",
            $"kl {rows}x{cols}",
            () => Timing.Median(() => m.KlDivergence(p, q, cols, LogBase.Nats), repeat),
            8.0 * rows * cols,
            PeakKind.Bandwidth,
            new PeerSpec("numpy-measures", "numpy_measures.py", [.. peerArgs, "--measures", "kl"], j => Seconds(j, "kl")));
    }

    private static double? Seconds(JsonNode json, string measure) => json[measure]?["seconds"]?.GetValue<double>();

    /// <summary>Rows softmax(2 z) with z standard normal from Philox, as the numpy peer draws them.</summary>
    private static float[] SoftmaxRows(ComputeDevice device, int rows, int cols, ulong stream)
    {
        using var z = device.Allocate<float>((long)rows * cols);
        RandomFill.Normal(z, 7, stream);
        var logits = z.ToArray();
        for (int i = 0; i < logits.Length; i++)
            logits[i] *= 2f;
        return new InformationMeasures(device).Softmax(logits, cols);
    }
}
