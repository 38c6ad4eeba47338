using System.Diagnostics;
using InfoGpu.Devices;
using InfoGpu.Distributed;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Restricted;

namespace InfoGpu.Evaluation;

/// <summary>Settings of an AIS estimate of an RBM's log partition function.</summary>
/// <param name="Runs">Independent annealing runs, all advanced together on the device.</param>
/// <param name="Betas">Intermediate temperatures; 14,500 is Salakhutdinov and Murray's schedule.</param>
/// <param name="Seed">Philox seed of every draw.</param>
public sealed record AisOptions(int Runs = 100, int Betas = 14500, ulong Seed = 1)
{
    /// <summary>
    /// The inverse temperatures 0 = beta_0 &lt; ... &lt; beta_K = 1 with K = <see cref="Betas"/>:
    /// in Salakhutdinov and Murray's proportions, 500/14500 of the steps evenly in [0, 0.5],
    /// 4000/14500 in [0.5, 0.9] and the rest in [0.9, 1].
    /// </summary>
    public double[] Schedule()
    {
        if (Betas < 3)
            throw new InfoGpuException($"AIS needs at least 3 temperatures (got {Betas})");
        if (Runs < 2)
            throw new InfoGpuException($"AIS needs at least 2 runs for an error bar (got {Runs})");
        int k1 = Math.Max(1, (int)Math.Round(Betas * 500.0 / 14500));
        int k2 = Math.Max(1, (int)Math.Round(Betas * 4000.0 / 14500));
        int k3 = Betas - k1 - k2;
        var beta = new double[Betas + 1];
        int at = 0;
        void Segment(double from, double to, int steps)
        {
            for (int s = 1; s <= steps; s++)
                beta[++at] = from + ((to - from) * s / steps);
        }
        Segment(0, 0.5, k1);
        Segment(0.5, 0.9, k2);
        Segment(0.9, 1.0, k3);
        beta[Betas] = 1.0;
        return beta;
    }
}

/// <summary>An AIS estimate of log Z with its spread.</summary>
/// <param name="LogZ">log Z of the target RBM: log Z_A + log mean w.</param>
/// <param name="LogZStdErr">Standard error of <see cref="LogZ"/> by the delta method: sd(w) / (sqrt(runs) mean w).</param>
/// <param name="LogZLow">log(mean w - 3 sd(w)/sqrt(runs)) + log Z_A (negative infinity when that is not positive).</param>
/// <param name="LogZHigh">log(mean w + 3 sd(w)/sqrt(runs)) + log Z_A.</param>
/// <param name="LogZBase">log Z_A of the base-rate model.</param>
/// <param name="Runs">Number of annealing runs.</param>
/// <param name="Betas">Number of intermediate temperatures.</param>
/// <param name="Seconds">Wall time of the annealing.</param>
/// <param name="LogWeights">log w of every run.</param>
public sealed record AisResult(double LogZ, double LogZStdErr, double LogZLow, double LogZHigh, double LogZBase, int Runs, int Betas, double Seconds, double[] LogWeights);

/// <summary>
/// Annealed importance sampling (Salakhutdinov and Murray, 2008) of a Bernoulli RBM's log
/// partition function. The path runs from a base-rate model A (no weights, visible biases
/// b_A from the data's pixel marginals) to the target B through
/// p*_k(v) = exp((1 - beta_k) b_A.v + beta_k b.v) prod_j (1 + exp(beta_k (c_j + W_j.v))),
/// with one Gibbs sweep (h then v) per temperature. All runs advance together: two GEMMs
/// (v W + c, and the fused sigmoid-Bernoulli h W^T) and one row kernel per temperature.
/// </summary>
/// <remarks>W is nv x nh row-major (W[i * nh + j]), as in <see cref="RbmExactLikelihood"/>.</remarks>
public static class AnnealedImportanceSampling
{
    private const ulong StreamVisible = 0xA150;
    private const ulong StreamHidden = 0xA151;

    /// <summary>
    /// Base-rate visible biases: log(p / (1 - p)) of the pixel means, with half a pseudo-count
    /// on each side, p = (sum + 0.5) / (n + 1), so pixels never (or always) on get finite biases.
    /// </summary>
    public static float[] BaseRateBiases(ReadOnlySpan<float> images, int count, int nv)
    {
        if (count < 1 || images.Length < (long)count * nv)
            throw new InfoGpuException($"base-rate biases need at least one image of {nv} pixels");
        var sums = new double[nv];
        for (int n = 0; n < count; n++)
        {
            var img = images.Slice(n * nv, nv);
            for (int i = 0; i < nv; i++)
                sums[i] += img[i];
        }
        var b = new float[nv];
        for (int i = 0; i < nv; i++)
        {
            double p = (sums[i] + 0.5) / (count + 1.0);
            b[i] = (float)Math.Log(p / (1 - p));
        }
        return b;
    }

