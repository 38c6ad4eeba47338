using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Restricted;

namespace InfoGpu.Evaluation;

/// <summary>An AIS estimate of log Z.</summary>
/// <param name="LogZ">log Z_A + log mean w.</param>
/// <param name="StandardError">Standard error of <see cref="LogZ"/> (delta method: sd(w) / (sqrt(runs) mean w)).</param>
/// <param name="LogZLow">log(mean w - 3 sigma) + log Z_A (-infinity when the interval reaches 0).</param>
/// <param name="LogZHigh">log(mean w + 3 sigma) + log Z_A.</param>
/// <param name="LogZBase">log Z_A of the base-rate model.</param>
/// <param name="Runs">Independent AIS runs.</param>
/// <param name="Betas">Intermediate distributions (transitions).</param>
public sealed record AisEstimate(double LogZ, double StandardError, double LogZLow, double LogZHigh, double LogZBase, int Runs, int Betas);

/// <summary>
/// Annealed importance sampling of the partition function of a Bernoulli RBM (Salakhutdinov &amp;
/// Murray 2008), many runs in parallel on the device.
/// </summary>
/// <remarks>
/// Base-rate model A: W = 0, c = 0, visible biases b_A from the data's pixel means (clipped to
/// [0.001, 0.999]), with as many hidden units as the RBM: log Z_A = sum_i softplus(b_A,i) + nh ln 2.
/// Intermediate distributions
/// p*_k(v) = exp((1 - beta_k) b_A.v + beta_k b.v) prod_j (1 + exp(beta_k (c_j + (v W)_j))).
/// Each run draws v_1 ~ p_A and for k = 1..K: log w += log p*_k(v) - log p*_(k-1)(v), then (k &lt; K)
/// one Gibbs transition of p_k: h ~ sigmoid(beta_k (c + v W)), v ~ sigmoid((1 - beta_k) b_A +
/// beta_k (b + W h)). log Z = log Z_A + log mean w (log-mean-exp). The default schedule is the
/// paper's: 500 betas in [0, 0.5), 4,000 in [0.5, 0.9), 10,000 in [0.9, 1].
/// </remarks>
public static class RbmAis
{
    private const ulong Stream = 61;

    /// <summary>The paper's schedule scaled to <paramref name="transitions"/> steps: betas[0] = 0 ... betas[K] = 1.</summary>
    public static double[] Schedule(int transitions = 14_500)
    {
        if (transitions < 3)
            throw new InfoGpuException($"AIS needs at least 3 intermediate distributions (got {transitions})");
        int n1 = Math.Max(1, (int)Math.Round(transitions * 500.0 / 14_500));
        int n2 = Math.Max(1, (int)Math.Round(transitions * 4_000.0 / 14_500));
        int n3 = Math.Max(1, transitions - n1 - n2);
        var b = new List<double>(n1 + n2 + n3 + 1);
        for (int k = 0; k < n1; k++)
            b.Add(0.5 * k / n1);
        for (int k = 0; k < n2; k++)
            b.Add(0.5 + 0.4 * k / n2);
        for (int k = 0; k <= n3; k++)
            b.Add(0.9 + 0.1 * k / n3);
        return b.ToArray();
    }

    /// <summary>The base-rate visible biases from pixel means: logit(clip(p, 0.001, 0.999)).</summary>
    public static float[] BaseRateBiases(ReadOnlySpan<float> pixelMeans)
    {
        var b = new float[pixelMeans.Length];
        for (int i = 0; i < b.Length; i++)
        {
            double p = Math.Clamp(pixelMeans[i], 0.001, 0.999);
            b[i] = (float)Math.Log(p / (1 - p));
        }
        return b;
    }

