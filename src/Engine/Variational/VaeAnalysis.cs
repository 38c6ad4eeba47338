using System.Diagnostics;
using InfoGpu.Devices;
using InfoGpu.Kernels;

namespace InfoGpu.Variational;

/// <summary>The ELBO and its parts per image (nats): ELBO = -(reconstruction + KL), one z sample per image, analytic KL.</summary>
public sealed record VaeElbo(double Elbo, double Reconstruction, double Kl, int Images);

/// <summary>The ELBO with a Monte-Carlo KL term, mean over images of mean over samples of log p(x|z) + log p(z) - log q(z|x), against the analytic-KL version on the same samples.</summary>
public sealed record VaeMonteCarloElbo(int Samples, int Images, double MonteCarlo, double StandardError, double Analytic);

/// <summary>The importance-weighted estimate of log p(x) per image (nats), with the single-sample ELBO over the same samples.</summary>
public sealed record VaeImportanceWeighted(int Samples, int Images, double LogLikelihood, double StandardError, double Elbo, double Seconds);

/// <summary>Statistics of the encoder's q(z | x) over a data set.</summary>
/// <param name="MuMean">Mean of every mu_j over images and dimensions.</param>
/// <param name="MuStd">Standard deviation of mu over images and dimensions.</param>
/// <param name="SigmaMean">Mean of sigma_j = exp(lv_j / 2).</param>
/// <param name="SigmaMin">Smallest sigma.</param>
/// <param name="SigmaMax">Largest sigma.</param>
/// <param name="KlPerDimension">Mean KL of each latent dimension (nats per image).</param>
/// <param name="MuVariance">Cov_x(E[z_j | x]): the variance of mu_j over images, per dimension.</param>
/// <param name="ActiveUnits">Dimensions with MuVariance &gt; 0.01.</param>
/// <param name="Mu">Every mu (images x L), for histograms.</param>
/// <param name="Sigma">Every sigma (images x L).</param>
public sealed record VaeLatentStatistics(
    double MuMean, double MuStd, double SigmaMean, double SigmaMin, double SigmaMax,
    double[] KlPerDimension, double[] MuVariance, int ActiveUnits, float[] Mu, float[] Sigma);

/// <summary>
/// Evaluates a trained <see cref="Vae"/> on a set of images: ELBO components, the Monte-Carlo
/// ELBO, the importance-weighted log-likelihood bound, latent statistics, reconstructions and
/// samples. Noise comes from Philox (the seed given to each call), so results repeat exactly.
/// </summary>
public sealed class VaeAnalysis : IDisposable
{
    internal const ulong ElboStream = 31, MonteCarloStream = 32, ImportanceStream = 33, PriorStream = 34;

    /// <summary>Threshold on Cov_x(E[z|x]) for an active unit (Burda et al.).</summary>
    public const double ActiveThreshold = 0.01;

    private readonly VaeNetwork net;
    private readonly float[] images;
    private readonly float[] hostA, hostB, hostStats;

    /// <summary>Loads the model and the images (rows of <see cref="Vae.Input"/> values in [0, 1]); <paramref name="capacity"/> rows are evaluated per pass.</summary>
    public VaeAnalysis(ComputeDevice device, Vae vae, ReadOnlySpan<float> images, int capacity = 1000)
    {
        if (images.Length % vae.Input != 0)
            throw new InfoGpuException($"VAE analysis: {images.Length} values do not make rows of {vae.Input} pixels");
        if (capacity < 1)
            throw new InfoGpuException("VAE analysis: capacity must be >= 1");
        this.images = images.ToArray();
        Count = images.Length / vae.Input;
        Vae = vae;
        net = new VaeNetwork(device, vae, capacity, training: false);
        hostA = new float[capacity];
        hostB = new float[capacity];
        hostStats = new float[capacity * 2 * vae.Latent];
    }

    /// <summary>The model evaluated.</summary>
    public Vae Vae { get; }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    private int Capacity => net.Capacity;

    private void Load(int start, int rows) =>
        net.X.CopyFrom(images.AsSpan(start * Vae.Input, rows * Vae.Input));

    /// <summary>ELBO, reconstruction and analytic KL per image, one z per image (the test loss of training with beta = 1).</summary>
    public VaeElbo Elbo(ulong seed = 1)
    {
        double recon = 0, kl = 0;
        for (int start = 0; start < Count; start += Capacity)
        {
            int rows = Math.Min(Capacity, Count - start);
            Load(start, rows);
            net.Encode(rows);
            net.Sample(rows, 1, seed, ElboStream, (long)start * Vae.Latent);
            net.Decode(rows);
            net.Loss(rows, net.X, 1, gradient: false);
            net.ComputeKl(rows);
            net.Reconstruction.CopyTo(hostA.AsSpan(0, rows));
            net.Kl.CopyTo(hostB.AsSpan(0, rows));
            for (int r = 0; r < rows; r++)
            {
                recon += hostA[r];
                kl += hostB[r];
            }
        }
        recon /= Count;
        kl /= Count;
        return new VaeElbo(-(recon + kl), recon, kl, Count);
    }

