using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>Scalar arguments of the Adam update (PyTorch's formula; see <see cref="VaeMath.Adam"/>).</summary>
internal struct AdamArgs
{
    /// <summary>1 - beta1, rounded from float64 (as PyTorch passes the scalar).</summary>
    public float OneMinusBeta1;

    public float Beta2;

    /// <summary>1 - beta2, rounded from float64.</summary>
    public float OneMinusBeta2;

    /// <summary>lr / (1 - beta1^t).</summary>
    public float StepSize;

    /// <summary>sqrt(1 - beta2^t).</summary>
    public float Bias2Sqrt;

    public float Epsilon;
}

/// <summary>
/// The VAE's scalar formulas, shared by the ILGPU kernels and the CPU kernels: the Bernoulli
/// cross-entropy from a logit, the Gaussian KL to N(0, 1), the reparameterization and its
/// gradients, and one Adam step.
/// </summary>
internal static class VaeMath
{
    /// <summary>
    /// Bernoulli cross-entropy of target x under p = sigmoid(l), from the logit:
    /// -x ln p - (1 - x) ln(1 - p) = softplus(l) - x l = (max(l, 0) - x l) + log1p(e^-|l|)
    /// (the first part is exact for x in {0, 1}, and log1p added last, so a confident, correct
    /// prediction keeps its small loss to float32 precision).
    /// Also returns sigmoid(l) (from the same exponential), whose difference from x is the gradient.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float CrossEntropy(float logit, float x, out float sigmoid)
    {
        float e = AccurateMath.Exp(-MathF.Abs(logit));
        float inv = 1f / (1f + e);
        sigmoid = logit >= 0f ? inv : e * inv;
        return (MathF.Max(logit, 0f) - x * logit) + AccurateMath.Log1p(e);
    }

    /// <summary>The KL term of one latent dimension: -(1 + lv - mu^2 - e^lv) / 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Kl(float mu, float logVar) => -0.5f * (1f + logVar - mu * mu - AccurateMath.Exp(logVar));

    /// <summary>The same KL term in float64 (the host's exact entry points).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Kl(double mu, double logVar) => -0.5 * (1 + logVar - mu * mu - Math.Exp(logVar));

    /// <summary>d/d mu of (loss through z) + beta KL: dz + beta mu.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MuGradient(float dz, float mu, float beta) => dz + beta * mu;

    /// <summary>d/d logvar: dz eps e^(lv/2) / 2 + beta (e^lv - 1) / 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LogVarGradient(float dz, float eps, float logVar, float beta)
    {
        float s = AccurateMath.Exp(0.5f * logVar);
        return 0.5f * dz * eps * s + 0.5f * beta * (s * s - 1f);
    }

    /// <summary>
    /// One Adam step on one parameter, as torch.optim.Adam computes it: m += (1 - b1)(g - m);
    /// v = b2 v + (1 - b2) g^2; p -= stepSize m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Adam(ref float p, float g, ref float m, ref float v, in AdamArgs a)
    {
        m += a.OneMinusBeta1 * (g - m);
        v = v * a.Beta2 + a.OneMinusBeta2 * g * g;
        float denom = MathF.Sqrt(v) / a.Bias2Sqrt + a.Epsilon;
        p -= a.StepSize * (m / denom);
    }
}
