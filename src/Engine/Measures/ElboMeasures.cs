namespace InfoGpu.Measures;

/// <summary>Statistics of the approximate posteriors q(z | x) = N(mu, diag(exp(logvar))) of a batch of rows.</summary>
/// <param name="MuMean">Mean of every mu_j over rows and dimensions.</param>
/// <param name="MuStd">Standard deviation of mu over rows and dimensions.</param>
/// <param name="SigmaMean">The mean posterior standard deviation: the mean of sigma_j = exp(logvar_j / 2) over rows and dimensions.</param>
/// <param name="SigmaMin">Smallest sigma.</param>
/// <param name="SigmaMax">Largest sigma.</param>
/// <param name="KlPerDimension">Mean KL of each latent dimension over the rows (nats).</param>
/// <param name="MuVariance">The variance of mu_j over the rows, per dimension.</param>
/// <param name="ActiveUnits">Dimensions whose <paramref name="MuVariance"/> exceeds <see cref="ElboMeasures.ActiveThreshold"/>.</param>
public sealed record ElboLatentStatistics(
    double MuMean, double MuStd, double SigmaMean, double SigmaMin, double SigmaMax,
    double[] KlPerDimension, double[] MuVariance, int ActiveUnits);

/// <summary>BCE, KL and ELBO of each row of a batch, their means, and the latent statistics (nats).</summary>
/// <param name="Rows">Number of rows (samples).</param>
/// <param name="Features">Number of data features D per row.</param>
/// <param name="Latent">Number of latent dimensions L per row.</param>
/// <param name="Reconstruction">Per row: the Bernoulli cross-entropy sum_i BCE(x_i, sigmoid(logit_i)).</param>
/// <param name="Kl">Per row: KL(N(mu, diag(exp(logvar))) || N(0, I)).</param>
/// <param name="Elbo">Per row: -(Reconstruction + Kl).</param>
/// <param name="MeanReconstruction">Mean of <paramref name="Reconstruction"/>.</param>
/// <param name="MeanKl">Mean of <paramref name="Kl"/>.</param>
/// <param name="MeanElbo">Mean of <paramref name="Elbo"/>.</param>
/// <param name="LatentStatistics">Statistics of mu and sigma.</param>
public sealed record ElboResult(
    int Rows, int Features, int Latent,
    double[] Reconstruction, double[] Kl, double[] Elbo,
    double MeanReconstruction, double MeanKl, double MeanElbo,
    ElboLatentStatistics LatentStatistics);

/// <summary>
/// The VAE's evidence lower bound of given tensors (the chapter's VAE example): data x, the
/// decoder's reconstruction logits, and the encoder's mu and log-variance, one row per sample,
/// in float64 on the host. Thread-safe (pure functions).
/// </summary>
public static class ElboMeasures
{
    /// <summary>A latent dimension is active when the variance of its mu over the rows exceeds this (as <c>VaeAnalysis.ActiveThreshold</c>).</summary>
    public const double ActiveThreshold = 0.01;

