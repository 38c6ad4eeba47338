using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.LinearAlgebra;
using InfoGpu.Random;

namespace InfoGpu.Benchmarks;

/// <summary>
/// A grid of M RBMs' positive half-sweep (H_z = sigmoid(V W_z + c_z) with the Bernoulli draws,
/// a batch of B rows, nv visible and nh hidden units, one seed per model), two ways: M
/// <see cref="Gemm.Multiply(GemmLayout, MatrixView, MatrixView, MatrixView, in GemmEpilogue)"/>
/// launches, one per model (what a grid of separate trainers does), against one
/// <see cref="Gemm.MultiplyBatched"/> launch over stacked W, c, H and samples. Rounds alternate
/// the two (a load that changes during the run hits both alike); the median milliseconds per
/// grid half-sweep over the rounds are printed for M = 1, 4, 16, with the launches counted.
/// Usage: <c>dotnet run -c Release --project benchmarks/InfoGpu.Benchmarks -- batched-gemm [ACCELERATOR] [B] [NV] [NH] [ROUNDS]</c>.
/// </summary>
internal static class BatchedGemmProbe
{
    public static int Run(string[] args)
    {
        string kind = args.Length > 1 ? args[1] : "cpu";
        int rows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
        int nv = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 784;
        int nh = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 500;
        int rounds = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 7;
        using var device = ComputeDevice.Open(kind);
        Console.WriteLine(FormattableString.Invariant($"{device.Info.Kind} ({device.Info.Gemm}): half-sweep {rows}x{nv} -> {nh}, median of {rounds} rounds"));
        foreach (int models in new[] { 1, 4, 16 })
        {
            using var v = device.Allocate<float>((long)rows * nv);
            using var w = device.Allocate<float>((long)models * nv * nh);
            using var c = device.Allocate<float>((long)models * nh);
            using var h = device.Allocate<float>((long)models * rows * nh);
            using var s = device.Allocate<float>((long)models * rows * nh);
            using var seeds = device.Allocate<ulong>(models);
            RandomFill.Uniform(v, 1, 1);
            RandomFill.Normal(w, 1, 2);
            RandomFill.Normal(c, 1, 3);
            seeds.CopyFrom([.. Enumerable.Range(1, models).Select(i => (ulong)i)]);
            var epilogue = new GemmEpilogue { Bias = c, Activation = GemmActivation.Sigmoid, Samples = s, Stream = 41 };
            var batch = new GemmBatch { Count = models, BStride = (long)nv * nh, CStride = (long)rows * nh, BiasStride = nh, SamplesStride = (long)rows * nh, Seeds = seeds };
            // The separate launches draw into a buffer per model, with a bias buffer per model (an epilogue reads both from their first element).
            var own = Enumerable.Range(0, models).Select(_ => device.Allocate<float>((long)rows * nh)).ToArray();
            var biases = Enumerable.Range(0, models).Select(_ => device.Allocate<float>(nh)).ToArray();
            var separate = new double[rounds];
            var batched = new double[rounds];
            long separateLaunches = 0, batchedLaunches = 0;
            for (int r = -1; r < rounds; r++)
            {
                var before = device.Counters;
                long t0 = Stopwatch.GetTimestamp();
                for (int z = 0; z < models; z++)
                    Gemm.Multiply(GemmLayout.NN, (v, rows, nv), new MatrixView(w, nv, nh, (long)z * nv * nh), new MatrixView(h, rows, nh, (long)z * rows * nh), epilogue with { Bias = biases[z], Samples = own[z], Seed = (ulong)(z + 1) });
                device.Synchronize();
                double a = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                separateLaunches = (device.Counters - before).Launches;
                before = device.Counters;
                t0 = Stopwatch.GetTimestamp();
                Gemm.MultiplyBatched(GemmLayout.NN, (v, rows, nv), (w, nv, nh), (h, rows, nh), epilogue, batch);
                device.Synchronize();
                double b = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                batchedLaunches = (device.Counters - before).Launches;
                if (r >= 0)
                {
                    separate[r] = a;
                    batched[r] = b;
                }
            }
            foreach (var x in own.Concat(biases))
                x.Dispose();
            Array.Sort(separate);
            Array.Sort(batched);
            Console.WriteLine(FormattableString.Invariant($"M={models,2}: {models} launches {separate[rounds / 2],9:F2} ms, batched ({batchedLaunches} launch) {batched[rounds / 2],9:F2} ms, ratio {separate[rounds / 2] / batched[rounds / 2],5:F2} (separate: {separateLaunches} launches)"));
        }
        return 0;
    }
}
