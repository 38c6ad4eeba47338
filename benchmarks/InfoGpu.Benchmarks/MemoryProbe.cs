using System.Diagnostics;
using System.Globalization;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Restricted;

namespace InfoGpu.Benchmarks;

/// <summary>
/// A long PCD run with the process's memory sampled at intervals: resident set (VmRSS), its
/// peak (VmHWM) and the managed heap. A training step allocates nothing, so after the first
/// epoch every figure should stay flat however long the run.
/// Usage: <c>dotnet run -c Release --project benchmarks/InfoGpu.Benchmarks -- memory [SWEEPS] [ACCELERATOR]</c>.
/// </summary>
internal static class MemoryProbe
{
    public static int Run(string[] args)
    {
        long sweeps = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        string kind = args.Length > 2 ? args[2] : "cpu";
        var data = FashionMnist.LoadEmbedded();
        var train = data.Train.Binarized();
        var test = data.Test.Take(100).Binarized();
        using var device = ComputeDevice.Open(kind);
        // PCD-1 with 20 persistent chains (one Gibbs sweep of the chains per update) and a small
        // model, so that a million sweeps take minutes on two cores.
        const int hidden = 32;
        var options = new RbmTrainerOptions { Sampler = RbmSamplerKind.Pcd, K = 1, BatchSize = 20, Chains = 20, Epochs = int.MaxValue, AllBitsRows = 0 };
        var rbm = InfoGpu.Restricted.Rbm.Initialize(train.Pixels, hidden, options.Seed, train.PixelMeans());
        using var trainer = new RbmTrainer(device, rbm, train.Images, test.Images, options);
        Console.WriteLine(FormattableString.Invariant($"PCD-1, {train.Pixels} x {hidden}, {options.ChainCount} persistent chains, batch {options.BatchSize}, {sweeps:N0} sweeps on {device.Info.Kind}"));
        Console.WriteLine("| sweeps | seconds | RSS MiB | peak RSS MiB | managed heap MiB | GC gen0/1/2 |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---|");
        long interval = Math.Max(1, sweeps / 20), next = interval;
        var watch = Stopwatch.StartNew();
        double firstRss = double.NaN, lastRss = 0, peak = 0;
        while (trainer.Step < sweeps)
        {
            trainer.TrainStep();
            if (trainer.StepInEpoch == trainer.StepsPerEpoch)
                trainer.EndEpoch();
            if (trainer.Step >= next || trainer.Step >= sweeps)
            {
                var (rss, hwm) = ResidentMemory();
                lastRss = rss;
                peak = hwm;
                if (double.IsNaN(firstRss))
                    firstRss = rss;
                Console.WriteLine(FormattableString.Invariant($"| {trainer.Step:N0} | {watch.Elapsed.TotalSeconds:F1} | {rss:F1} | {hwm:F1} | {GC.GetTotalMemory(false) / 1048576.0:F1} | {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} |"));
                while (next <= trainer.Step)
                    next += interval;
            }
        }
        Console.WriteLine(FormattableString.Invariant($"resident memory from the first sample to the last: {firstRss:F1} -> {lastRss:F1} MiB ({lastRss - firstRss:+0.0;-0.0} MiB); peak {peak:F1} MiB"));
        return 0;
    }

    /// <summary>VmRSS and VmHWM of this process in MiB (Linux; NaN elsewhere).</summary>
    private static (double Rss, double Peak) ResidentMemory()
    {
        double rss = double.NaN, hwm = double.NaN;
        if (!File.Exists("/proc/self/status"))
            return (Environment.WorkingSet / 1048576.0, double.NaN);
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                rss = Kib(line) / 1024;
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                hwm = Kib(line) / 1024;
        }
        return (rss, hwm);
    }

    private static double Kib(string line) =>
        double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