    /// <summary>BCE, KL and ELBO per row and their means, with latent statistics.</summary>
    /// <param name="x">Targets in [0, 1], rows x <paramref name="features"/> (row-major).</param>
    /// <param name="logits">Reconstruction logits l (the decoder's output before the sigmoid), same shape as <paramref name="x"/>.</param>
    /// <param name="mu">Posterior means, rows x <paramref name="latent"/>.</param>
    /// <param name="logVariance">Posterior log-variances, same shape as <paramref name="mu"/>.</param>
    /// <param name="features">D, the number of features per row (&gt; 0).</param>
    /// <param name="latent">L, the number of latent dimensions per row (&gt; 0).</param>
    /// <remarks>
    /// BCE per row = sum_i max(l_i, 0) - x_i l_i + ln(1 + e^-|l_i|) (PyTorch's
    /// <c>binary_cross_entropy_with_logits(reduction="sum")</c>, stable for any logit);
    /// KL per row = 1/2 sum_j (mu_j^2 + e^lv_j - 1 - lv_j), with e^lv - 1 - lv from its series
    /// near 0 so a posterior close to the prior keeps its small KL accurate;
    /// ELBO = -(BCE + KL). Throws <see cref="InfoGpuException"/> naming the row and column of a
    /// value that is not finite or an x outside [0, 1], or when the shapes do not match.
    /// </remarks>
    public static ElboResult Compute(
        ReadOnlySpan<double> x, ReadOnlySpan<double> logits, ReadOnlySpan<double> mu, ReadOnlySpan<double> logVariance, int features, int latent)
    {
        if (features <= 0 || latent <= 0)
            throw new InfoGpuException($"ELBO: features and latent dimensions must be positive (got {features} and {latent})");
        if (x.Length == 0 || x.Length % features != 0)
            throw new InfoGpuException($"ELBO: x holds {x.Length} values, not a positive multiple of {features} features");
        int rows = x.Length / features;
        if (logits.Length != x.Length)
            throw new InfoGpuException($"ELBO: logits hold {logits.Length} values but x holds {x.Length}; give one logit per x value");
        if (mu.Length != (long)rows * latent || logVariance.Length != mu.Length)
            throw new InfoGpuException($"ELBO: mu and logvar hold {mu.Length} and {logVariance.Length} values; {rows} rows of {latent} latent dimensions need {(long)rows * latent} each");
        for (int i = 0; i < x.Length; i++)
        {
            if (!(x[i] >= 0 && x[i] <= 1))
                throw Distributions.Bad("ELBO x", i / features, $"entry {i % features} is {Distributions.Fmt(x[i])}; targets must be in [0, 1]");
            if (!double.IsFinite(logits[i]))
                throw Distributions.Bad("ELBO logits", i / features, $"entry {i % features} is {Distributions.Fmt(logits[i])}; logits must be finite");
        }
        for (int i = 0; i < mu.Length; i++)
        {
            if (!double.IsFinite(mu[i]))
                throw Distributions.Bad("ELBO mu", i / latent, $"entry {i % latent} is {Distributions.Fmt(mu[i])}; mu must be finite");
            if (!double.IsFinite(logVariance[i]) || logVariance[i] > 700)
                throw Distributions.Bad("ELBO logvar", i / latent, $"entry {i % latent} is {Distributions.Fmt(logVariance[i])}; logvar must be finite and <= 700");
        }

        var bce = new double[rows];
        var kl = new double[rows];
        var elbo = new double[rows];
        var klDim = new double[latent];
        var muSum = new double[latent];
        var muSum2 = new double[latent];
        double sigmaSum = 0, sigmaMin = double.PositiveInfinity, sigmaMax = 0;
        for (int r = 0; r < rows; r++)
        {
            double b = 0;
            for (int i = r * features; i < (r + 1) * features; i++)
                b += BinaryCrossEntropy(logits[i], x[i]);
            double k = 0;
            for (int j = 0; j < latent; j++)
            {
                double m = mu[r * latent + j], lv = logVariance[r * latent + j];
                double kj = GaussianKl(m, lv);
                k += kj;
                klDim[j] += kj;
                muSum[j] += m;
                muSum2[j] += m * m;
                double sigma = Math.Exp(0.5 * lv);
                sigmaSum += sigma;
                sigmaMin = Math.Min(sigmaMin, sigma);
                sigmaMax = Math.Max(sigmaMax, sigma);
            }
            bce[r] = b;
            kl[r] = k;
            elbo[r] = -(b + k);
        }

        var muVariance = new double[latent];
        double all = 0, all2 = 0;
        for (int j = 0; j < latent; j++)
        {
            double mean = muSum[j] / rows;
            muVariance[j] = Math.Max(0, muSum2[j] / rows - mean * mean);
            klDim[j] /= rows;
            all += muSum[j];
            all2 += muSum2[j];
        }
        double n = (double)rows * latent;
        double muMean = all / n;
        var stats = new ElboLatentStatistics(
            muMean,
            Math.Sqrt(Math.Max(0, all2 / n - muMean * muMean)),
            sigmaSum / n,
            sigmaMin,
            sigmaMax,
            klDim,
            muVariance,
            muVariance.Count(v => v > ActiveThreshold));
        return new ElboResult(rows, features, latent, bce, kl, elbo, bce.Average(), kl.Average(), elbo.Average(), stats);
    }

    /// <summary>-x ln sigmoid(l) - (1 - x) ln(1 - sigmoid(l)) = max(l, 0) - x l + ln(1 + e^-|l|), in float64.</summary>
    public static double BinaryCrossEntropy(double logit, double x) =>
        (Math.Max(logit, 0) - x * logit) + ExactJoint.Log1p(Math.Exp(-Math.Abs(logit)));

    /// <summary>KL(N(mu, e^lv) || N(0, 1)) = (mu^2 + e^lv - 1 - lv) / 2, accurate near the prior.</summary>
    public static double GaussianKl(double mu, double logVariance) => 0.5 * (mu * mu + ExpMinusOneMinusX(logVariance));

    /// <summary>e^v - 1 - v &gt;= 0: the series v^2/2 + v^3/6 + ... for |v| &lt; 1/2, else directly.</summary>
    private static double ExpMinusOneMinusX(double v)
    {
        if (Math.Abs(v) >= 0.5)
            return Math.Exp(v) - 1 - v;
        double term = v * v / 2, sum = 0;
        for (int k = 3; k < 40 && term != 0; k++)
        {
            sum += term;
            if (Math.Abs(term) <= 1e-18 * sum)
                break;
            term *= v / k;
        }
        return sum;
    }
}
