using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.LinearAlgebra;
using InfoGpu.Random;
using InfoGpu.Restricted;
using InfoGpu.Training;

namespace InfoGpu.Host.Bench;

/// <summary>
/// RBM training epochs (784 x 500, batch 100) on binarized Fashion-MNIST: CD-1, CD-10 and PCD-1
/// against the hand-written PyTorch RBM (benchmarks/peers/torch_rbm.py) and, for PCD-1,
/// scikit-learn's BernoulliRBM (sklearn_rbm.py). Both sides time the training loop only.
/// </summary>
internal static class RbmSuite
{
    private const int Hidden = 500, Batch = 100;

    public static IEnumerable<BenchCase> Cases(ComputeDevice device, bool quick, int repeat)
    {
        // The fused half-sweeps alone (GEMM + bias + sigmoid + Bernoulli draw), at the training shapes.
        const int sweeps = 50;
        double sweepFlops = sweeps * 2.0 * Batch * 784 * Hidden;
        yield return new BenchCase("rbm", $"half-sweep v->h {Batch}x784 -> {Hidden} (x{sweeps})", () => HalfSweepSeconds(device, GemmLayout.NN, sweeps, repeat), sweepFlops, PeakKind.Flops, null);
        yield return new BenchCase("rbm", $"half-sweep h->v {Batch}x{Hidden} -> 784 (x{sweeps})", () => HalfSweepSeconds(device, GemmLayout.NT, sweeps, repeat), sweepFlops, PeakKind.Flops, null);
        int? limit = quick ? 5000 : null;
        var ds = FashionMnist.Load(null, limit);
        var train = ds.Train.Binarized();
        var test = ds.Test.Take(1000).Binarized();
        int epochs = Math.Max(1, Math.Min(repeat, 3));
        string[] common = ["--hidden", "500", "--batch", "100", "--seed", "1", "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--eval-every", "0", .. limit is int l ? new[] { "--limit", l.ToString(CultureInfo.InvariantCulture) } : []];
        foreach (var (name, kind, k) in new[] { ("CD-1", RbmSamplerKind.Cd, 1), ("CD-10", RbmSamplerKind.Cd, 10), ("PCD-1", RbmSamplerKind.Pcd, 1) })
        {
            int steps = (train.Count + Batch - 1) / Batch;
            // Half-sweeps (2 B nv nh flops each) plus the gradient product over the stacked 2B rows.
            int halfSweeps = kind == RbmSamplerKind.Cd ? 1 + 2 * k : 2 + 2 * k;
            double flops = (double)steps * 2.0 * Batch * train.Pixels * Hidden * (halfSweeps + 2);
            var torch = new PeerSpec("pytorch-rbm", "torch_rbm.py", [.. common, "--sampler", kind == RbmSamplerKind.Pcd ? "pcd" : "cd", "--k", k.ToString(CultureInfo.InvariantCulture)], MedianSeconds);
            yield return new BenchCase("rbm", $"{name} epoch {train.Count}x784x500", () => EpochSeconds(device, train, test, kind, k, epochs), flops, PeakKind.Flops, torch);
        }
        var sklearn = new PeerSpec("sklearn-bernoullirbm", "sklearn_rbm.py", ["--hidden", "500", "--seed", "1", "--batch", "100", "--epochs", "1", "--eval-every", "0", "--dtype", "float32", "--api", "fit-loop", .. limit is int m ? new[] { "--limit", m.ToString(CultureInfo.InvariantCulture) } : []], MedianSeconds);
        int st = (train.Count + Batch - 1) / Batch;
        yield return new BenchCase("rbm", $"PCD-1 epoch {train.Count}x784x500 (vs sklearn)", () => EpochSeconds(device, train, test, RbmSamplerKind.Pcd, 1, 1), st * 2.0 * Batch * train.Pixels * Hidden * 6, PeakKind.Flops, sklearn);
    }

    /// <summary>
    /// Median seconds of <paramref name="sweeps"/> half-sweeps of a 784 x 500 RBM on a batch of
    /// 100: v -> h is V (100 x 784) W (784 x 500), h -> v is H (100 x 500) W^T, each with the
    /// bias, the sigmoid and the Bernoulli draw fused into the GEMM, as the trainer runs them.
    /// </summary>
    private static double HalfSweepSeconds(ComputeDevice device, GemmLayout layout, int sweeps, int repeat)
    {
        const int visible = 784;
        int inputs = layout == GemmLayout.NN ? visible : Hidden, outputs = layout == GemmLayout.NN ? Hidden : visible;
        using var x = device.Allocate<float>((long)Batch * inputs);
        using var w = device.Allocate<float>((long)visible * Hidden);
        using var bias = device.Allocate<float>(outputs);
        using var p = device.Allocate<float>((long)Batch * outputs);
        using var s = device.Allocate<float>((long)Batch * outputs);
        RandomFill.Uniform(x, 3, 1);
        RandomFill.Uniform(w, 3, 2);
        RandomFill.Uniform(bias, 3, 3);
        var b = new MatrixView(w, visible, Hidden); // W is visible x hidden: NN reads it as k x n, NT as n x k
        long offset = 0;
        void Run()
        {
            for (int i = 0; i < sweeps; i++)
            {
                var e = new GemmEpilogue { Bias = bias, Activation = GemmActivation.Sigmoid, Samples = s, Seed = 9, Stream = 1, SampleOffset = offset };
                Gemm.Multiply(layout, (x, Batch, inputs), b, (p, Batch, outputs), e);
                offset += (long)Batch * outputs;
            }
            device.Synchronize();
        }
        return Timing.Median(Run, repeat);
    }

    private static double? MedianSeconds(JsonNode json) => json["seconds_per_epoch_median"]?.GetValue<double>();

    /// <summary>Median seconds of <paramref name="epochs"/> training epochs (a short warm-up run first loads and compiles everything).</summary>
    private static double EpochSeconds(ComputeDevice device, ImageSet train, ImageSet test, RbmSamplerKind kind, int k, int epochs)
    {
        var options = new RbmTrainerOptions { Sampler = kind, K = k, Seed = 1, BatchSize = Batch, MonitorRows = 10, AllBitsRows = 0 };
        var warm = train.Take(1000);
        using (var t = new RbmTrainer(device, Rbm.Initialize(train.Pixels, Hidden, 1, warm.PixelMeans()), warm.Images, test.Images, options))
            t.TrainEpoch();
        var rbm = Rbm.Initialize(train.Pixels, Hidden, 1, train.PixelMeans());
        using var trainer = new RbmTrainer(device, rbm, train.Images, test.Images, options);
        var times = new List<double>();
        for (int e = 0; e < epochs; e++)
            times.Add(trainer.TrainEpoch().Metrics!.Seconds);
        times.Sort();
        return times.Count % 2 == 1 ? times[times.Count / 2] : 0.5 * (times[times.Count / 2 - 1] + times[times.Count / 2]);
    }
}
