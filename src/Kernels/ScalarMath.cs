using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>Scalar math shared by the ILGPU kernels and the SIMD CPU kernels.</summary>
internal static class ScalarMath
{
    /// <summary>Stable log(1 + exp(x)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Softplus(float x) =>
        x > 0f ? x + MathF.Log(1f + MathF.Exp(-x)) : MathF.Log(1f + MathF.Exp(x));

    /// <summary>Stable log(1 + exp(x)) in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Softplus(double x) =>
        x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));

    /// <summary>Logistic sigmoid 1 / (1 + exp(-x)), stable for large |x|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x)
    {
        if (x >= 0f)
            return 1f / (1f + MathF.Exp(-x));
        float e = MathF.Exp(x);
        return e / (1f + e);
    }

    /// <summary>x ln x with the convention 0 ln 0 = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float XLogX(float x) => x > 0f ? x * MathF.Log(x) : 0f;

    /// <summary>x ln x with the convention 0 ln 0 = 0, float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double XLogX(double x) => x > 0 ? x * Math.Log(x) : 0;

    /// <summary>x ln(x / y) with 0 ln(0 / y) = 0 and x ln(x / 0) = +inf for x &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float XLogXOverY(float x, float y)
    {
        if (x <= 0f)
            return 0f;
        if (y <= 0f)
            return float.PositiveInfinity;
        return x * (MathF.Log(x) - MathF.Log(y));
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
        return -x * MathF.Log(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Clip(float x, float lo, float hi) => x < lo ? lo : (x > hi ? hi : x);
}
