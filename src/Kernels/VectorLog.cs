using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels;

/// <summary>
/// Natural logarithm of float lanes for the row reductions: under one ulp of the float64
/// logarithm on every positive finite float (measured over all powers of two, the neighbourhood of 1
/// and millions of random arguments), at a fraction of the cost of <see cref="Vector512.Log(Vector512{float})"/>.
/// </summary>
/// <remarks>
/// x = 2^e m with m in [sqrt(1/2), sqrt(2)), f = m - 1, ln x = e ln 2 + f - f^2/2 + f^3 P(f), where
/// P is a degree-7 polynomial fitted to (log1p(f) - f + f^2/2) / f^3 on that interval (weighted
/// least squares iterated towards equal relative error). ln 2 is split into a part with few
/// bits (e ln2_hi is exact) and the rest. Subnormals are scaled into the normal range; zero gives
/// -inf, +inf gives +inf, negative numbers and NaN give NaN, as <see cref="MathF.Log(float)"/>.
/// </remarks>
internal static class VectorLog
{
    private const float MinNormal = 1.17549435e-38f;
    private const float TwoTo23 = 8388608f;
    private const int SqrtHalfBits = 0x3F3504F3;
    private const int MantissaMask = 0x007FFFFF;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float C7 = -0.07556241005659103f;
    private const float C6 = 0.12640461325645447f;
    private const float C5 = -0.13134069740772247f;
    private const float C4 = 0.14217320084571838f;
    private const float C3 = -0.16627396643161774f;
    private const float C2 = 0.200006365776062f;
    private const float C1 = -0.2500070333480835f;
    private const float C0 = 0.3333333730697632f;

    /// <summary>ln x per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log(Vector512<float> x)
    {
        // Vectors with a lane that is not a positive normal float take the branch. No call on
        // either path: a call here would make the JIT spill the callers' loop accumulators.
        if (AllNormal(x))
            return Core(x, default, false);
        return Special(x);
    }