    /// <summary>
    /// The ELBO with <paramref name="samples"/> z per image and a Monte-Carlo KL
    /// (log p(x|z) + log p(z) - log q(z|x)), against E[log p(x|z)] - KL with the analytic KL on the
    /// same samples: the two agree in expectation, the MC one with more variance.
    /// </summary>
    public VaeMonteCarloElbo MonteCarloElbo(int samples, ulong seed = 1, int? maxImages = null)
    {
        if (samples < 1)
            throw new InfoGpuException("Monte-Carlo ELBO: samples must be >= 1");
        int count = Math.Min(Count, maxImages ?? Count);
        double mc = 0, mc2 = 0, analytic = 0;
        ForEachSample(count, samples, seed, MonteCarloStream, (image, k0, rows) =>
        {
            for (int r = 0; r < rows; r++)
            {
                double lw = -(double)hostA[r] + hostB[r];
                mc += lw;
                mc2 += lw * lw;
                analytic += -(double)hostA[r];
            }
        }, kl => analytic -= kl * samples);
        double n = (double)count * samples;
        double mean = mc / n;
        double se = Math.Sqrt(Math.Max(0, mc2 / n - mean * mean) / n);
        return new VaeMonteCarloElbo(samples, count, mean, se, analytic / n);
    }

    /// <summary>
    /// log p(x) ~ log (1/K) sum_k p(x, z_k) / q(z_k | x), z_k ~ q(z | x), per image on the first
    /// <paramref name="maxImages"/> images (log-mean-exp in float64), averaged. A lower bound on
    /// log p(x) in expectation that rises with K; K = 1 is the ELBO.
    /// </summary>
    public VaeImportanceWeighted ImportanceWeighted(int samples = 500, ulong seed = 1, int? maxImages = null)
    {
        if (samples < 1)
            throw new InfoGpuException("importance-weighted bound: samples must be >= 1");
        var sw = Stopwatch.StartNew();
        int count = Math.Min(Count, maxImages ?? Count);
        var weights = new double[samples];
        double ll = 0, ll2 = 0, elbo = 0;
        ForEachSample(count, samples, seed, ImportanceStream, (image, k0, rows) =>
        {
            for (int r = 0; r < rows; r++)
                weights[k0 + r] = -(double)hostA[r] + hostB[r];
            if (k0 + rows < samples)
                return;
            double max = weights.Max();
            double s = 0, mean = 0;
            foreach (double w in weights)
            {
                s += Math.Exp(w - max);
                mean += w;
            }
            double l = max + Math.Log(s) - Math.Log(samples);
            ll += l;
            ll2 += l * l;
            elbo += mean / samples;
        }, null);
        double avg = ll / count;
        double se = Math.Sqrt(Math.Max(0, ll2 / count - avg * avg) / count);
        return new VaeImportanceWeighted(samples, count, avg, se, elbo / count, sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Runs the sampled decoder over <paramref name="count"/> images x <paramref name="samples"/> z each
    /// and calls <paramref name="rowsDone"/>(first image, first sample index, rows) with hostA = BCE and
    /// hostB = log p(z) - log q(z|x) per row. A pass holds whole images (all their samples) when
    /// samples &lt;= capacity, else one image in pieces. Draw index of (image i, sample k, dim j):
    /// (i K + k) L + j.
    /// </summary>
    private void ForEachSample(int count, int samples, ulong seed, ulong stream, Action<int, int, int> rowsDone, Action<double>? klPerImage)
    {
        int l = Vae.Latent;
        if (samples <= Capacity)
        {
            int per = Capacity / samples;
            for (int start = 0; start < count; start += per)
            {
                int c = Math.Min(per, count - start);
                Load(start, c);
                net.Encode(c);
                if (klPerImage is not null)
                {
                    net.ComputeKl(c);
                    net.Kl.CopyTo(hostB.AsSpan(0, c));
                    for (int i = 0; i < c; i++)
                        klPerImage(hostB[i]);
                }
                int rows = c * samples;
                net.Sample(rows, samples, seed, stream, (long)start * samples * l);
                net.Decode(rows);
                net.Loss(rows, net.X, samples, gradient: false);
                net.LatentLogWeight(rows, samples);
                net.Reconstruction.CopyTo(hostA.AsSpan(0, rows));
                net.LatentWeight.CopyTo(hostB.AsSpan(0, rows));
                // Hand the rows over image by image.
                var a = hostA;
                var b = hostB;
                for (int i = 0; i < c; i++)
                {
                    if (i > 0)
                    {
                        Array.Copy(a, i * samples, a, 0, samples);
                        Array.Copy(b, i * samples, b, 0, samples);
                    }
                    rowsDone(start + i, 0, samples);
                }
            }
            return;
        }
        for (int image = 0; image < count; image++)
        {
            Load(image, 1);
            net.Encode(1);
            if (klPerImage is not null)
            {
                net.ComputeKl(1);
                net.Kl.CopyTo(hostB.AsSpan(0, 1));
                klPerImage(hostB[0]);
            }
            for (int k0 = 0; k0 < samples; k0 += Capacity)
            {
                int rows = Math.Min(Capacity, samples - k0);
                net.Sample(rows, rows, seed, stream, ((long)image * samples + k0) * l);
                net.Decode(rows);
                net.Loss(rows, net.X, rows, gradient: false);
                net.LatentLogWeight(rows, rows);
                net.Reconstruction.CopyTo(hostA.AsSpan(0, rows));
                net.LatentWeight.CopyTo(hostB.AsSpan(0, rows));
                rowsDone(image, k0, rows);
            }
        }
    }

    /// <summary>Statistics of mu and sigma over all images, per-dimension KL and the active units.</summary>
    public VaeLatentStatistics Latent()
    {
        int l = Vae.Latent;
        var mu = new float[(long)Count * l];
        var sigma = new float[(long)Count * l];
        var klDim = new double[l];
        for (int start = 0; start < Count; start += Capacity)
        {
            int rows = Math.Min(Capacity, Count - start);
            Load(start, rows);
            net.Encode(rows);
            net.Stats.CopyTo(hostStats.AsSpan(0, rows * 2 * l));
            for (int r = 0; r < rows; r++)
            {
                for (int j = 0; j < l; j++)
                {
                    float m = hostStats[r * 2 * l + j], lv = hostStats[r * 2 * l + l + j];
                    mu[(long)(start + r) * l + j] = m;
                    sigma[(long)(start + r) * l + j] = MathF.Exp(0.5f * lv);
                    klDim[j] += -0.5 * (1 + (double)lv - (double)m * m - Math.Exp(lv));
                }
            }
        }
        var muVar = new double[l];
        double all = 0, all2 = 0;
        for (int j = 0; j < l; j++)
        {
            double s = 0, s2 = 0;
            for (int i = 0; i < Count; i++)
            {
                double x = mu[(long)i * l + j];
                s += x;
                s2 += x * x;
            }
            all += s;
            all2 += s2;
            double mean = s / Count;
            muVar[j] = Math.Max(0, s2 / Count - mean * mean);
            klDim[j] /= Count;
        }
        double n = (double)Count * l;
        double muMean = all / n;
        return new VaeLatentStatistics(
            muMean,
            Math.Sqrt(Math.Max(0, all2 / n - muMean * muMean)),
            sigma.Average(x => (double)x),
            sigma.Min(),
            sigma.Max(),
            klDim,
            muVar,
            muVar.Count(x => x > ActiveThreshold),
            mu,
            sigma);
    }

    /// <summary>The decoder's mean images sigmoid(logits) for z = mu of the first <paramref name="count"/> images (rows of Input values).</summary>
    public float[] Reconstruct(int count)
    {
        count = Math.Min(count, Math.Min(Count, Capacity));
        Load(0, count);
        net.Encode(count);
        net.UseMean(count);
        net.Decode(count);
        return Probabilities(count);
    }

    /// <summary>Decoded mean images of <paramref name="count"/> draws z ~ N(0, I) (Philox prior stream of <paramref name="seed"/>).</summary>
    public float[] Sample(int count, ulong seed = 1)
    {
        count = Math.Min(count, Capacity);
        int l = Vae.Latent;
        var z = new float[count * l];
        Kernels.Cpu.CpuRandomKernels.Normal(z, seed, PriorStream, 0);
        net.Z.CopyFrom(z);
        net.Decode(count);
        return Probabilities(count);
    }

    private float[] Probabilities(int count)
    {
        var x = new float[count * Vae.Input];
        net.Logits.CopyTo(x);
        for (int i = 0; i < x.Length; i++)
            x[i] = ScalarMath.Sigmoid(x[i]);
        return x;
    }

    /// <summary>Frees the device workspaces.</summary>
    public void Dispose() => net.Dispose();
}
