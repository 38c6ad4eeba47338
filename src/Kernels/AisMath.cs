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
    /// <summary>
    /// softplus(beta x) - softplus(betaPrev x) = log1p(sigmoid(betaPrev x) expm1((beta - betaPrev) x)),
    /// with no cancellation when the two temperatures are close; every function in it is
    /// <see cref="AccurateMath"/>'s (within an ulp or two on every backend).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SoftplusDifference(float x, float betaPrev, float beta) =>
        AccurateMath.Log1p(ScalarMath.Sigmoid(betaPrev * x) * AccurateMath.Expm1((beta - betaPrev) * x));

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
