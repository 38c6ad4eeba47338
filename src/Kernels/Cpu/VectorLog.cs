using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace InfoGpu.Kernels.Cpu;

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

    // ---- Split logarithm for row sums: ln x = e ln 2 + s, the two parts summed separately ----

    /// <summary>Bit offset of the reduced range [0.71875, 1.4375) of the eight-entry table: eight intervals of 2^20 float steps, 1.0 at the centre of interval 4.</summary>
    internal const int Split8Offset = 0x3F380000;

    /// <summary>
    /// 1 / c_i for the eight intervals of the eight-lane split, rounded to float: c_i is the
    /// interval's midpoint, 1 for the interval that holds 1 (so arguments near 1 reduce exactly).
    /// Regenerated and checked by the tests.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> InverseCentres8() => Vector256.Create(
        1.333333373e+00f, 1.230769277e+00f, 1.142857194e+00f, 1.066666722e+00f, 1.000000000e+00f, 8.888888955e-01f, 8.000000119e-01f, 7.272727489e-01f);

    /// <summary>-ln(1 / c_i) of the rounded inverses above, rounded to float (the logarithm of the centre the reduction actually used).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> LogCentres8() => Vector256.Create(
        -2.876821160e-01f, -2.076393962e-01f, -1.335314363e-01f, -6.453857571e-02f, 0f, 1.177830249e-01f, 2.231435329e-01f, 3.184536994e-01f);

    /// <summary>1 / c_k of the thirty-two intervals of <see cref="LogSplitAvx512"/>, k = 0..15: m in [1 + k/32, 1 + (k+1)/32), c_0 = 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> InverseCentres32Low() => Vector512.Create(
        1.000000000e+00f, 9.552238584e-01f, 9.275362492e-01f, 9.014084339e-01f, 8.767123222e-01f, 8.533333540e-01f, 8.311688304e-01f, 8.101266026e-01f,
        7.901234627e-01f, 7.710843086e-01f, 7.529411912e-01f, 7.356321812e-01f, 7.191011310e-01f, 7.032967210e-01f, 6.881720424e-01f, 6.736842394e-01f);

    /// <summary>k = 16..31: m in [0.75 + (k-16)/64, 0.75 + (k-15)/64), c_31 = 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> InverseCentres32High() => Vector512.Create(
        1.319587588e+00f, 1.292929292e+00f, 1.267326713e+00f, 1.242718458e+00f, 1.219047666e+00f, 1.196261644e+00f, 1.174311876e+00f, 1.153153181e+00f,
        1.132743359e+00f, 1.113043427e+00f, 1.094017148e+00f, 1.075630307e+00f, 1.057851195e+00f, 1.040650368e+00f, 1.024000049e+00f, 1.000000000e+00f);

    /// <summary>-ln(1 / c_k) of the rounded inverses, k = 0..15, rounded to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> LogCentres32Low() => Vector512.Create(
        0f, 4.580955952e-02f, 7.522340119e-02f, 1.037968099e-01f, 1.315763593e-01f, 1.586050093e-01f, 1.849223375e-01f, 2.105647475e-01f,
        2.355660647e-01f, 2.599575520e-01f, 2.837681472e-01f, 3.070250452e-01f, 3.297532797e-01f, 3.519763947e-01f, 3.737164140e-01f, 3.949937522e-01f);

    /// <summary>k = 16..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> LogCentres32High() => Vector512.Create(
        -2.773192525e-01f, -2.569104135e-01f, -2.369097322e-01f, -2.173012793e-01f, -1.980699450e-01f, -1.792013943e-01f, -1.606823355e-01f, -1.425000876e-01f,
        -1.246424392e-01f, -1.070980877e-01f, -8.985637873e-02f, -7.290682197e-02f, -5.623967573e-02f, -3.984587267e-02f, -2.371657453e-02f, 0f);

    /// <summary>
    /// ln x = e ln 2 + s with the AVX-512 exponent and mantissa instructions: m = getmant(x) in
    /// [0.75, 1.5) (subnormals normalized by the hardware), e = getexp(x) - getexp(m), then the
    /// nearest of thirty-two centres (one two-table permute each for 1/c and ln c; c = 1 on both
    /// sides of 1, so arguments near 1 reduce exactly, |r| &lt;= 1/32) and s = ln c + ln(1 + r) with
    /// a degree-5 polynomial (least squares towards equal relative error on that interval). Keeping
    /// e ln 2 out of the float sum is what makes this both cheaper and more accurate in a sum than a
    /// rounded ln x.
    /// Every positive finite lane, subnormals included, is within 3.5e-8 of ln m; a zero lane gives
    /// e = -200 and a finite s (so 0 * anything here is 0). No branch: the caller tests nothing.
    /// </summary>
    /// <remarks>Requires <see cref="Avx512F.IsSupported"/>.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LogSplitAvx512(Vector512<float> x, out Vector512<float> e)
    {
        var m = Avx512F.GetMantissa(x, 0b0011); // interval [0.75, 1.5), sign of the source
        // getexp(0) = -inf makes e NaN for a zero lane; MaxNative (vmaxps) returns its second operand then.
        e = Vector512.MaxNative(Avx512F.GetExponent(x) - Avx512F.GetExponent(m), Vector512.Create(-200f));
        var index = Vector512.ShiftRightLogical(m.AsInt32(), 18); // the permute reads the low five bits
        var r = Vector512.FusedMultiplyAdd(
            m, Avx512F.PermuteVar16x32x2(InverseCentres32Low(), index, InverseCentres32High()), Vector512.Create(-1f));
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(1.940218061e-01f), r, Vector512.Create(-2.500136197e-01f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(3.333347738e-01f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(-5.000000000e-01f));
        return Vector512.FusedMultiplyAdd(r * r, p, r) + Avx512F.PermuteVar16x32x2(LogCentres32Low(), index, LogCentres32High());
    }

    /// <summary>
    /// ln x = e ln 2 + s for positive normal lanes without AVX-512: x = 2^e m with m in
    /// [0.71875, 1.4375) from the bits, the nearest of eight centres c (one AVX2 permute),
    /// r = m / c - 1 (|r| &lt;= 1/16) and s = ln c + ln(1 + r) with a degree-6 polynomial. The same
    /// bounds as <see cref="LogSplitAvx512"/> on normal lanes; zero lanes give finite values (so
    /// 0 * s = 0), subnormal, negative, infinite and NaN lanes garbage: callers test the lanes
    /// first (<see cref="NormalOrZero(Vector256{float})"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LogSplit(Vector256<float> x, out Vector256<float> e)
    {
        var t = x.AsInt32() - Vector256.Create(Split8Offset);
        e = Vector256.ConvertToSingle(Vector256.ShiftRightArithmetic(t, 23));
        var index = Vector256.ShiftRightLogical(t, 20); // the permute reads the low three bits
        var m = ((t & Vector256.Create(MantissaMask)) + Vector256.Create(Split8Offset)).AsSingle();
        var r = Vector256.FusedMultiplyAdd(m, Vector256.ShuffleNative(InverseCentres8(), index), Vector256.Create(-1f));
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(-1.644140631e-01f), r, Vector256.Create(2.006679475e-01f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(-2.500083745e-01f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(3.333326280e-01f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(-5.000000000e-01f));
        return Vector256.FusedMultiplyAdd(r * r, p, r) + Vector256.ShuffleNative(LogCentres8(), index);
    }

    /// <summary>Whether every lane is +0 or a positive normal float (one unsigned compare and a zero test).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool NormalOrZero(Vector256<float> x)
    {
        var bits = x.AsUInt32();
        var ok = Vector256.LessThan(bits - Vector256.Create(0x00800000u), Vector256.Create(0x7F000000u)) | Vector256.Equals(bits, Vector256<uint>.Zero);
        return Vector256.EqualsAll(ok, Vector256<uint>.AllBitsSet);
    }

    /// <summary>
    /// Adds -x ln x to a row sum, split: the part without ln 2 into <paramref name="sum"/>, the
    /// coefficient of ln 2 (-x e) into <paramref name="ln2"/>, with no test of the lanes
    /// (<see cref="LogSplitAvx512"/> takes zeros and subnormals; 0 ln 0 = 0 falls out of 0 * finite).
    /// Without AVX-512F the whole summand goes into <paramref name="sum"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NegXLogX(Vector512<float> x, ref Vector512<float> sum, ref Vector512<float> ln2)
    {
        Vector512<float> s, e;
        if (Avx512F.IsSupported)
        {
            s = LogSplitAvx512(x, out e); // every finite x >= 0; others make the sums NaN or infinite, which the checks catch
        }
        else
        {
            sum += NegXLogX(x);
            return;
        }
        var nx = -x;
        ln2 = Vector512.FusedMultiplyAdd(nx, e, ln2);
        sum = Vector512.FusedMultiplyAdd(nx, s, sum);
    }

    /// <summary>Eight-lane form of <see cref="NegXLogX(Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>: the split path when every lane is +0 or normal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NegXLogX(Vector256<float> x, ref Vector256<float> sum, ref Vector256<float> ln2)
    {
        if (NormalOrZero(x))
        {
            var s = LogSplit(x, out var e);
            var nx = -x;
            ln2 = Vector256.FusedMultiplyAdd(nx, e, ln2);
            sum = Vector256.FusedMultiplyAdd(nx, s, sum);
        }
        else
        {
            sum += NegXLogX(x);
        }
    }

    /// <summary>
    /// Adds x ln(x / y) to a row sum, split (see <see cref="XLogXOverY(Vector512{float}, Vector512{float})"/>
    /// for the one logarithm of the ratio): the split path when every ratio is finite, else the whole summand.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void XLogXOverY(Vector512<float> x, Vector512<float> y, ref Vector512<float> sum, ref Vector512<float> ln2)
    {
        var ratio = x / y;
        Vector512<float> s, e;
        if (Avx512F.IsSupported && Vector512.LessThanOrEqualAll(ratio, Vector512.Create(float.MaxValue)))
            s = LogSplitAvx512(ratio, out e); // every ratio finite (0/0 and y = 0 < x take the whole path)
        else
        {
            sum += Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x * (Log(x) - Log(y)), Vector512<float>.Zero);
            return;
        }
        ln2 = Vector512.FusedMultiplyAdd(x, e, ln2);
        sum = Vector512.FusedMultiplyAdd(x, s, sum);
    }

    /// <summary>Eight-lane form of <see cref="XLogXOverY(Vector512{float}, Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>: the split path when every ratio is +0 or normal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void XLogXOverY(Vector256<float> x, Vector256<float> y, ref Vector256<float> sum, ref Vector256<float> ln2)
    {
        var ratio = x / y;
        if (NormalOrZero(ratio))
        {
            var s = LogSplit(ratio, out var e);
            ln2 = Vector256.FusedMultiplyAdd(x, e, ln2);
            sum = Vector256.FusedMultiplyAdd(x, s, sum);
        }
        else
        {
            sum += Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x * (Log(x) - Log(y)), Vector256<float>.Zero);
        }
    }

    /// <summary>
    /// Adds -x ln y to a row sum, split (the cross-entropy summand, 0 where x = 0, +inf where y = 0 &lt; x):
    /// the split path when every y is positive and finite (x only multiplies).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NegXLogY(Vector512<float> x, Vector512<float> y, ref Vector512<float> sum, ref Vector512<float> ln2)
    {
        Vector512<float> s, e;
        if (Avx512F.IsSupported && Vector512.GreaterThanAll(y, Vector512<float>.Zero) && Vector512.LessThanOrEqualAll(y, Vector512.Create(float.MaxValue)))
            s = LogSplitAvx512(y, out e);
        else
        {
            sum += Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), -(x * Log(y)), Vector512<float>.Zero);
            return;
        }
        var nx = -x;
        ln2 = Vector512.FusedMultiplyAdd(nx, e, ln2);
        sum = Vector512.FusedMultiplyAdd(nx, s, sum);
    }

    /// <summary>Eight-lane form of <see cref="NegXLogY(Vector512{float}, Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>: the split path when every y is a positive normal float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NegXLogY(Vector256<float> x, Vector256<float> y, ref Vector256<float> sum, ref Vector256<float> ln2)
    {
        if (AllNormal(y))
        {
            var s = LogSplit(y, out var e);
            var nx = -x;
            ln2 = Vector256.FusedMultiplyAdd(nx, e, ln2);
            sum = Vector256.FusedMultiplyAdd(nx, s, sum);
        }
        else
        {
            sum += Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), -(x * Log(y)), Vector256<float>.Zero);
        }
    }
}
