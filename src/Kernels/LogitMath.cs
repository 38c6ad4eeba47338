using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>Loss formulas from per-row log-softmax statistics, shared by every backend.</summary>
internal static class LogitMath
{
    /// <summary>Plain cross-entropy.</summary>
    public const int Plain = 0;

    /// <summary>Label smoothing: 1 - eps on the target, eps / (K - 1) on each other class (the textbook's code).</summary>
    public const int SmoothingOthers = 1;

    /// <summary>Label smoothing: (1 - eps) one-hot + eps / K on every class (PyTorch's label_smoothing).</summary>
    public const int SmoothingUniform = 2;

    /// <summary>
    /// Loss of one row given nllTarget = lse - x_t and sumNll = sum_k (lse - x_k).
    /// </summary>
    /// <remarks>
    /// plain: nll_t; others: (1 - eps) nll_t + eps/(K-1) (sumNll - nll_t);
    /// uniform: (1 - eps) nll_t + eps/K sumNll.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Loss(float nllTarget, float sumNll, int classes, float epsilon, int mode)
    {
        if (mode == SmoothingOthers)
            return (1f - epsilon) * nllTarget + epsilon / (classes - 1) * (sumNll - nllTarget);
        if (mode == SmoothingUniform)
            return (1f - epsilon) * nllTarget + epsilon / classes * sumNll;
        return nllTarget;
    }

    /// <summary>
    /// log(1 + x), accurate for small x (<see cref="AccurateMath.Log1p"/>): keeps the
    /// cross-entropy of a confident, correct prediction accurate in float32 on every backend.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Log1p(float x) => AccurateMath.Log1p(x);

    /// <summary>
    /// log sum_j exp(x_j - max) from the sum of exp(x_j - max) over the entries below the
    /// maximum and the number of entries equal to it: log1p(rest + ties - 1). Callers add
    /// (max - x_t) to it, never max to it, so no precision is lost to a large max.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float LogSumExpShifted(float restSum, float ties) => Log1p(restSum + (ties - 1f));

    /// <summary>Float64 form of <see cref="Loss(float, float, int, float, int)"/>.</summary>
    public static double Loss(double nllTarget, double sumNll, int classes, double epsilon, int mode)
    {
        if (mode == SmoothingOthers)
            return (1 - epsilon) * nllTarget + epsilon / (classes - 1) * (sumNll - nllTarget);
        if (mode == SmoothingUniform)
            return (1 - epsilon) * nllTarget + epsilon / classes * sumNll;
        return nllTarget;
    }
}
