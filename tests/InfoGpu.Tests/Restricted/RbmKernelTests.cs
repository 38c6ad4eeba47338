using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Restricted;

/// <summary>Half-sweeps (GEMM + sigmoid + Bernoulli) and the RBM monitor kernels against float64 references.</summary>
public class RbmKernelTests
{
    /// <summary>A sigmoid probability in float32 after a float32 dot product of at most ~40 terms of size ~1.</summary>
    private const double ProbabilityAbsolute = 2e-6;

    /// <summary>Draws closer than this to their probability may fall either way between backends (float32 rounding of p).</summary>
    private const float Ambiguous = 1e-5f;

    internal static float[] Random(int n, ulong seed, double scale, double shift = 0)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)(shift + scale * Philox.Normal(seed, 7, (ulong)i));
        return x;
    }

    internal static float[] Bits(int n, ulong seed, double p = 0.5)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = Philox.Uniform(seed, 8, (ulong)i) < p ? 1f : 0f;
        return x;
    }

    private static (float[] P, float[] S) HalfSweep(ComputeDevice d, bool down, float[] input, float[] w, float[] bias, int rows, int nv, int nh, ulong seed, long offset)
    {
        int inCols = down ? nh : nv, outCols = down ? nv : nh;
        using var x = d.Allocate<float>(input.Length);
        using var wb = d.Allocate<float>(w.Length);
        using var bb = d.Allocate<float>(bias.Length);
        using var p = d.Allocate<float>((long)rows * outCols);
        using var s = d.Allocate<float>((long)rows * outCols);
        x.CopyFrom(input);
        wb.CopyFrom(w);
        bb.CopyFrom(bias);
        var e = new GemmEpilogue { Bias = bb, Activation = GemmActivation.Sigmoid, Samples = s, Seed = seed, Stream = 41, SampleOffset = offset };
        LinearAlgebra.Gemm.Multiply(down ? GemmLayout.NT : GemmLayout.NN, (x, rows, inCols), (wb, nv, nh), (p, rows, outCols), e);
        return (p.ToArray(), s.ToArray());
    }

    private static double[] Reference(bool down, float[] input, float[] w, float[] bias, int rows, int nv, int nh)
    {
        int outCols = down ? nv : nh, inCols = down ? nh : nv;
        var r = new double[rows * outCols];
        for (int n = 0; n < rows; n++)
        {
            for (int o = 0; o < outCols; o++)
            {
                double a = bias[o];
                for (int k = 0; k < inCols; k++)
                    a += input[n * inCols + k] * (double)(down ? w[o * nh + k] : w[k * nh + o]);
                r[n * outCols + o] = 1 / (1 + Math.Exp(-a));
            }
        }
        return r;
    }

    [Theory]
    [InlineData("cpu", false)]
    [InlineData("cpu", true)]
    [InlineData("ilgpu-cpu", false)]
    [InlineData("ilgpu-cpu", true)]
    public void HalfSweepMatchesFloat64AtOddShapes(string kind, bool down)
    {
        const int rows = 29, nv = 37, nh = 19;
        var w = Random(nv * nh, 1, 0.3);
        var bias = Random(down ? nv : nh, 2, 0.5);
        var input = Bits(rows * (down ? nh : nv), 3);
        var (p, s) = TestDevices.Use(kind, d => HalfSweep(d, down, input, w, bias, rows, nv, nh, 5, 1000));
        var expected = Reference(down, input, w, bias, rows, nv, nh);
        Tolerance.AllClose(expected, p.Select(x => (double)x).ToArray(), 0, ProbabilityAbsolute, $"{kind} half-sweep probabilities");
        int outCols = down ? nv : nh, mismatches = 0;
        for (int k = 0; k < s.Length; k++)
        {
            float u = Philox.Uniform(5, 41, (ulong)(1000 + k));
            if (Math.Abs(u - expected[k]) < Ambiguous)
                continue;
            if (s[k] != (u < expected[k] ? 1f : 0f))
                mismatches++;
        }
        Assert.True(mismatches == 0, $"{kind}: {mismatches} samples differ from Philox draws against the float64 probabilities ({outCols} columns)");
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void SampleFrequenciesMatchProbabilities(string kind)
    {
        // 3000 rows of the same input: each column's frequency estimates its probability with
        // standard error sqrt(p(1-p)/3000) <= 0.0092; the bound is 5 standard errors.
        const int rows = 3000, nv = 5, nh = 7;
        var w = Random(nv * nh, 11, 1.0);
        var bias = Random(nh, 12, 1.0);
        var one = Bits(nv, 13);
        var input = Enumerable.Range(0, rows).SelectMany(_ => one).ToArray();
        var (p, s) = TestDevices.Use(kind, d => HalfSweep(d, false, input, w, bias, rows, nv, nh, 21, 0));
        for (int j = 0; j < nh; j++)
        {
            double freq = 0;
            for (int n = 0; n < rows; n++)
                freq += s[n * nh + j];
            freq /= rows;
            double pj = p[j], se = Math.Sqrt(pj * (1 - pj) / rows);
            Assert.True(Math.Abs(freq - pj) <= 5 * se + 1e-9, $"{kind} column {j}: frequency {freq} vs probability {pj} (5 standard errors = {5 * se})");
        }
    }

    [Fact]
    public void BackendsDrawTheSameSamples()
    {
        const int rows = 23, nv = 31, nh = 17;
        var w = Random(nv * nh, 31, 0.3);
        var bias = Random(nv, 32, 0.5);
        var input = Bits(rows * nh, 33);
        var (pc, sc) = TestDevices.Use("cpu", d => HalfSweep(d, true, input, w, bias, rows, nv, nh, 9, 77));
        var (pg, sg) = TestDevices.Use("ilgpu-cpu", d => HalfSweep(d, true, input, w, bias, rows, nv, nh, 9, 77));
        int differ = 0;
        for (int k = 0; k < sc.Length; k++)
        {
            if (sc[k] != sg[k] && Math.Abs(Philox.Uniform(9, 41, (ulong)(77 + k)) - pc[k]) >= 1e-6f)
                differ++;
        }
        Assert.True(differ == 0, $"{differ} samples differ between cpu and ilgpu-cpu beyond draws within 1e-6 of p");
    }

    [Fact]
    public void NumpyLegacyRandIntMatchesNumpy()
    {
        // np.random.RandomState(1).randint(0, 784, 6) and RandomState(0).randint(0, 10, 5) (numpy 1.24).
        Assert.Equal(new[] { 37, 235, 72, 767, 715, 645 }, new NumpyLegacyRandom(1).RandInt(0, 784, 6));
        Assert.Equal(new[] { 5, 0, 3, 3, 7 }, new NumpyLegacyRandom(0).RandInt(0, 10, 5));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void MonitorsMatchFloat64(string kind) => CheckMonitors(kind, 0);

    /// <summary>
    /// The monitor kernels (free energy, squared error, flipped-bit free energy: row blocks, the
    /// same shape as the VAE's row kernels) at the tested group sizes up to 256: the evaluator
    /// makes a dozen launches, and each 1024-thread group takes about a second to simulate.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(32)]
    [InlineData(256)]
    public void MonitorsMatchFloat64AtGroupSizes(int groupSize) => CheckMonitors("simulated GPU", groupSize);

    private static void CheckMonitors(string kind, int groupSize)
    {
        const int rows = 13, nv = 11, nh = 6;
        var rbm = new Rbm(nv, nh);
        Random(nv * nh, 41, 0.7).CopyTo(rbm.Weights, 0);
        Random(nv, 42, 0.5).CopyTo(rbm.VisibleBias, 0);
        Random(nh, 43, 0.5).CopyTo(rbm.HiddenBias, 0);
        var data = Bits(rows * nv, 44);
        var flips = new NumpyLegacyRandom(3).RandInt(0, nv, rows);
        Func<ComputeDevice, (RbmScores, double)> run = d =>
        {
            // Chunks of 5 rows on the default devices (several chunks, the last partial); one
            // chunk on the simulated GPU, whose 1024-thread groups are slow to simulate.
            using var ev = new RbmEvaluator(d, nv, nh, chunkRows: groupSize > 0 ? rows : 5);
            return (ev.Evaluate(rbm, data, flips), ev.PseudoLogLikelihoodAllBits(rbm, data));
        };
        var (scores, allBits) = groupSize > 0 ? TestDevices.UseSimulatedGpu(groupSize, run) : TestDevices.Use(kind, run);
        double recon = 0, pll = 0, f = 0, all = 0;
        for (int n = 0; n < rows; n++)
        {
            var v = data.AsSpan(n * nv, nv).ToArray();
            double fv = rbm.FreeEnergy(v);
            f += fv;
            var h = new double[nh];
            for (int j = 0; j < nh; j++)
            {
                double a = rbm.HiddenBias[j];
                for (int i = 0; i < nv; i++)
                    a += v[i] * (double)rbm.Weights[i * nh + j];
                h[j] = 1 / (1 + Math.Exp(-a));
            }
            for (int i = 0; i < nv; i++)
            {
                double a = rbm.VisibleBias[i];
                for (int j = 0; j < nh; j++)
                    a += h[j] * rbm.Weights[i * nh + j];
                double pv = 1 / (1 + Math.Exp(-a));
                recon += (v[i] - pv) * (v[i] - pv);
            }
            for (int i = 0; i < nv; i++)
            {
                var vf = v.ToArray();
                vf[i] = 1 - vf[i];
                double ls = -ScalarMath.Softplus(-(rbm.FreeEnergy(vf) - fv));
                all += ls;
                if (i == flips[n])
                    pll += nv * ls;
            }
        }
        Tolerance.Close(recon / rows, scores.ReconstructionError, 1e-5, 1e-6, $"{kind} reconstruction error");
        Tolerance.Close(pll / rows, scores.PseudoLogLikelihood, 1e-5, 1e-5, $"{kind} pseudo-log-likelihood");
        Tolerance.Close(f / rows, scores.MeanFreeEnergy, 1e-5, 1e-5, $"{kind} mean free energy");
        Tolerance.Close(all / rows, allBits, 1e-5, 1e-5, $"{kind} all-bits pseudo-log-likelihood");
    }

    /// <summary>
    /// Column sums of a few dozen values of size ~1 in float32, any order, against float64:
    /// a few 1e-7 of the sum of magnitudes (about 30 here); 1e-5 absolute.
    /// </summary>
    private const double ColumnSumAbsolute = 1e-5;

    private sealed record Update(float[] Sums, float[] Scaled, float[] W, float[] Vw, float[] B, float[] Vb, float[] C, float[] Vc, float[] Q);

    private static Update RunStatisticsAndUpdate(ComputeDevice d, float[] stack, int rows, int cols, int split, float scale, float[][] p, RbmUpdateArgs u)
    {
        DeviceBuffer<float> Up(float[] a)
        {
            var b = d.Allocate<float>(a.Length);
            b.CopyFrom(a);
            return b;
        }

        using var x = Up(stack);
        using var sums = d.Allocate<float>(2 * cols);
        d.Backend.RbmColumnStatistics(x, 3 * cols, rows, cols, split, sums, scale);
        var buffers = p.Select(Up).ToArray();
        try
        {
            // w, vw, gradient, b, vb, sumsV, c, vc, sumsH, q
            d.Backend.RbmUpdate(buffers[0], buffers[1], buffers[2], buffers[3], buffers[4], buffers[5], buffers[6], buffers[7], buffers[8], buffers[9], u);
            return new Update(sums.ToArray(), x.ToArray(), buffers[0].ToArray(), buffers[1].ToArray(), buffers[3].ToArray(), buffers[4].ToArray(), buffers[6].ToArray(), buffers[7].ToArray(), buffers[9].ToArray());
        }
        finally
        {
            foreach (var b in buffers)
                b.Dispose();
        }
    }

    /// <summary>
    /// Column statistics (column tiles, 29 stacked rows of 37 columns after an offset of three
    /// rows, 11 model rows scaled in place) and the one-launch update of W, b, c and q (with
    /// sparsity, 37 visible x 45 hidden: two tiles of 32 hidden units, the second partial) on
    /// the simulated GPU at every tested group size, against float64 and against <c>cpu</c>.
    /// </summary>
    [Theory]
    [MemberData(nameof(TestDevices.GroupSizes), MemberType = typeof(TestDevices))]
    public void ColumnStatisticsAndUpdateMatchCpuAndFloat64AtEveryGroupSize(int groupSize)
    {
        const int rows = 29, cols = 37, split = 11, nv = 37, nh = 45;
        const float scale = -0.6f;
        var stack = Random((rows + 3) * cols, 51, 1.0);
        var p = new[]
        {
            Random(nv * nh, 52, 0.1), Random(nv * nh, 53, 0.01), Random(nv * nh, 54, 0.05),
            Random(nv, 55, 0.5), Random(nv, 56, 0.01), Random(2 * nv, 57, 3.0, 5.0),
            Random(nh, 58, 0.5), Random(nh, 59, 0.01), Random(2 * nh, 60, 3.0, 5.0),
            Bits(nh, 61).Select(b => 0.3f * b + 0.05f).ToArray(),
        };
        var u = new RbmUpdateArgs
        {
            Visible = nv, Hidden = nh, LearningRate = 0.05f, Momentum = 0.5f, WeightDecay = 2e-4f,
            PositiveScale = 1f / 10, NegativeScale = 1f / 12, SparsityTarget = 0.1f, SparsityCost = 0.3f, SparsityDecay = 0.9f,
        };
        var cpu = TestDevices.Use("cpu", d => RunStatisticsAndUpdate(d, stack, rows, cols, split, scale, p, u));
        var gpu = TestDevices.UseSimulatedGpu(groupSize, d => RunStatisticsAndUpdate(d, stack, rows, cols, split, scale, p, u));
        string at = $"group size {groupSize}";

        var eSums = new double[2 * cols];
        var eScaled = stack.Select(v => (double)v).ToArray();
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < cols; j++)
            {
                int k = (r + 3) * cols + j;
                eSums[(r < split ? 0 : cols) + j] += stack[k];
                if (r < split)
                    eScaled[k] = stack[k] * scale;
            }
        }
        Tolerance.AllClose(eSums, gpu.Sums.Select(v => (double)v).ToArray(), 0, ColumnSumAbsolute, $"{at}: model and data column sums");
        Tolerance.AllClose(cpu.Sums.Select(v => (double)v).ToArray(), gpu.Sums.Select(v => (double)v).ToArray(), 0, 2 * ColumnSumAbsolute, $"{at}: column sums against cpu");
        Assert.Equal(cpu.Scaled, gpu.Scaled);
        Tolerance.AllClose(eScaled, gpu.Scaled.Select(v => (double)v).ToArray(), 1e-7, 0, $"{at}: scaled model rows");

        // The update in float64 from the same float32 inputs, in the separate updates' order.
        double lr = u.LearningRate, mom = u.Momentum;
        var eq = new double[nh];
        var ec = new double[nh];
        var evc = new double[nh];
        for (int j = 0; j < nh; j++)
        {
            double mean = p[8][nh + j] * (double)u.PositiveScale;
            double g = mean - p[8][j] * (double)u.NegativeScale;
            eq[j] = u.SparsityDecay * (double)p[9][j] + (1 - (double)u.SparsityDecay) * mean;
            g -= u.SparsityCost * (eq[j] - u.SparsityTarget);
            evc[j] = mom * p[7][j] + lr * g;
            ec[j] = p[6][j] + evc[j];
        }
        var eb = new double[nv];
        var evb = new double[nv];
        for (int i = 0; i < nv; i++)
        {
            double g = p[5][nv + i] * (double)u.PositiveScale - p[5][i] * (double)u.NegativeScale;
            evb[i] = mom * p[4][i] + lr * g;
            eb[i] = p[3][i] + evb[i];
        }
        var ew = new double[nv * nh];
        var evw = new double[nv * nh];
        for (int i = 0; i < nv; i++)
        {
            for (int j = 0; j < nh; j++)
            {
                int k = i * nh + j;
                double g = p[2][k] - u.WeightDecay * (double)p[0][k] - u.SparsityCost * (eq[j] - u.SparsityTarget) * p[5][nv + i] * u.PositiveScale;
                evw[k] = mom * p[1][k] + lr * g;
                ew[k] = p[0][k] + evw[k];
            }
        }
        // A handful of float32 operations on values of size <= ~1: 1e-6 absolute.
        const double updateAbsolute = 1e-6;
        Tolerance.AllClose(eq, gpu.Q.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: q");
        Tolerance.AllClose(ec, gpu.C.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: hidden bias");
        Tolerance.AllClose(evc, gpu.Vc.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: hidden velocity");
        Tolerance.AllClose(eb, gpu.B.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: visible bias");
        Tolerance.AllClose(evb, gpu.Vb.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: visible velocity");
        Tolerance.AllClose(ew, gpu.W.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: weights");
        Tolerance.AllClose(evw, gpu.Vw.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: weight velocity");
        // The biases and q use the same float32 formula on both backends: the same bits. The
        // weights' sparsity term is grouped differently on cpu (one rounding apart).
        Assert.Equal(cpu.Q, gpu.Q);
        Assert.Equal(cpu.C, gpu.C);
        Assert.Equal(cpu.Vc, gpu.Vc);
        Assert.Equal(cpu.B, gpu.B);
        Assert.Equal(cpu.Vb, gpu.Vb);
        Tolerance.AllClose(cpu.W.Select(v => (double)v).ToArray(), gpu.W.Select(v => (double)v).ToArray(), 0, updateAbsolute, $"{at}: weights against cpu");
    }
}
