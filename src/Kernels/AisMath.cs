using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>
/// Scalar pieces of annealed importance sampling for RBMs, shared by every backend. The
/// importance weight grows at each temperature by log p*_k(v) - log p*_{k-1}(v), a sum of many
/// small differences; computing each one directly (not as a difference of two large numbers)
/// keeps float32 accurate to its last bits.
/// </summary>
internal static class AisMath
{
    /// <summary>e^d - 1, accurate for small |d| (series below 0.1, where exp(d) - 1 would cancel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Expm1(float d)
    {
        if (d > 0.1f || d < -0.1f)
            return MathF.Exp(d) - 1f;
        // Taylor series to d^7 / 7!: the next term is below 0.1^8 / 8! = 2.5e-13 relative.
        return d * (1f + d * (0.5f + d * ((1f / 6f) + d * ((1f / 24f) + d * ((1f / 120f) + d * ((1f / 720f) + d * (1f / 5040f)))))));
    }

    /// <summary>
    /// softplus(beta x) - softplus(betaPrev x) = log1p(sigmoid(betaPrev x) expm1((beta - betaPrev) x)),
    /// with no cancellation when the two temperatures are close.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SoftplusDifference(float x, float betaPrev, float beta) =>
        LogitMath.Log1p(ScalarMath.Sigmoid(betaPrev * x) * Expm1((beta - betaPrev) * x));

    /// <summary>Kahan summation: adds <paramref name="value"/> to (sum, compensation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void KahanAdd(ref float sum, ref float compensation, float value)
    {
        float y = value - compensation;
        float t = sum + y;
        compensation = (t - sum) - y;
        sum = t;
    }
}