    /// <summary>log Z_A = sum_i softplus(b_A,i) + nh log 2 (the base model's hidden units are free).</summary>
    public static double BaseLogPartition(ReadOnlySpan<float> baseBias, int hidden)
    {
        double s = hidden * Math.Log(2);
        foreach (float b in baseBias)
            s += ScalarMath.Softplus((double)b);
        return s;
    }

    /// <summary>Estimates log Z of the RBM (W nv x nh, visible bias b, hidden bias c).</summary>
    /// <param name="device">Where the runs advance.</param>
    /// <param name="weights">W, visible x hidden, row-major.</param>
    /// <param name="visibleBias">b.</param>
    /// <param name="hiddenBias">c.</param>
    /// <param name="baseBias">The base-rate model's visible biases (<see cref="BaseRateBiases"/>).</param>
    /// <param name="options">Runs, temperatures, seed.</param>
    /// <param name="progress">Told the fraction of temperatures done.</param>
    /// <param name="cancel">Stops between temperatures.</param>
    /// <param name="cluster">
    /// The MPI ranks that share the runs (null: this process runs them all): rank r advances the runs
    /// of <see cref="Cluster.ShareOf"/>(runs, size, r) with the draws those runs take in one process,
    /// and every rank gets every run's log weight and the same result. A collective call.
    /// </param>
    public static AisResult EstimateLogPartition(ComputeDevice device, ReadOnlySpan<float> weights, ReadOnlySpan<float> visibleBias, ReadOnlySpan<float> hiddenBias, ReadOnlySpan<float> baseBias, AisOptions options, IProgress<double>? progress = null, CancellationToken cancel = default, Cluster? cluster = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        cluster ??= Cluster.Single;
        int nv = visibleBias.Length, nh = hiddenBias.Length, allRuns = options.Runs;
        if (allRuns < cluster.Size)
            throw new InfoGpuException($"AIS: {allRuns} runs cannot be shared by {cluster.Size} ranks; give --ais-runs >= {cluster.Size}");
        var (first, runs) = Cluster.ShareOf(allRuns, cluster.Size, cluster.Rank);
        if (weights.Length != (long)nv * nh || baseBias.Length != nv || nv < 1 || nh < 1)
            throw new InfoGpuException($"AIS: W has {weights.Length} values, biases {nv} visible and {nh} hidden, base biases {baseBias.Length}; W must be visible x hidden");
        CheckFinite(weights, "W");
        CheckFinite(visibleBias, "visible bias");
        CheckFinite(hiddenBias, "hidden bias");
        CheckFinite(baseBias, "base-rate bias");
        var beta = options.Schedule();
        var watch = Stopwatch.StartNew();

        using var w = device.Allocate<float>((long)nv * nh);
        using var b = device.Allocate<float>(nv);
        using var c = device.Allocate<float>(nh);
        using var bA = device.Allocate<float>(nv);
        using var delta = device.Allocate<float>(nv);
        using var v = device.Allocate<float>((long)runs * nv);
        using var pv = device.Allocate<float>((long)runs * nv);
        using var x = device.Allocate<float>((long)runs * nh);
        using var h = device.Allocate<float>((long)runs * nh);
        using var logW = device.Allocate<float>(runs);
        using var comp = device.Allocate<float>(runs);
        w.CopyFrom(weights);
        b.CopyFrom(visibleBias);
        c.CopyFrom(hiddenBias);
        bA.CopyFrom(baseBias);
        var d = new float[nv];
        for (int i = 0; i < nv; i++)
            d[i] = visibleBias[i] - baseBias[i];
        delta.CopyFrom(d);

        // v_0 from the base model: independent Bernoulli(sigmoid(b_A)).
        var v0 = new float[runs * nv];
        for (int r = 0; r < runs; r++)
        {
            for (int i = 0; i < nv; i++)
                v0[r * nv + i] = Philox.Uniform(options.Seed, StreamVisible, (ulong)((first + r) * nv + i)) < ScalarMath.Sigmoid(baseBias[i]) ? 1f : 0f;
        }
        v.CopyFrom(v0);
        logW.Clear();
        comp.Clear();

        int report = Math.Max(1, options.Betas / 100);
        for (int k = 1; k <= options.Betas; k++)
        {
            float bk = (float)beta[k], bPrev = (float)beta[k - 1];
            // x = v W + c, then log w += log p*_k(v) - log p*_{k-1}(v) and h ~ p_k(h | v).
            RbmHalfSweep.HiddenInput((v, runs, nv), w, c, (x, runs, nh));
            device.Backend.AisHiddenStep(x, v, delta, logW, comp, h, runs, nv, nh, bPrev, bk, options.Seed, StreamHidden, (long)k * allRuns * nh + (long)first * nh);
            if (k == options.Betas)
                break;
            // v ~ p_k(v | h) = sigmoid(beta_k (W h + b) + (1 - beta_k) b_A).
            RbmHalfSweep.VisibleAnnealed((h, runs, nh), w, b, bA, bk, (pv, runs, nv), v, options.Seed, StreamVisible, (long)k * allRuns * nv + (long)first * nv);
            if (k % report == 0)
            {
                cancel.ThrowIfCancellationRequested();
                if (progress is not null)
                {
                    device.Synchronize(); // report work done, not work queued (only when someone watches)
                    progress.Report((double)k / options.Betas);
                }
            }
        }
        var sums = logW.ToArray();
        var comps = comp.ToArray();
        var mine = new double[runs];
        for (int r = 0; r < runs; r++)
            mine[r] = (double)sums[r] - comps[r];
        var logWeights = cluster.Size == 1 ? mine : GatherRuns(cluster, allRuns, mine);
        for (int r = 0; r < allRuns; r++)
        {
            if (!double.IsFinite(logWeights[r]))
                throw new InfoGpuException($"AIS run {r} has a non-finite log weight; the model's parameters are too large for float32 annealing");
        }
        double logZA = BaseLogPartition(baseBias, nh);
        return Summarize(logWeights, logZA, options, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Every rank's log weights in run order, on every rank (shares padded to one size for the all-gather).</summary>
    private static double[] GatherRuns(Cluster cluster, int allRuns, double[] mine)
    {
        int cap = (allRuns + cluster.Size - 1) / cluster.Size;
        var local = new double[cap];
        mine.CopyTo(local, 0);
        var all = new double[cap * cluster.Size];
        cluster.AllGather(local, all);
        var result = new double[allRuns];
        for (int r = 0; r < cluster.Size; r++)
        {
            var (first, count) = Cluster.ShareOf(allRuns, cluster.Size, r);
            all.AsSpan(r * cap, count).CopyTo(result.AsSpan(first));
        }
        return result;
    }

    /// <summary>log-mean-exp of the log weights with the delta-method standard error and the 3-sigma interval.</summary>
    internal static AisResult Summarize(double[] logWeights, double logZA, AisOptions options, double seconds)
    {
        int n = logWeights.Length;
        double max = logWeights.Max();
        double mean = 0;
        foreach (double lw in logWeights)
            mean += Math.Exp(lw - max);
        mean /= n;
        double var = 0;
        foreach (double lw in logWeights)
        {
            double e = Math.Exp(lw - max) - mean;
            var += e * e;
        }
        double sd = Math.Sqrt(var / (n - 1));
        double se = sd / Math.Sqrt(n);
        double logMean = max + Math.Log(mean);
        double low = mean - 3 * se > 0 ? max + Math.Log(mean - 3 * se) : double.NegativeInfinity;
        double high = max + Math.Log(mean + 3 * se);
        return new AisResult(logZA + logMean, se / mean, logZA + low, logZA + high, logZA, n, options.Betas, seconds, logWeights);
    }

    /// <summary>
    /// -F(v) = b.v + sum_j softplus(c_j + W_j.v) of each image (float32 products on the device,
    /// float64 sums on the host), in batches of 1,000 images.
    /// </summary>
    public static double[] NegativeFreeEnergies(ComputeDevice device, ReadOnlySpan<float> weights, ReadOnlySpan<float> visibleBias, ReadOnlySpan<float> hiddenBias, ReadOnlySpan<float> images, int count)
    {
        ArgumentNullException.ThrowIfNull(device);
        int nv = visibleBias.Length, nh = hiddenBias.Length;
        if (weights.Length != (long)nv * nh || images.Length < (long)count * nv)
            throw new InfoGpuException($"free energy: W has {weights.Length} values for {nv}x{nh}, images {images.Length} values for {count} x {nv}");
        const int batch = 1000;
        using var w = device.Allocate<float>((long)nv * nh);
        using var c = device.Allocate<float>(nh);
        using var v = device.Allocate<float>((long)batch * nv);
        using var x = device.Allocate<float>((long)batch * nh);
        w.CopyFrom(weights);
        c.CopyFrom(hiddenBias);
        var result = new double[count];
        var xs = new float[batch * nh];
        for (int start = 0; start < count; start += batch)
        {
            int m = Math.Min(batch, count - start);
            v.CopyFrom(images.Slice(start * nv, m * nv));
            RbmHalfSweep.HiddenInput((v, m, nv), w, c, (x, m, nh));
            x.CopyTo(xs.AsSpan(0, m * nh));
            for (int r = 0; r < m; r++)
            {
                double s = 0;
                var img = images.Slice((start + r) * nv, nv);
                for (int i = 0; i < nv; i++)
                    s += (double)visibleBias[i] * img[i];
                for (int j = 0; j < nh; j++)
                    s += ScalarMath.Softplus((double)xs[r * nh + j]);
                result[start + r] = s;
            }
        }
        return result;
    }

    private static void CheckFinite(ReadOnlySpan<float> values, string name)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                throw new InfoGpuException($"AIS: the {name} has a non-finite value at index {i}; the model is broken");
        }
    }
}
