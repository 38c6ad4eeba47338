using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.Restricted;
using InfoGpu.Training;
using InfoGpu.Variational;

namespace InfoGpu.Benchmarks;

/// <summary>
/// A grid step of M RBMs (CD-1, nv x nh, batch B, different seeds and learning rates), two ways:
/// the per-model loop (each trainer's <see cref="RbmTrainer.TrainStep"/> in turn, what a grid
/// did before the fused step) against the fused step (<see cref="IFusedSteps.Step"/>: one set of
/// launches for all M). Two sets of trainers, one per way; rounds alternate the two (a load
/// that changes during the run hits both alike), each synchronized; the median milliseconds per
/// grid step over the rounds are printed for M = 1, 4, 16, with the launches of one grid step.
/// Usage: <c>dotnet run -c Release --project benchmarks/InfoGpu.Benchmarks -- grid-step [ACCELERATOR] [NV] [NH] [B] [ROUNDS] [MODELS...]</c>;
/// for VAEs (D-H-L, batch B, different seeds, learning rates and betas)
/// <c>vae-grid-step [ACCELERATOR] [D] [H] [L] [B] [ROUNDS] [MODELS...]</c>.
/// </summary>
internal static class GridStepProbe
{
    public static int Run(string[] args)
    {
        string kind = args.Length > 1 ? args[1] : "cpu";
        int nv = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 784;
        int nh = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 500;
        int batch = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 100;
        int rounds = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 7;
        int[] counts = args.Length > 6 ? [.. args.Skip(6).Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : [1, 4, 16];
        // Enough images that every timed step (and the warm-up) falls in the first epoch.
        int rows = batch * (rounds + 2);
        var data = new float[rows * nv];
        for (int i = 0; i < data.Length; i++)
            data[i] = Philox.Uniform(7, 0, (ulong)i) < 0.3f ? 1f : 0f;
        using var device = ComputeDevice.Open(kind);
        Console.WriteLine(FormattableString.Invariant($"{device.Info.Kind} ({device.Info.Gemm}): CD-1 grid step, {nv}x{nh}, batch {batch}, {rows} images, median of {rounds} rounds"));
        foreach (int models in counts)
        {
            ITrainer[] Make() => [.. Enumerable.Range(0, models).Select(z => new RbmTrainer(
                device, Restricted.Rbm.Initialize(nv, nh, (ulong)z + 1), data, [],
                new RbmTrainerOptions { BatchSize = batch, Seed = (ulong)z + 1, LearningRate = 0.01 * (z + 1), MonitorRows = 10, AllBitsRows = 0, CheckEvery = 1000 }))];
            Compare(device, models, rounds, Make);
        }
        return 0;
    }

    /// <summary>The VAE grid step, loop against fused (see the class summary).</summary>
    public static int RunVae(string[] args)
    {
        string kind = args.Length > 1 ? args[1] : "cpu";
        int d = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 784;
        int h = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 400;
        int l = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 20;
        int batch = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 128;
        int rounds = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 7;
        int[] counts = args.Length > 7 ? [.. args.Skip(7).Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : [1, 4, 16];
        int rows = batch * (rounds + 2);
        var data = new float[rows * d];
        for (int i = 0; i < data.Length; i++)
            data[i] = Philox.Uniform(7, 0, (ulong)i);
        using var device = ComputeDevice.Open(kind);
        Console.WriteLine(FormattableString.Invariant($"{device.Info.Kind} ({device.Info.Gemm}): VAE grid step, {d}-{h}-{l}, batch {batch}, {rows} images, median of {rounds} rounds"));
        foreach (int models in counts)
        {
            ITrainer[] Make() => [.. Enumerable.Range(0, models).Select(z => new VaeTrainer(
                device, Variational.Vae.Create(d, h, l, (ulong)z + 1), data, [],
                new VaeTrainerOptions { BatchSize = batch, Hidden = h, Latent = l, Seed = (ulong)z + 1, LearningRate = 1e-3 * (z + 1), Beta = 1 + (0.5 * z), CheckEvery = 1000 }))];
            Compare(device, models, rounds, Make);
        }
        return 0;
    }

    /// <summary>Times <paramref name="rounds"/> grid steps of <paramref name="models"/> trainers both ways and prints the medians.</summary>
    private static void Compare(ComputeDevice device, int models, int rounds, Func<ITrainer[]> make)
    {
        var loopTrainers = make();
        var fusedTrainers = make();
        try
        {
            using var fused = FusedSteps.TryCreate(fusedTrainers) ?? throw new InvalidOperationException("the grid does not fuse");
            var loop = new double[rounds];
            var together = new double[rounds];
            long loopLaunches = 0, fusedLaunches = 0;
            for (int r = -1; r < rounds; r++)
            {
                var before = device.Counters;
                long t0 = Stopwatch.GetTimestamp();
                foreach (var t in loopTrainers)
                    t.TrainStep();
                device.Synchronize();
                double a = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                loopLaunches = (device.Counters - before).Launches;
                before = device.Counters;
                t0 = Stopwatch.GetTimestamp();
                fused.Step();
                device.Synchronize();
                double b = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                fusedLaunches = (device.Counters - before).Launches;
                if (r >= 0)
                {
                    loop[r] = a;
                    together[r] = b;
                }
            }
            Array.Sort(loop);
            Array.Sort(together);
            Console.WriteLine(FormattableString.Invariant($"M={models,2}: per-model loop {loop[rounds / 2],9:F2} ms ({loopLaunches} launches), fused {together[rounds / 2],9:F2} ms ({fusedLaunches} launches), loop / fused {loop[rounds / 2] / together[rounds / 2],5:F2}"));
        }
        finally
        {
            foreach (var t in loopTrainers.Concat(fusedTrainers))
                t.Dispose();
        }
    }
}
