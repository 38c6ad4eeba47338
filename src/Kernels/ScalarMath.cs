using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>
/// Scalar math shared by the ILGPU kernels and the SIMD CPU kernels. The float32 forms use
/// <see cref="AccurateMath"/>, never the GPU's approximate logarithm and exponential.
/// </summary>
internal static class ScalarMath
{
    /// <summary>Stable log(1 + exp(x)): max(x, 0) + log1p(exp(-|x|)), accurate in the left tail too (softplus(-30) = 9.4e-14, not 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Softplus(float x) =>
        x > 0f ? x + AccurateMath.Log1p(AccurateMath.Exp(-x)) : AccurateMath.Log1p(AccurateMath.Exp(x));

    /// <summary>Stable log(1 + exp(x)) in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Softplus(double x) =>
        x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    /// <summary>Logistic sigmoid 1 / (1 + exp(-x)), stable for large |x|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x)
    {
        if (x >= 0f)
            return 1f / (1f + AccurateMath.Exp(-x));
        float e = AccurateMath.Exp(x);
        return e / (1f + e);
    }

    /// <summary>x ln x with the convention 0 ln 0 = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float XLogX(float x) => x > 0f ? x * AccurateMath.Log(x) : 0f;

    /// <summary>x ln x with the convention 0 ln 0 = 0, float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double XLogX(double x) => x > 0 ? x * Math.Log(x) : 0;

    /// <summary>x ln(x / y) with 0 ln(0 / y) = 0 and x ln(x / 0) = +inf for x &gt; 0.</summary>
    /// <remarks>
    /// As the CPU kernels' vector form: one logarithm of the rounded ratio when x / y is a
    /// positive normal float (half an ulp of the ratio moves the logarithm by at most 6e-8, less
    /// than a difference of two logarithms loses when x is close to y), else x (ln x - ln y).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float XLogXOverY(float x, float y)
    {
        if (x <= 0f)
            return 0f;
        if (y <= 0f)
            return float.PositiveInfinity;
        float ratio = x / y;
        if (ratio >= 1.17549435e-38f && ratio <= float.MaxValue)
            return x * AccurateMath.Log(ratio);
        return x * (AccurateMath.Log(x) - AccurateMath.Log(y));
    }

    /// <summary>x ln(x / y), float64, same conventions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double XLogXOverY(double x, double y)
    {
        if (x <= 0)
            return 0;
        if (y <= 0)
            return double.PositiveInfinity;
        return x * (Math.Log(x) - Math.Log(y));
    }

    /// <summary>-x ln y with 0 ln y = 0 (even for y = 0) and +inf for x &gt; 0 = y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float CrossTerm(float x, float y)
    {
        if (x <= 0f)
            return 0f;
        if (y <= 0f)
            return float.PositiveInfinity;
        return -x * AccurateMath.Log(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Clip(float x, float lo, float hi) => x < lo ? lo : (x > hi ? hi : x);
}
