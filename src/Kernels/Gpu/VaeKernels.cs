using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// The VAE's element-wise and reduction kernels (the dense layers are GEMM calls). The latent
/// statistics of a batch are one rows x 2L matrix: mu in columns [0, L), log-variance in [L, 2L).
/// Every reduction runs in a fixed order (one thread per row or per column), so results are
/// the same from run to run.
/// </summary>
internal static class VaeKernels
{
    /// <summary>
    /// eps[r, j] = Philox normal (offset + r L + j); z[r, j] = mu + exp(lv / 2) eps, with mu and lv
    /// from row r / repeat of the statistics (repeat &gt; 1 draws several samples per input).
    /// </summary>
    public static void ReparameterizeKernel(Index1D i, ArrayView<float> stats, ArrayView<float> eps, ArrayView<float> z, int latent, int repeat, ulong seed, ulong stream, long offset)
    {
        int r = i / latent;
        int j = i - r * latent;
        long s = (long)(r / repeat) * 2 * latent;
        float e = Philox.Normal(seed, stream, (ulong)(offset + i));
        eps[i] = e;
        z[i] = stats[s + j] + AccurateMath.Exp(0.5f * stats[s + latent + j]) * e;
    }

    /// <summary>dstats[r] = (dz + beta mu, dz eps e^(lv/2) / 2 + beta (e^lv - 1) / 2): the gradient through z and beta KL.</summary>
    public static void ReparameterizeBackwardKernel(Index1D i, ArrayView<float> stats, ArrayView<float> eps, ArrayView<float> dz, ArrayView<float> dstats, int latent, float beta)
    {
        int r = i / latent;
        int j = i - r * latent;
        long s = (long)r * 2 * latent;
        float d = dz[i];
        dstats[s + j] = VaeMath.MuGradient(d, stats[s + j], beta);
        dstats[s + latent + j] = VaeMath.LogVarGradient(d, eps[i], stats[s + latent + j], beta);
    }

    /// <summary>kl[r] = -1/2 sum_j (1 + lv - mu^2 - e^lv), in column order.</summary>
    public static void KlKernel(Index1D r, ArrayView<float> stats, ArrayView<float> kl, int latent)
    {
        long s = (long)r.X * 2 * latent;
        float sum = 0f;
        for (int j = 0; j < latent; j++)
            sum += VaeMath.Kl(stats[s + j], stats[s + latent + j]);
        kl[r] = sum;
    }

    /// <summary>result[r] = log N(z; 0, I) - log q(z | x) = sum_j (eps^2 - z^2 + lv) / 2 (the 2 pi terms cancel).</summary>
    public static void LatentLogWeightKernel(Index1D r, ArrayView<float> stats, ArrayView<float> eps, ArrayView<float> z, ArrayView<float> result, int latent, int repeat)
    {
        long s = (long)(r.X / repeat) * 2 * latent;
        long o = (long)r.X * latent;
        float sum = 0f;
        for (int j = 0; j < latent; j++)
        {
            float e = eps[o + j], zz = z[o + j];
            sum += 0.5f * (e * e - zz * zz + stats[s + latent + j]);
        }
        result[r] = sum;
    }

    /// <summary>
    /// losses[r] = sum_c softplus(l) - x l over row r of the logits, x from row r / repeat of the
    /// targets; when gradient != 0 the logits are overwritten by sigmoid(l) - x.
    /// </summary>
    public static void CrossEntropyKernel(Index1D r, ArrayView<float> logits, ArrayView<float> x, ArrayView<float> losses, int cols, int repeat, int gradient)
    {
        long o = (long)r.X * cols;
        long t = (long)(r.X / repeat) * cols;
        float sum = 0f;
        for (int c = 0; c < cols; c++)
        {
            float xv = x[t + c];
            sum += VaeMath.CrossEntropy(logits[o + c], xv, out float p);
            if (gradient != 0)
                logits[o + c] = p - xv;
        }
        losses[r] = sum;
    }

    /// <summary>dy[r, c] = 0 where y[r, c] &lt;= 0 (ReLU backward); sums[c] = the column sum of the result (the bias gradient).</summary>
    public static void ReluBackwardKernel(Index1D c, ArrayView<float> dy, ArrayView<float> y, ArrayView<float> sums, int rows, int cols)
    {
        float sum = 0f;
        for (int r = 0; r < rows; r++)
        {
            long k = (long)r * cols + c;
            float d = y[k] > 0f ? dy[k] : 0f;
            dy[k] = d;
            sum += d;
        }
        sums[c] = sum;
    }

    /// <summary>sums[c] = sum over rows of x[r, c], rows in order.</summary>
    public static void ColumnSumsKernel(Index1D c, ArrayView<float> x, ArrayView<float> sums, int rows, int cols)
    {
        float sum = 0f;
        for (int r = 0; r < rows; r++)
            sum += x[(long)r * cols + c];
        sums[c] = sum;
    }

    /// <summary>One Adam step of every parameter (<see cref="VaeMath.Adam"/>).</summary>
    public static void AdamKernel(Index1D i, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, AdamArgs a)
    {
        float pi = p[i], mi = m[i], vi = v[i];
        VaeMath.Adam(ref pi, g[i], ref mi, ref vi, a);
        p[i] = pi;
        m[i] = mi;
        v[i] = vi;
    }
}
