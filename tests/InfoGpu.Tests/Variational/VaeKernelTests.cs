using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Variational;

/// <summary>Each VAE kernel against a float64 evaluation of its formula, on <c>cpu</c> and <c>ilgpu-cpu</c>, at odd sizes.</summary>
public class VaeKernelTests
{
    /// <summary>Float32 transcendental functions and sums of a few dozen terms: a few ulps of the row scale.</summary>
    private const double Rel = 2e-5;
    private const double Abs = 2e-5;

    private static float[] Random(int n, ulong stream, float scale = 1f, float shift = 0f) =>
        Enumerable.Range(0, n).Select(i => (2 * Philox.Uniform(9, stream, (ulong)i) - 1) * scale + shift).ToArray();

    private static float[] Unit(int n, ulong stream) =>
        Enumerable.Range(0, n).Select(i => Philox.Uniform(9, stream, (ulong)i)).ToArray();

    private static DeviceBuffer<float> Upload(ComputeDevice d, float[] x)
    {
        var b = d.Allocate<float>(x.Length);
        b.CopyFrom(x);
        return b;
    }

    private static void Close(double[] expected, float[] actual, string what, double rel = Rel, double abs = Abs) =>
        Tolerance.AllClose(expected, actual.Select(v => (double)v).ToArray(), rel, abs, what);