    /// <summary>Estimates log Z of <paramref name="rbm"/> with <paramref name="runs"/> parallel runs over <paramref name="betas"/> (from <see cref="Schedule"/>).</summary>
    public static AisEstimate LogPartition(ComputeDevice device, Rbm rbm, ReadOnlySpan<float> baseRateBiases, int runs = 100, double[]? betas = null, ulong seed = 1)
    {
        betas ??= Schedule();
        int nv = rbm.Visible, nh = rbm.Hidden;
        if (baseRateBiases.Length != nv)
            throw new InfoGpuException($"AIS base rates: {baseRateBiases.Length} values for {nv} visible units");
        if (runs < 2)
            throw new InfoGpuException($"AIS needs at least 2 runs for a standard error (got {runs})");
        if (betas.Length < 2 || betas[0] != 0 || betas[^1] != 1)
            throw new InfoGpuException("the AIS schedule must run from beta = 0 to beta = 1");
        using var w = device.Allocate<float>(rbm.Weights.Length);
        using var b = device.Allocate<float>(nv);
        using var bA = device.Allocate<float>(nv);
        using var c = device.Allocate<float>(nh);
        using var diff = device.Allocate<float>(nv);
        using var v = device.Allocate<float>((long)runs * nv);
        using var pv = device.Allocate<float>((long)runs * nv);
        using var act = device.Allocate<float>((long)runs * nh);
        using var h = device.Allocate<float>((long)runs * nh);
        using var logW = device.Allocate<float>(runs);
        using var carry = device.Allocate<float>(runs);
        w.CopyFrom(rbm.Weights);
        b.CopyFrom(rbm.VisibleBias);
        c.CopyFrom(rbm.HiddenBias);
        bA.CopyFrom(baseRateBiases);
        var d = new float[nv];
        double logZA = 0;
        for (int i = 0; i < nv; i++)
        {
            d[i] = rbm.VisibleBias[i] - baseRateBiases[i];
            logZA += ScalarMath.Softplus((double)baseRateBiases[i]);
        }
        // At beta = 0 each hidden unit still contributes softplus(0) = ln 2 to log p*_0.
        logZA += nh * Math.Log(2);
        diff.CopyFrom(d);
        var init = new float[runs * nv];
        for (int r = 0; r < runs; r++)
        {
            for (int i = 0; i < nv; i++)
                init[r * nv + i] = Philox.Uniform(seed, Stream + 1, (ulong)(r * nv + i)) < ScalarMath.Sigmoid(baseRateBiases[i]) ? 1f : 0f;
        }
        v.CopyFrom(init);
        long draws = 0;
        for (int k = 1; k < betas.Length; k++)
        {
            float beta = (float)betas[k], prev = (float)betas[k - 1];
            Gemm.Multiply(GemmLayout.NN, (v, runs, nv), (w, nv, nh), (act, runs, nh), new GemmEpilogue { Bias = c });
            device.Backend.RbmAisStep(act, v, diff, logW, carry, h, runs, nv, nh, beta, prev, seed, Stream, draws);
            draws += (long)runs * nh;
            if (k + 1 < betas.Length)
            {
                var e = new GemmEpilogue
                {
                    Alpha = beta,
                    Bias = b,
                    BiasScale = beta,
                    Bias2 = bA,
                    Bias2Scale = 1f - beta,
                    Activation = GemmActivation.Sigmoid,
                    Samples = v,
                    Seed = seed,
                    Stream = Stream,
                    SampleOffset = draws,
                };
                Gemm.Multiply(GemmLayout.NT, (h, runs, nh), (w, nv, nh), (pv, runs, nv), e);
                draws += (long)runs * nv;
            }
        }
        var lw = logW.ToArray();
        double max = lw.Max(x => (double)x);
        double mean = 0, sq = 0;
        foreach (float x in lw)
            mean += Math.Exp(x - max);
        mean /= runs;
        foreach (float x in lw)
            sq += Math.Pow(Math.Exp(x - max) - mean, 2);
        double sd = Math.Sqrt(sq / (runs - 1));
        double sigma = sd / Math.Sqrt(runs);
        double logZ = logZA + max + Math.Log(mean);
        return new AisEstimate(
            logZ,
            sigma / mean,
            mean - 3 * sigma > 0 ? logZA + max + Math.Log(mean - 3 * sigma) : double.NegativeInfinity,
            logZA + max + Math.Log(mean + 3 * sigma),
            logZA,
            runs,
            betas.Length - 1);
    }

    /// <summary>Mean log p(v) = -F(v) - log Z over rows of <paramref name="data"/> (float64 on the host).</summary>
    public static double MeanLogLikelihood(Rbm rbm, ReadOnlySpan<float> data, double logZ)
    {
        int rows = data.Length / rbm.Visible;
        if (rows == 0)
            return double.NaN;
        double sum = 0;
        for (int n = 0; n < rows; n++)
            sum -= rbm.FreeEnergy(data.Slice(n * rbm.Visible, rbm.Visible));
        return sum / rows - logZ;
    }
}