    /// <summary>-x ln x per lane, 0 where x = 0 (the entropy summand); the common all-normal path skips the zero test.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NegXLogX(Vector512<float> x)
    {
        if (AllNormal(x))
            return x * -Core(x, default, false);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x * -Special(x), Vector512<float>.Zero);
    }

    /// <summary>
    /// x ln(x / y) per lane: 0 where x = 0, +inf where y = 0 &lt; x. When every ratio x / y is a
    /// positive normal float, one logarithm of the rounded ratio (half an ulp of the ratio moves
    /// the logarithm by at most 6e-8, less than the difference of two logarithms loses); otherwise
    /// x (ln x - ln y).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> XLogXOverY(Vector512<float> x, Vector512<float> y)
    {
        var ratio = x / y;
        if (AllNormal(ratio))
            return x * Core(ratio, default, false);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x * (Log(x) - Log(y)), Vector512<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllNormal(Vector512<float> x) =>
        Vector512.GreaterThanOrEqualAll(x, Vector512.Create(MinNormal)) && Vector512.LessThanOrEqualAll(x, Vector512.Create(float.MaxValue));

    /// <summary>
    /// Any lane: subnormals are scaled by 2^23 into the normal range (23 taken off the exponent);
    /// zero gives -inf, +inf gives +inf, negative numbers and NaN give NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Special(Vector512<float> x)
    {
        var subnormal = Vector512.LessThan(x, Vector512.Create(MinNormal));
        var xs = Vector512.ConditionalSelect(subnormal, x * Vector512.Create(TwoTo23), x);
        var r = Core(xs, Vector512.Create(23f) & subnormal, true);
        r = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512<float>.Zero), Vector512.Create(float.NegativeInfinity), r);
        r = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512.Create(float.PositiveInfinity)), x, r);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), r, Vector512.Create(float.NaN));
    }

    /// <summary>ln of positive normal lanes; with <paramref name="shift"/>, <paramref name="eShift"/> is taken off the exponents.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Core(Vector512<float> x, Vector512<float> eShift, bool shift)
    {
        var t = x.AsInt32() - Vector512.Create(SqrtHalfBits);
        var e = Vector512.ConvertToSingle(Vector512.ShiftRightArithmetic(t, 23));
        if (shift)
            e -= eShift;
        var f = ((t & Vector512.Create(MantissaMask)) + Vector512.Create(SqrtHalfBits)).AsSingle() - Vector512<float>.One;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(C7), f, Vector512.Create(C6));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C1));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C0));
        var f2 = f * f;
        var y = Vector512.FusedMultiplyAdd(f2 * f, p, Vector512.Create(-0.5f) * f2);
        var r = Vector512.FusedMultiplyAdd(e, Vector512.Create(Ln2Lo), y) + f;
        return Vector512.FusedMultiplyAdd(e, Vector512.Create(Ln2Hi), r);
    }

    /// <summary>ln x per lane (eight lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Log(Vector256<float> x)
    {
        // Vectors with a lane that is not a positive normal float take the branch. No call on
        // either path: a call here would make the JIT spill the callers' loop accumulators.
        if (AllNormal(x))
            return Core(x, default, false);
        return Special(x);
    }

    /// <summary>-x ln x per lane, 0 where x = 0 (the entropy summand); the common all-normal path skips the zero test.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NegXLogX(Vector256<float> x)
    {
        if (AllNormal(x))
            return x * -Core(x, default, false);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x * -Special(x), Vector256<float>.Zero);
    }

    /// <summary>
    /// x ln(x / y) per lane: 0 where x = 0, +inf where y = 0 &lt; x. When every ratio x / y is a
    /// positive normal float, one logarithm of the rounded ratio (half an ulp of the ratio moves
    /// the logarithm by at most 6e-8, less than the difference of two logarithms loses); otherwise
    /// x (ln x - ln y).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> XLogXOverY(Vector256<float> x, Vector256<float> y)
    {
        var ratio = x / y;
        if (AllNormal(ratio))
            return x * Core(ratio, default, false);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x * (Log(x) - Log(y)), Vector256<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllNormal(Vector256<float> x) =>
        Vector256.GreaterThanOrEqualAll(x, Vector256.Create(MinNormal)) && Vector256.LessThanOrEqualAll(x, Vector256.Create(float.MaxValue));

    /// <summary>
    /// Any lane: subnormals are scaled by 2^23 into the normal range (23 taken off the exponent);
    /// zero gives -inf, +inf gives +inf, negative numbers and NaN give NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Special(Vector256<float> x)
    {
        var subnormal = Vector256.LessThan(x, Vector256.Create(MinNormal));
        var xs = Vector256.ConditionalSelect(subnormal, x * Vector256.Create(TwoTo23), x);
        var r = Core(xs, Vector256.Create(23f) & subnormal, true);
        r = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256<float>.Zero), Vector256.Create(float.NegativeInfinity), r);
        r = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(float.PositiveInfinity)), x, r);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), r, Vector256.Create(float.NaN));
    }

    /// <summary>ln of positive normal lanes; with <paramref name="shift"/>, <paramref name="eShift"/> is taken off the exponents.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Core(Vector256<float> x, Vector256<float> eShift, bool shift)
    {
        var t = x.AsInt32() - Vector256.Create(SqrtHalfBits);
        var e = Vector256.ConvertToSingle(Vector256.ShiftRightArithmetic(t, 23));
        if (shift)
            e -= eShift;
        var f = ((t & Vector256.Create(MantissaMask)) + Vector256.Create(SqrtHalfBits)).AsSingle() - Vector256<float>.One;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(C7), f, Vector256.Create(C6));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(C1));
        p = Vector256.FusedMultiplyAdd(p, f, Vector256.Create(C0));
        var f2 = f * f;
        var y = Vector256.FusedMultiplyAdd(f2 * f, p, Vector256.Create(-0.5f) * f2);
        var r = Vector256.FusedMultiplyAdd(e, Vector256.Create(Ln2Lo), y) + f;
        return Vector256.FusedMultiplyAdd(e, Vector256.Create(Ln2Hi), r);
    }
}
