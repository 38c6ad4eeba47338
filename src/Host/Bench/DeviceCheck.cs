using System.Diagnostics;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.LinearAlgebra;
using InfoGpu.Measures;
using InfoGpu.Random;
using InfoGpu.Restricted;
using InfoGpu.Selection;
using InfoGpu.Training;
using InfoGpu.Variational;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Bench;

/// <summary>One agreement check: the largest deviation found, the tolerance it is held to, and why that tolerance.</summary>
internal sealed record CheckResult(string Name, string Metric, double Value, double Tolerance, string ToleranceName, string? Note = null)
{
    public bool Passed => !double.IsNaN(Value) && Value <= Tolerance;
}

/// <summary>One timing on the checked device: seconds per call (median) and a rate where one applies.</summary>
internal sealed record CheckTiming(string Name, double Seconds, string? Rate = null, double? RateValue = null);

/// <summary>
/// What <c>infogpu check-device</c> does: runs every operation on the checked device and on the
/// reference device (cpu) with the same inputs, compares them with named tolerances, and times
/// the steps the GPU goals are stated for (GEMM at 1024^3 by every route, RBM CD-1 / CD-10 /
/// PCD-1 steps at 784 x 500 with batch 100, the VAE step at 784-400-20 with batch 128,
/// entropy and KL over rows, mutual information).
/// </summary>
internal static class DeviceCheck
{
    /// <summary>Float32 GEMM against float64 with k up to 784 terms of magnitude below 1: sqrt(k) ulps of sums near 10, with room; probabilities (sigmoid) are compared in absolute terms.</summary>
    public const double GemmProbabilityAbsolute = 2e-5;

    /// <summary>The same inputs through two float32 products of different summation order: twice <see cref="GemmProbabilityAbsolute"/>.</summary>
    public const double GemmCrossAbsolute = 4e-5;

    /// <summary>Entropy and KL of 784-column rows in float32 with float64 accumulation: relative 1e-5 (the project's float32 tolerance), plus 1e-6 nats absolute near 0.</summary>
    public const double MeasureRelative = 1e-5;

    /// <summary>kNN mutual information: the same neighbours on both devices, float64 digamma sums; 1e-6 nats.</summary>
    public const double MutualInformationAbsolute = 1e-6;

    /// <summary>
    /// RBM weights after 5 CD-1 steps from the same start: a Bernoulli draw whose uniform falls
    /// within float32 rounding of its probability may differ between devices and moves one
    /// weight by lr/batch = 5e-4; 2e-3 allows a few such flips.
    /// </summary>
    public const double RbmWeightAbsolute = 2e-3;

    /// <summary>VAE training loss of one short epoch from the same start (Philox noise, float32 Adam): relative 1e-4.</summary>
    public const double VaeLossRelative = 1e-4;

    /// <summary>The groups of checks <c>--checks</c> may name.</summary>
    public static readonly string[] Groups = ["gemm", "measures", "mi", "rbm", "vae"];

    /// <summary>Runs the agreement checks of <paramref name="device"/> against <paramref name="reference"/>.</summary>
    /// <remarks><paramref name="quick"/> shrinks the GEMM, the RBM and the VAE (for ilgpu-cpu, which simulates every GPU thread).</remarks>
    public static List<CheckResult> Agreement(ComputeDevice device, ComputeDevice reference, bool quick, IReadOnlySet<string> only, Action<string> note)
    {
        var results = new List<CheckResult>();
        bool Wanted(string name) => only.Count == 0 || only.Contains(name);
        var routes = device.Info.Gemm is string g && g.StartsWith("cublas", StringComparison.Ordinal)
            ? new[] { GemmRoute.Auto, GemmRoute.HandWritten }
            : new[] { GemmRoute.Auto };
        foreach (var layout in Wanted("gemm") ? new[] { GemmLayout.NN, GemmLayout.NT, GemmLayout.TN } : [])
        {
            foreach (var route in routes)
            {
                note($"check: gemm {layout} ({route}) ...");
                if (quick)
                    results.AddRange(GemmAgreement(device, reference, layout, route, 37, 29, 19));
                else
                    results.AddRange(GemmAgreement(device, reference, layout, route, 100, 500, 784));
                results.AddRange(GemmAgreement(device, reference, layout, route, 17, 33, 65));
            }
        }
        if (Wanted("measures"))
        {
            note("check: entropy and KL ...");
            results.AddRange(MeasuresAgreement(device, reference));
        }
        if (Wanted("mi"))
        {
            note("check: mutual information ...");
            results.Add(MutualInformationAgreement(device, reference));
        }
        if (Wanted("rbm"))
        {
            note("check: RBM CD-1 steps ...");
            results.Add(RbmAgreement(device, reference, quick ? 16 : 64));
            note("check: RBM grid, fused step against each model alone ...");
            results.Add(RbmGridAgreement(device, quick ? 16 : 64));
        }
        if (Wanted("vae"))
        {
            note("check: VAE epoch ...");
            results.Add(VaeAgreement(device, reference, quick ? 40 : 400, quick ? 128 : 512));
            note("check: VAE grid, fused step against each model alone ...");
            results.Add(VaeGridAgreement(device, quick ? 40 : 400, quick ? 128 : 640));
        }
        return results;
    }