    [Theory]
    [InlineData("cpu", 1)]
    [InlineData("cpu", 3)]
    [InlineData("ilgpu-cpu", 1)]
    [InlineData("ilgpu-cpu", 3)]
    public void CrossEntropyAndGradientMatchFloat64(string kind, int repeat)
    {
        const int rows = 6, cols = 37;
        var logits = Random(rows * cols, 1, 12f);
        logits[0] = 60f;
        logits[1] = -60f;
        var x = Unit(rows / repeat * cols, 2);
        var expectedLoss = new double[rows];
        var expectedGrad = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                double l = logits[r * cols + c], xv = x[r / repeat * cols + c];
                double p = 1 / (1 + Math.Exp(-l));
                expectedLoss[r] += Math.Max(l, 0) + Math.Log(1 + Math.Exp(-Math.Abs(l))) - xv * l;
                expectedGrad[r * cols + c] = p - xv;
            }
        }
        var (loss, grad) = TestDevices.Use(kind, d =>
        {
            using var lb = Upload(d, logits);
            using var xb = Upload(d, x);
            using var ob = d.Allocate<float>(rows);
            d.Backend.VaeCrossEntropy(lb, xb, ob, rows, cols, repeat, gradient: true);
            return (ob.ToArray(), lb.ToArray());
        });
        Close(expectedLoss, loss, "cross-entropy per row", Rel, 1e-4);
        Close(expectedGrad, grad, "sigmoid(l) - x");
    }

    [Theory]
    [InlineData("cpu", 1)]
    [InlineData("cpu", 4)]
    [InlineData("ilgpu-cpu", 1)]
    [InlineData("ilgpu-cpu", 4)]
    public void ReparameterizeDrawsPhiloxNormalsAndShiftsThem(string kind, int repeat)
    {
        const int rows = 8, latent = 5;
        const long offset = 13; // odd: the Box-Muller pairs straddle rows
        var stats = Random(rows / repeat * 2 * latent, 3, 1.5f);
        var (eps, z) = TestDevices.Use(kind, d =>
        {
            using var s = Upload(d, stats);
            using var e = d.Allocate<float>(rows * latent);
            using var zb = d.Allocate<float>(rows * latent);
            d.Backend.VaeReparameterize(s, e, zb, rows, latent, repeat, 7, 21, offset);
            return (e.ToArray(), zb.ToArray());
        });
        var expectedEps = new double[rows * latent];
        var expectedZ = new double[rows * latent];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < latent; j++)
            {
                int i = r * latent + j;
                double e = Philox.Normal(7, 21, (ulong)(offset + i));
                int sr = r / repeat;
                expectedEps[i] = e;
                expectedZ[i] = stats[sr * 2 * latent + j] + Math.Exp(0.5 * stats[sr * 2 * latent + latent + j]) * e;
            }
        }
        Close(expectedEps, eps, "eps", 0, 0);
        Close(expectedZ, z, "z");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ReparameterizeBackwardKlAndLatentWeightMatchFloat64(string kind)
    {
        const int rows = 7, latent = 3;
        const float beta = 1.7f;
        var stats = Random(rows * 2 * latent, 4, 1.2f);
        var eps = Random(rows * latent, 5, 2f);
        var dz = Random(rows * latent, 6);
        var z = Random(rows * latent, 7, 2f);
        var (dstats, kl, lw) = TestDevices.Use(kind, d =>
        {
            using var s = Upload(d, stats);
            using var e = Upload(d, eps);
            using var g = Upload(d, dz);
            using var zb = Upload(d, z);
            using var ds = d.Allocate<float>(rows * 2 * latent);
            using var k = d.Allocate<float>(rows);
            using var w = d.Allocate<float>(rows);
            d.Backend.VaeReparameterizeBackward(s, e, g, ds, rows, latent, beta);
            d.Backend.VaeKl(s, k, rows, latent);
            d.Backend.VaeLatentLogWeight(s, e, zb, w, rows, latent, 1);
            return (ds.ToArray(), k.ToArray(), w.ToArray());
        });
        var eds = new double[rows * 2 * latent];
        var ekl = new double[rows];
        var elw = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < latent; j++)
            {
                double mu = stats[r * 2 * latent + j], lv = stats[r * 2 * latent + latent + j];
                double e = eps[r * latent + j], g = dz[r * latent + j], zz = z[r * latent + j];
                eds[r * 2 * latent + j] = g + beta * mu;
                eds[r * 2 * latent + latent + j] = g * e * 0.5 * Math.Exp(0.5 * lv) + beta * 0.5 * (Math.Exp(lv) - 1);
                ekl[r] += -0.5 * (1 + lv - mu * mu - Math.Exp(lv));
                // log N(z; 0, 1) - log N(z; mu, sigma^2) with z - mu = sigma eps.
                elw[r] += -0.5 * zz * zz + 0.5 * e * e + 0.5 * lv;
            }
        }
        Close(eds, dstats, "d(mu, logvar)");
        Close(ekl, kl, "KL");
        Close(elw, lw, "log p(z) - log q(z|x)");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ReluBackwardColumnSumsAndGatherMatchFloat64(string kind)
    {
        const int rows = 9, cols = 21;
        var dy = Random(rows * cols, 8);
        var y = Random(rows * cols, 9);
        var src = Random(5 * cols, 10);
        int[] idx = [4, 0, 3, 3, 1];
        var (masked, sums, plain, gathered) = TestDevices.Use(kind, d =>
        {
            using var a = Upload(d, dy);
            using var b = Upload(d, y);
            using var s = d.Allocate<float>(cols);
            using var c = Upload(d, dy);
            using var s2 = d.Allocate<float>(cols);
            using var sb = Upload(d, src);
            using var ib = d.Allocate<int>(idx.Length);
            ib.CopyFrom(idx);
            using var gb = d.Allocate<float>(idx.Length * cols);
            d.Backend.VaeReluBackward(a, b, s, rows, cols);
            d.Backend.VaeColumnSums(c, s2, rows, cols);
            d.Backend.GatherRows(sb, ib, gb, 0, idx.Length, cols, 0);
            return (a.ToArray(), s.ToArray(), s2.ToArray(), gb.ToArray());
        });
        var em = new double[rows * cols];
        var es = new double[cols];
        var ep = new double[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                em[r * cols + c] = y[r * cols + c] > 0 ? dy[r * cols + c] : 0;
                es[c] += em[r * cols + c];
                ep[c] += dy[r * cols + c];
            }
        }
        Close(em, masked, "ReLU backward", 0, 0);
        Close(es, sums, "bias gradient");
        Close(ep, plain, "column sums");
        Close(idx.SelectMany(i => src.Skip(i * cols).Take(cols)).Select(v => (double)v).ToArray(), gathered, "gathered rows", 0, 0);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void AdamStepMatchesTorchFormulaInFloat64(string kind)
    {
        const int n = 37;
        var p = Random(n, 11);
        var g = Random(n, 12, 3f);
        var m = Random(n, 13, 0.1f);
        var v = Unit(n, 14).Select(x => x * 0.01f).ToArray();
        const double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        const int t = 3;
        var args = new AdamArgs { OneMinusBeta1 = (float)(1 - b1), Beta2 = (float)b2, OneMinusBeta2 = (float)(1 - b2), StepSize = (float)(lr / (1 - Math.Pow(b1, t))), Bias2Sqrt = (float)Math.Sqrt(1 - Math.Pow(b2, t)), Epsilon = (float)eps };
        var (pp, mm, vv) = TestDevices.Use(kind, d =>
        {
            using var pb = Upload(d, p);
            using var gb = Upload(d, g);
            using var mb = Upload(d, m);
            using var vb = Upload(d, v);
            d.Backend.VaeAdam([pb], [gb], [mb], [vb], args);
            return (pb.ToArray(), mb.ToArray(), vb.ToArray());
        });
        var ep = new double[n];
        var em = new double[n];
        var ev = new double[n];
        for (int i = 0; i < n; i++)
        {
            // torch.optim.Adam (single tensor): m.lerp_(g, 1 - b1); v = b2 v + (1 - b2) g^2;
            // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
            em[i] = m[i] + (1 - b1) * (g[i] - m[i]);
            ev[i] = b2 * v[i] + (1 - b2) * g[i] * (double)g[i];
            ep[i] = p[i] - lr / (1 - Math.Pow(b1, t)) * em[i] / (Math.Sqrt(ev[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps);
        }
        Close(em, mm, "m");
        Close(ev, vv, "v", 1e-5, 1e-9);
        Close(ep, pp, "parameters", 1e-6, 1e-7);
    }

    /// <summary>
    /// A float32 sum of up to 1100 non-negative terms in any order (serial per lane, then a
    /// tree) against float64: the worst case is n eps = 6.6e-5 relative for a single serial lane;
    /// rounding errors of random sign give a few 1e-6, so 2e-5 leaves room without hiding a
    /// wrong or missing term (each term is at least 1e-4 of its row's sum here).
    /// </summary>
    private const double WideRowRel = 2e-5;

    /// <summary>Two float32 results each within <see cref="Rel"/> of float64 are within twice that of each other.</summary>
    private const double BetweenBackendsRel = 2 * Rel;

    private sealed record Reductions(float[] Loss, float[] Grad, float[] Kl, float[] LatentWeight, float[] Masked, float[] ReluSums, float[] ColumnSums, float[][] Adam);

    private const int Rows = 5, WideCols = 1100, TallRows = 70, Cols = 37, LatentRows = 15, Latent = 5, Repeat = 3;

    private static readonly int[] AdamLengths = [37, 1, 0, 5, 1100, 3, 7, 2, 11]; // nine tensors: two launches of up to eight

    private static Reductions RunReductions(ComputeDevice d, float[] logits, float[] x, float[] stats, float[] eps, float[] z, float[] dy, float[] y, float[][] adamIn, AdamArgs args)
    {
        using var lb = Upload(d, logits);
        using var xb = Upload(d, x);
        using var loss = d.Allocate<float>(Rows);
        d.Backend.VaeCrossEntropy(lb, xb, loss, Rows, WideCols, 1, gradient: true);
        using var sb = Upload(d, stats);
        using var eb = Upload(d, eps);
        using var zb = Upload(d, z);
        using var kl = d.Allocate<float>(LatentRows / Repeat);
        using var lw = d.Allocate<float>(LatentRows);
        d.Backend.VaeKl(sb, kl, LatentRows / Repeat, Latent);
        d.Backend.VaeLatentLogWeight(sb, eb, zb, lw, LatentRows, Latent, Repeat);
        using var dyb = Upload(d, dy);
        using var yb = Upload(d, y);
        using var rs = d.Allocate<float>(Cols);
        using var plain = Upload(d, dy);
        using var cs = d.Allocate<float>(Cols);
        d.Backend.VaeReluBackward(dyb, yb, rs, TallRows, Cols);
        d.Backend.VaeColumnSums(plain, cs, TallRows, Cols);
        var tensors = adamIn.Select(a => Upload(d, a)).ToArray();
        int n = AdamLengths.Length;
        d.Backend.VaeAdam(tensors[..n], tensors[n..(2 * n)], tensors[(2 * n)..(3 * n)], tensors[(3 * n)..], args);
        var adamOut = tensors.Select(t => t.ToArray()).ToArray();
        foreach (var t in tensors)
            t.Dispose();
        return new Reductions(loss.ToArray(), lb.ToArray(), kl.ToArray(), lw.ToArray(), dyb.ToArray(), rs.ToArray(), cs.ToArray(), adamOut);
    }

    /// <summary>
    /// The group-parallel kernels (row blocks: cross-entropy over 1100 columns, KL and the latent
    /// log-weight over 5; column tiles: ReLU backward and column sums over 70 rows of 37 columns;
    /// Adam over nine tensors in two launches) on a GPU-shaped simulator at every tested group
    /// size: against float64, and against the <c>cpu</c> backend (to float32 rounding: the sums
    /// run in another order; element-wise results bit for bit).
    /// </summary>
    [Theory]
    [MemberData(nameof(TestDevices.GroupSizes), MemberType = typeof(TestDevices))]
    public void GroupParallelKernelsMatchCpuAndFloat64AtEveryGroupSize(int groupSize)
    {
        var logits = Random(Rows * WideCols, 21, 12f);
        var x = Unit(Rows * WideCols, 22);
        var stats = Random(LatentRows / Repeat * 2 * Latent, 23, 1.2f);
        var eps = Random(LatentRows * Latent, 24, 2f);
        var z = Random(LatentRows * Latent, 25, 2f);
        var dy = Random(TallRows * Cols, 26);
        var y = Random(TallRows * Cols, 27);
        int n = AdamLengths.Length;
        var adamIn = new float[4 * n][];
        for (int t = 0; t < n; t++)
        {
            adamIn[t] = Random(AdamLengths[t], 30 + (ulong)t);
            adamIn[n + t] = Random(AdamLengths[t], 40 + (ulong)t, 3f);
            adamIn[2 * n + t] = Random(AdamLengths[t], 50 + (ulong)t, 0.1f);
            adamIn[3 * n + t] = Unit(AdamLengths[t], 60 + (ulong)t).Select(v => v * 0.01f).ToArray();
        }
        var args = new AdamArgs { OneMinusBeta1 = 0.1f, Beta2 = 0.999f, OneMinusBeta2 = 0.001f, StepSize = 1e-3f / 0.271f, Bias2Sqrt = 0.0547f, Epsilon = 1e-8f };
        var cpu = TestDevices.Use("cpu", d => RunReductions(d, logits, x, stats, eps, z, dy, y, adamIn, args));
        var gpu = TestDevices.UseSimulatedGpu(groupSize, d => RunReductions(d, logits, x, stats, eps, z, dy, y, adamIn, args));

        var eLoss = new double[Rows];
        var eGrad = new double[Rows * WideCols];
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < WideCols; c++)
            {
                double l = logits[r * WideCols + c], xv = x[r * WideCols + c];
                eLoss[r] += Math.Max(l, 0) + Math.Log(1 + Math.Exp(-Math.Abs(l))) - xv * l;
                eGrad[r * WideCols + c] = 1 / (1 + Math.Exp(-l)) - xv;
            }
        }
        int statsRows = LatentRows / Repeat;
        var eKl = new double[statsRows];
        var eLw = new double[LatentRows];
        for (int r = 0; r < LatentRows; r++)
        {
            for (int j = 0; j < Latent; j++)
            {
                int s = r / Repeat * 2 * Latent;
                double e = eps[r * Latent + j], zz = z[r * Latent + j], lv = stats[s + Latent + j];
                eLw[r] += 0.5 * (e * e - zz * zz + lv);
            }
        }
        for (int r = 0; r < statsRows; r++)
        {
            for (int j = 0; j < Latent; j++)
            {
                double mu = stats[r * 2 * Latent + j], lv = stats[r * 2 * Latent + Latent + j];
                eKl[r] += -0.5 * (1 + lv - mu * mu - Math.Exp(lv));
            }
        }
        var eMasked = new double[TallRows * Cols];
        var eRelu = new double[Cols];
        var eCols = new double[Cols];
        for (int r = 0; r < TallRows; r++)
        {
            for (int c = 0; c < Cols; c++)
            {
                int k = r * Cols + c;
                eMasked[k] = y[k] > 0 ? dy[k] : 0;
                eRelu[c] += eMasked[k];
                eCols[c] += dy[k];
            }
        }

        string at = $"group size {groupSize}";
        Close(eLoss, gpu.Loss, $"{at}: cross-entropy of 1100-column rows", WideRowRel, 0);
        Close(eGrad, gpu.Grad, $"{at}: sigmoid(l) - x");
        Close(eKl, gpu.Kl, $"{at}: KL");
        Close(eLw, gpu.LatentWeight, $"{at}: latent log-weight");
        Close(eMasked, gpu.Masked, $"{at}: ReLU backward", 0, 0);
        Close(eRelu, gpu.ReluSums, $"{at}: ReLU bias gradient");
        Close(eCols, gpu.ColumnSums, $"{at}: column sums");
        Close(cpu.Loss.Select(v => (double)v).ToArray(), gpu.Loss, $"{at}: cross-entropy against cpu", 2 * WideRowRel, 0);
        Close(cpu.Kl.Select(v => (double)v).ToArray(), gpu.Kl, $"{at}: KL against cpu", BetweenBackendsRel, 2 * Abs);
        Close(cpu.LatentWeight.Select(v => (double)v).ToArray(), gpu.LatentWeight, $"{at}: latent log-weight against cpu", BetweenBackendsRel, 2 * Abs);
        Close(cpu.ReluSums.Select(v => (double)v).ToArray(), gpu.ReluSums, $"{at}: ReLU bias gradient against cpu", BetweenBackendsRel, 2 * Abs);
        Close(cpu.ColumnSums.Select(v => (double)v).ToArray(), gpu.ColumnSums, $"{at}: column sums against cpu", BetweenBackendsRel, 2 * Abs);
        Assert.Equal(cpu.Masked, gpu.Masked);
        // Adam is element-wise with correctly rounded operations only: the same bits on both.
        for (int t = 0; t < cpu.Adam.Length; t++)
            Assert.True(cpu.Adam[t].AsSpan().SequenceEqual(gpu.Adam[t]), $"{at}: Adam tensor {t % n} ({"pgmv"[t / n]}) differs from cpu");
        // And against the formula: p, m, v of each tensor.
        for (int t = 0; t < n; t++)
        {
            var ep = new double[AdamLengths[t]];
            for (int i = 0; i < ep.Length; i++)
            {
                double g = adamIn[n + t][i];
                double m = adamIn[2 * n + t][i] + args.OneMinusBeta1 * (g - adamIn[2 * n + t][i]);
                double v = args.Beta2 * (double)adamIn[3 * n + t][i] + args.OneMinusBeta2 * g * g;
                ep[i] = adamIn[t][i] - args.StepSize * m / (Math.Sqrt(v) / args.Bias2Sqrt + args.Epsilon);
            }
            Close(ep, gpu.Adam[t], $"{at}: Adam parameters of tensor {t}", 1e-5, 1e-6);
        }
    }
}