    private static float[] Uniform(int n, ulong stream, float scale = 1f)
    {
        var x = new float[n];
        RandomFill.Uniform(x, 17, stream);
        for (int i = 0; i < n; i++)
            x[i] = scale * (2 * x[i] - 1);
        return x;
    }

    private static IEnumerable<CheckResult> GemmAgreement(ComputeDevice device, ComputeDevice reference, GemmLayout layout, GemmRoute route, int m, int n, int k)
    {
        var a = Uniform(m * k, 1, 0.1f);
        var b = Uniform(k * n, 2, 0.1f);
        var bias = Uniform(n, 3);
        // float64 reference of sigmoid(op(A) op(B) + bias).
        var want = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = bias[j];
                for (int q = 0; q < k; q++)
                {
                    double av = layout == GemmLayout.TN ? a[q * m + i] : a[i * k + q];
                    double bv = layout == GemmLayout.NT ? b[j * k + q] : b[q * n + j];
                    sum += av * bv;
                }
                want[i * n + j] = 1 / (1 + Math.Exp(-sum));
            }
        }
        (float[] P, float[] S) Run(ComputeDevice d, GemmRoute r)
        {
            using var da = d.Allocate<float>(a.Length);
            using var db = d.Allocate<float>(b.Length);
            using var dbias = d.Allocate<float>(n);
            using var dc = d.Allocate<float>((long)m * n);
            using var ds = d.Allocate<float>((long)m * n);
            da.CopyFrom(a);
            db.CopyFrom(b);
            dbias.CopyFrom(bias);
            var av = layout == GemmLayout.TN ? new MatrixView(da, k, m) : new MatrixView(da, m, k);
            var bv = layout == GemmLayout.NT ? new MatrixView(db, n, k) : new MatrixView(db, k, n);
            var e = new GemmEpilogue { Bias = dbias, Activation = GemmActivation.Sigmoid, Samples = ds, Seed = 3, Stream = 7, SampleOffset = 11 };
            Gemm.Multiply(layout, av, bv, (dc, m, n), e, r);
            return (dc.ToArray(), ds.ToArray());
        }
        var (p, s) = Run(device, route);
        var (pr, sr) = Run(reference, GemmRoute.Auto);
        // The uniforms the draws compare with: draw (11 + i) of Philox stream (3, 7).
        var uniforms = new float[p.Length];
        RandomFill.Uniform(uniforms, 3, 7, 11);
        double vsFloat64 = 0, vsReference = 0;
        int unexplained = 0, flips = 0;
        for (int i = 0; i < p.Length; i++)
        {
            vsFloat64 = Math.Max(vsFloat64, Math.Abs(p[i] - want[i]));
            vsReference = Math.Max(vsReference, Math.Abs(p[i] - pr[i]));
            if (float.IsNaN(p[i]))
                vsFloat64 = double.NaN;
            if (s[i] != sr[i])
            {
                flips++;
                // A draw may differ only where the uniform lies between the two devices' probabilities,
                // each within GemmProbabilityAbsolute of the float64 one.
                if (Math.Abs(uniforms[i] - want[i]) > GemmProbabilityAbsolute)
                    unexplained++;
            }
        }
        string name = $"gemm {layout} {m}x{n}x{k} bias+sigmoid+draw ({RouteName(device, route)})";
        yield return new CheckResult(name + " vs float64", "max abs error", vsFloat64, GemmProbabilityAbsolute, nameof(GemmProbabilityAbsolute));
        yield return new CheckResult(name + " vs " + reference.Info.Kind, "max abs difference", vsReference, GemmCrossAbsolute, nameof(GemmCrossAbsolute));
        yield return new CheckResult(name + " draws vs " + reference.Info.Kind, "draws differing away from p", unexplained, 0, "exact", $"{flips} of {p.Length} draws differ; those allowed have |u - p_float64| <= {GemmProbabilityAbsolute}");
    }

    private static string RouteName(ComputeDevice device, GemmRoute route) => route switch
    {
        GemmRoute.HandWritten => "hand-written",
        _ => device.Info.Gemm is string g && g.StartsWith("cublas", StringComparison.Ordinal) ? "cublas + epilogue" : "device gemm",
    };

    /// <summary>Rows softmax(2 z), z standard normal from Philox, with some exact zeros.</summary>
    private static float[] Distributions(int rows, int cols, ulong stream)
    {
        var z = new float[rows * cols];
        RandomFill.Normal(z, 5, stream);
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int c = 0; c < cols; c++)
            {
                double v = (c * 7 + r) % 97 == 0 ? 0 : Math.Exp(2 * z[r * cols + c]);
                x[r * cols + c] = (float)v;
                sum += v;
            }
            for (int c = 0; c < cols; c++)
                x[r * cols + c] = (float)(x[r * cols + c] / sum);
        }
        return x;
    }

    private static IEnumerable<CheckResult> MeasuresAgreement(ComputeDevice device, ComputeDevice reference)
    {
        const int rows = 1000, cols = 784;
        var p = Distributions(rows, cols, 1);
        var q = Distributions(rows, cols, 2);
        for (int i = 0; i < q.Length; i++)
            q[i] = q[i] == 0 ? 1e-7f : q[i];
        var md = new InformationMeasures(device);
        var mr = new InformationMeasures(reference);
        yield return Relative("entropy 1000x784 (nats)", md.Entropy(p, cols, LogBase.Nats), mr.Entropy(p, cols, LogBase.Nats), reference);
        yield return Relative("KL 1000x784 (nats)", md.KlDivergence(p, q, cols, LogBase.Nats), mr.KlDivergence(p, q, cols, LogBase.Nats), reference);
    }

    private static CheckResult Relative(string name, float[] x, float[] y, ComputeDevice reference)
    {
        double worst = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = Math.Abs(x[i] - y[i]) / (Math.Abs(y[i]) + 0.1);
            worst = double.IsNaN(d) ? double.NaN : Math.Max(worst, d);
        }
        return new CheckResult($"{name} vs {reference.Info.Kind}", "max |x - y| / (|y| + 0.1)", worst, MeasureRelative, nameof(MeasureRelative));
    }

    private static (double[] X, double[] Y) MiData(int rows, int cols)
    {
        var u = new float[rows];
        var z = new float[rows * cols];
        RandomFill.Uniform(u, 3, 0);
        RandomFill.Normal(z, 3, 1);
        var x = new double[rows * cols];
        var y = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            y[r] = u[r] < 0.5 ? 0 : 1;
            for (int c = 0; c < cols; c++)
                x[r * cols + c] = z[r * cols + c] + (c < cols / 4 ? y[r] : 0);
        }
        return (x, y);
    }

    private static CheckResult MutualInformationAgreement(ComputeDevice device, ComputeDevice reference)
    {
        const int rows = 2000, cols = 12;
        var (x, y) = MiData(rows, cols);
        var a = new MutualInformationSelector(device).Select(x, rows, cols, y);
        var b = new MutualInformationSelector(reference).Select(x, rows, cols, y);
        double worst = a.Scores.Zip(b.Scores, (s, t) => Math.Abs(s - t)).Max();
        return new CheckResult($"mutual_info_classif {rows}x{cols} ({a.Method} vs {b.Method}) vs {reference.Info.Kind}", "max abs difference (nats)", worst, MutualInformationAbsolute, nameof(MutualInformationAbsolute));
    }

    private static CheckResult RbmAgreement(ComputeDevice device, ComputeDevice reference, int hidden)
    {
        var data = FashionMnist.Load(null, 1000).Train.Binarized();
        float[] Train(ComputeDevice d)
        {
            var options = new RbmTrainerOptions { Sampler = RbmSamplerKind.Cd, K = 1, Seed = 1, BatchSize = 100, MonitorRows = 10, AllBitsRows = 0 };
            var rbm = Rbm.Initialize(data.Pixels, hidden, 1, data.PixelMeans());
            using var t = new RbmTrainer(d, rbm, data.Images, [], options);
            for (int i = 0; i < 5; i++)
                t.TrainStep();
            t.SyncModel();
            return rbm.Weights.ToArray();
        }
        var w = Train(device);
        var wr = Train(reference);
        double worst = w.Zip(wr, (s, t) => (double)Math.Abs(s - t)).Max();
        return new CheckResult($"RBM 784x{hidden} weights after 5 CD-1 steps (batch 100) vs {reference.Info.Kind}", "max abs difference", worst, RbmWeightAbsolute, nameof(RbmWeightAbsolute));
    }

    /// <summary>
    /// Three CD-1 RBMs (other seeds, learning rates and weight decays) stepped 5 times by the fused
    /// grid step on <paramref name="device"/>, each against the same model stepped alone there: the
    /// largest weight difference. Equal on the CPU kinds; on <c>cuda</c> a model alone runs its
    /// GEMMs through cuBLAS and the grid through the hand-written batched kernel, so float32
    /// rounding may flip a draw (<see cref="RbmWeightAbsolute"/>).
    /// </summary>
    private static CheckResult RbmGridAgreement(ComputeDevice device, int hidden)
    {
        var data = FashionMnist.Load(null, 1000).Train.Binarized();
        var settings = new[] { (1UL, 0.1, 0.0), (2UL, 0.05, 1e-4), (3UL, 0.2, 1e-3) }
            .Select(m => new RbmTrainerOptions { Sampler = RbmSamplerKind.Cd, K = 1, Seed = m.Item1, LearningRate = m.Item2, WeightDecay = m.Item3, BatchSize = 100, MonitorRows = 10, AllBitsRows = 0 })
            .ToArray();
        RbmTrainer New(RbmTrainerOptions o) => new(device, Rbm.Initialize(data.Pixels, hidden, o.Seed, data.PixelMeans()), data.Images, [], o);
        var trainers = settings.Select(New).ToList();
        double worst = 0;
        try
        {
            using (var grid = new ModelGrid<RbmEpochMetrics>([.. trainers.Select(t => new TrainingSession<RbmEpochMetrics>(t, new TrainingSessionOptions()))], ["m1", "m2", "m3"], GridStepping.Fused))
            {
                if (!grid.Fused)
                    return new CheckResult($"RBM grid of 3 784x{hidden} models, fused step vs each alone", "max abs difference", double.NaN, RbmWeightAbsolute, nameof(RbmWeightAbsolute), $"the grid did not fuse: {grid.NotFusedReason}");
                for (int i = 0; i < 5; i++)
                    grid.TrainStep();
            }
            foreach (var (t, o) in trainers.Zip(settings))
            {
                t.SyncModel();
                using var alone = New(o);
                for (int i = 0; i < 5; i++)
                    alone.TrainStep();
                alone.SyncModel();
                worst = Math.Max(worst, t.Model.Weights.Zip(alone.Model.Weights, (a, b) => (double)Math.Abs(a - b)).Max());
            }
        }
        finally
        {
            foreach (var t in trainers)
                t.Dispose();
        }
        return new CheckResult($"RBM grid of 3 784x{hidden} models, 5 fused CD-1 steps vs each model alone on {device.Info.Kind}", "max abs difference", worst, RbmWeightAbsolute, nameof(RbmWeightAbsolute));
    }

    private static CheckResult VaeAgreement(ComputeDevice device, ComputeDevice reference, int hidden, int images)
    {
        var data = FashionMnist.Load(null, images);
        double Loss(ComputeDevice d)
        {
            var vae = Vae.Create(data.Train.Pixels, hidden, 20, 1);
            using var t = new VaeTrainer(d, vae, data.Train.Images, data.Test.Take(128).Images, new VaeTrainerOptions { Epochs = 1, Hidden = hidden, Latent = 20, BatchSize = 128 });
            return t.TrainEpoch().Metrics!.TrainLoss;
        }
        double a = Loss(device), b = Loss(reference);
        return new CheckResult($"VAE 784-{hidden}-20 train loss of one epoch of {images} images vs {reference.Info.Kind}", "relative difference", Math.Abs(a - b) / Math.Abs(b), VaeLossRelative, nameof(VaeLossRelative), $"{a:G7} against {b:G7}");
    }

    /// <summary>
    /// Three VAEs (other seeds, learning rates and betas) trained one epoch by the fused grid step
    /// on <paramref name="device"/>, each against the same model trained alone there: the largest
    /// relative difference of the epoch's train and test losses. Equal on the CPU kinds; on
    /// <c>cuda</c> a model alone runs its GEMMs through cuBLAS and the grid through the hand-written
    /// batched kernel, so the sums round differently (<see cref="VaeLossRelative"/>).
    /// </summary>
    private static CheckResult VaeGridAgreement(ComputeDevice device, int hidden, int images)
    {
        var data = FashionMnist.Load(null, images);
        var test = data.Test.Take(128).Images;
        var common = new VaeTrainerOptions { Epochs = 1, Hidden = hidden, Latent = 20, BatchSize = 128 };
        var settings = new[] { common with { Seed = 1 }, common with { Seed = 2, LearningRate = 3e-3, Beta = 0.5 }, common with { Seed = 3, LearningRate = 5e-4, Beta = 4 } };
        VaeTrainer New(VaeTrainerOptions o) => new(device, Vae.Create(data.Train.Pixels, hidden, 20, o.Seed), data.Train.Images, test, o);
        var trainers = settings.Select(New).ToList();
        var fused = new VaeEpochMetrics?[settings.Length];
        double worst = 0;
        string detail = "";
        try
        {
            using (var grid = new ModelGrid<VaeEpochMetrics>([.. trainers.Select(t => new TrainingSession<VaeEpochMetrics>(t, new TrainingSessionOptions()))], ["m1", "m2", "m3"], GridStepping.Fused))
            {
                if (!grid.Fused)
                    return new CheckResult($"VAE grid of 3 784-{hidden}-20 models, fused step vs each alone", "relative difference", double.NaN, VaeLossRelative, nameof(VaeLossRelative), $"the grid did not fuse: {grid.NotFusedReason}");
                grid.EpochCompleted += (m, x) => fused[m] = x;
                grid.Run();
            }
            for (int i = 0; i < settings.Length; i++)
            {
                using var alone = New(settings[i]);
                var a = alone.TrainEpoch().Metrics!;
                var f = fused[i]!;
                foreach (var (x, y) in new[] { (f.TrainLoss, a.TrainLoss), (f.TestLoss, a.TestLoss) })
                {
                    double r = Math.Abs(x - y) / Math.Abs(y);
                    if (!(r <= worst))
                    {
                        worst = r;
                        detail = FormattableString.Invariant($"model {i + 1}: {x:G7} against {y:G7}");
                    }
                }
            }
        }
        finally
        {
            foreach (var t in trainers)
                t.Dispose();
        }
        return new CheckResult($"VAE grid of 3 784-{hidden}-20 models, one fused epoch of {images} images vs each model alone on {device.Info.Kind}", "relative difference", worst, VaeLossRelative, nameof(VaeLossRelative), detail);
    }

    /// <summary>Times the steps on <paramref name="device"/>; <paramref name="quick"/> shrinks the GEMM and the rows (for ilgpu-cpu, which simulates every thread).</summary>
    public static List<CheckTiming> Timings(ComputeDevice device, bool quick, Action<string> note)
    {
        var list = new List<CheckTiming>();
        int n = quick ? 64 : 1024;
        foreach (var route in new[] { GemmRoute.Vendor, GemmRoute.Auto, GemmRoute.HandWritten })
        {
            if (route == GemmRoute.Vendor && !(device.Info.Gemm?.StartsWith("cublas", StringComparison.Ordinal) ?? false))
                continue;
            note($"time: gemm {n}^3 {route} ...");
            double s = GemmSeconds(device, n, route);
            list.Add(new CheckTiming($"gemm {n}^3 {RouteLabel(route)}", s, "GFLOP/s", 2.0 * n * n * n / s / 1e9));
        }
        // The RBM's half-sweep, GEMM + bias + sigmoid + draw: cuBLAS and the epilogue kernel
        // against the hand-written kernel with the epilogue fused (which to use where is measured here).
        foreach (var route in new[] { GemmRoute.Auto, GemmRoute.HandWritten })
        {
            int rows = quick ? 10 : 100, visible = 784, units = quick ? 16 : 500;
            note($"time: half-sweep {rows}x{visible} -> {units} {route} ...");
            double s = HalfSweepSeconds(device, rows, visible, units, route);
            list.Add(new CheckTiming($"half-sweep {rows}x{visible}->{units} sigmoid+draw {RouteLabel(route)}", s, "GFLOP/s", 2.0 * rows * visible * units / s / 1e9));
        }
        int hidden = quick ? 16 : 500, batch = quick ? 10 : 100;
        var data = FashionMnist.Load(null, quick ? 100 : 2000).Train.Binarized();
        foreach (var (name, kind, k) in new[] { ("CD-1", RbmSamplerKind.Cd, 1), ("CD-10", RbmSamplerKind.Cd, 10), ("PCD-1", RbmSamplerKind.Pcd, 1) })
        {
            note($"time: RBM {name} step ...");
            var options = new RbmTrainerOptions { Sampler = kind, K = k, Seed = 1, BatchSize = batch, MonitorRows = 10, AllBitsRows = 0, Epochs = 1000 };
            using var t = new RbmTrainer(device, Rbm.Initialize(data.Pixels, hidden, 1, data.PixelMeans()), data.Images, [], options);
            double s = Timing.Median(() => StepOnce(t, device), 5);
            list.Add(new CheckTiming($"rbm {name} step {data.Pixels}x{hidden} batch {batch}", s, "steps/s", 1 / s));
        }
        {
            // The M-model sweep: one fused grid step of M CD-1 RBMs (one set of launches), and the same
            // M models stepped one after another; gpu-check.sh sets the fused step against M
            // sequential PyTorch steps.
            int models = quick ? 4 : 64;
            GridTimings<RbmEpochMetrics>(
                list,
                device,
                Enumerable.Range(1, models).Select(m => new RbmTrainer(device, Rbm.Initialize(data.Pixels, hidden, (ulong)m, data.PixelMeans()), data.Images, [], new RbmTrainerOptions { Sampler = RbmSamplerKind.Cd, K = 1, Seed = (ulong)m, BatchSize = batch, MonitorRows = 10, AllBitsRows = 0, Epochs = 1000 })),
                $"RBM grid of {models} models",
                $"rbm grid {models} models CD-1 step {{0}} {data.Pixels}x{hidden} batch {batch}",
                note);
        }
        {
            note("time: VAE step ...");
            var vdata = FashionMnist.Load(null, quick ? 64 : 2048);
            int vh = quick ? 16 : 400, vb = quick ? 16 : 128;
            var vae = Vae.Create(vdata.Train.Pixels, vh, 20, 1);
            using var t = new VaeTrainer(device, vae, vdata.Train.Images, vdata.Test.Take(128).Images, new VaeTrainerOptions { Epochs = 1000, Hidden = vh, Latent = 20, BatchSize = vb });
            double s = Timing.Median(() => StepOnce(t, device), 5);
            list.Add(new CheckTiming($"vae step {vdata.Train.Pixels}-{vh}-20 batch {vb}", s, "steps/s", 1 / s));

            // The beta sweep: M VAEs (a beta each) in one fused grid step, and the same M one after
            // another; gpu-check.sh sets the fused step against M sequential PyTorch VAE steps.
            int models = quick ? 4 : 16;
            GridTimings<VaeEpochMetrics>(
                list,
                device,
                Enumerable.Range(1, models).Select(m => new VaeTrainer(device, Vae.Create(vdata.Train.Pixels, vh, 20, (ulong)m), vdata.Train.Images, vdata.Test.Take(128).Images, new VaeTrainerOptions { Epochs = 1000, Hidden = vh, Latent = 20, BatchSize = vb, Seed = (ulong)m, Beta = 0.25 * m })),
                $"VAE grid of {models} models",
                $"vae grid {models} models step {{0}} {vdata.Train.Pixels}-{vh}-20 batch {vb}",
                note);
        }
        {
            int rows = quick ? 200 : 100_000;
            note($"time: entropy and KL {rows}x784 ...");
            using var p = device.Allocate<float>((long)rows * 784);
            using var q = device.Allocate<float>((long)rows * 784);
            using var r = device.Allocate<float>(rows);
            var host = Distributions(Math.Min(rows, 1000), 784, 1);
            for (long off = 0; off < (long)rows * 784; off += host.Length)
            {
                int len = (int)Math.Min(host.Length, (long)rows * 784 - off);
                p.CopyFrom(host.AsSpan(0, len), off);
                q.CopyFrom(host.AsSpan(0, len), off);
            }
            var m = new InformationMeasures(device);
            double se = Timing.Median(() => { m.Entropy(p, rows, 784, r, LogBase.Nats); device.Synchronize(); }, 5);
            list.Add(new CheckTiming($"entropy {rows}x784 (device buffers)", se, "GB/s", 4.0 * rows * 784 / se / 1e9));
            double sk = Timing.Median(() => { m.KlDivergence(p, q, rows, 784, r, LogBase.Nats); device.Synchronize(); }, 5);
            list.Add(new CheckTiming($"kl {rows}x784 (device buffers)", sk, "GB/s", 8.0 * rows * 784 / sk / 1e9));
        }
        {
            int rows = quick ? 300 : 10_000, cols = quick ? 4 : 50;
            note($"time: mutual information {rows}x{cols} ...");
            var (x, y) = MiData(rows, cols);
            var sel = new MutualInformationSelector(device);
            double s = Timing.Median(() => sel.Select(x, rows, cols, y), 3);
            list.Add(new CheckTiming($"mutual_info_classif {rows}x{cols}", s));
        }
        return list;
    }

    /// <summary>
    /// Times a grid step of <paramref name="create"/>'s trainers twice, fused (one set of launches)
    /// and one model after another, on the same models; <paramref name="name"/> is a format with
    /// {0} for "fused" or "one by one". The trainers are disposed.
    /// </summary>
    private static void GridTimings<TMetrics>(List<CheckTiming> list, ComputeDevice device, IEnumerable<ITrainer<TMetrics>> create, string what, string name, Action<string> note)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        var trainers = new List<ITrainer<TMetrics>>();
        try
        {
            trainers.AddRange(create);
            foreach (var (stepping, label) in new[] { (GridStepping.Fused, "fused"), (GridStepping.OneByOne, "one by one") })
            {
                note($"time: {what}, {label} ...");
                using var grid = new ModelGrid<TMetrics>([.. trainers.Select(t => new TrainingSession<TMetrics>(t, new TrainingSessionOptions()))], [.. trainers.Select((_, i) => $"m{i}")], stepping);
                double s = Timing.Median(
                    () =>
                    {
                        if (trainers[0].StepInEpoch >= trainers[0].StepsPerEpoch)
                            grid.EndEpoch();
                        grid.TrainStep();
                        device.Synchronize();
                    },
                    5);
                list.Add(new CheckTiming(string.Format(System.Globalization.CultureInfo.InvariantCulture, name, label), s, "model steps/s", trainers.Count / s));
            }
        }
        finally
        {
            foreach (var t in trainers)
                t.Dispose();
        }
    }

    /// <summary>
    /// One training step and a wait for the device; a call that finds the epoch's steps done
    /// closes the epoch first (its evaluation then lands in that one call, which the median of
    /// the timed calls leaves out).
    /// </summary>
    private static void StepOnce<TMetrics>(ITrainer<TMetrics> trainer, ComputeDevice device)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        if (trainer.StepInEpoch >= trainer.StepsPerEpoch)
            trainer.EndEpoch();
        trainer.TrainStep();
        device.Synchronize();
    }

    private static string RouteLabel(GemmRoute route) => route switch
    {
        GemmRoute.Vendor => "cublas alone",
        GemmRoute.HandWritten => "hand-written",
        _ => "device gemm (auto)",
    };

    private static double HalfSweepSeconds(ComputeDevice device, int rows, int visible, int units, GemmRoute route)
    {
        using var v = device.Allocate<float>((long)rows * visible);
        using var w = device.Allocate<float>((long)visible * units);
        using var bias = device.Allocate<float>(units);
        using var p = device.Allocate<float>((long)rows * units);
        using var s = device.Allocate<float>((long)rows * units);
        RandomFill.Uniform(v, 2, 1);
        RandomFill.Uniform(w, 2, 2);
        RandomFill.Uniform(bias, 2, 3);
        const int calls = 20;
        long offset = 0;
        void Once()
        {
            for (int i = 0; i < calls; i++)
            {
                var e = new GemmEpilogue { Bias = bias, Activation = GemmActivation.Sigmoid, Samples = s, Seed = 1, Stream = 2, SampleOffset = offset };
                Gemm.Multiply(GemmLayout.NN, (v, rows, visible), (w, visible, units), (p, rows, units), e, route);
                offset += (long)rows * units;
            }
            device.Synchronize();
        }
        return Timing.Median(Once, 5) / calls;
    }

    private static double GemmSeconds(ComputeDevice device, int n, GemmRoute route)
    {
        using var a = device.Allocate<float>((long)n * n);
        using var b = device.Allocate<float>((long)n * n);
        using var c = device.Allocate<float>((long)n * n);
        RandomFill.Uniform(a, 1, 1);
        RandomFill.Uniform(b, 1, 2);
        const int calls = 10;
        void Once()
        {
            for (int i = 0; i < calls; i++)
                Gemm.Multiply(GemmLayout.NN, (a, n, n), (b, n, n), (c, n, n), GemmEpilogue.None, route);
            device.Synchronize();
        }
        return Timing.Median(Once, 5) / calls;
    }

    /// <summary>The JSON document of a check.</summary>
    public static JsonObject Document(ComputeDevice device, ComputeDevice reference, List<CheckResult> checks, List<CheckTiming> timings, double seconds)
    {
        var c = new JsonArray();
        foreach (var r in checks)
        {
            c.Add(new JsonObject
            {
                ["name"] = r.Name,
                ["metric"] = r.Metric,
                ["value"] = Json.Number(r.Value),
                ["tolerance"] = Json.Number(r.Tolerance),
                ["tolerance_name"] = r.ToleranceName,
                ["passed"] = r.Passed,
                ["note"] = r.Note,
            });
        }
        var t = new JsonArray();
        foreach (var r in timings)
        {
            t.Add(new JsonObject
            {
                ["name"] = r.Name,
                ["seconds"] = Json.Number(r.Seconds),
                ["rate"] = r.RateValue is double v ? Json.Number(v) : null,
                ["rate_unit"] = r.Rate,
            });
        }
        return new JsonObject
        {
            ["device"] = device.Info.Kind,
            ["device_name"] = device.Info.Name,
            ["gemm"] = device.Info.Gemm,
            ["against"] = reference.Info.Kind,
            ["checks"] = c,
            ["passed"] = checks.All(r => r.Passed),
            ["timings"] = t,
            ["seconds"] = Json.Number(seconds),
            ["version"] = BuildInfo.Line,
        };
    }

    /// <summary>Wall seconds since <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static double Since(long start) => Stopwatch.GetElapsedTime(start).TotalSeconds;
}
