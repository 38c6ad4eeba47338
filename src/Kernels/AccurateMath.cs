using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>
/// Float32 exponential, logarithm, log1p, expm1 and the sine and cosine of 2 pi t, written as
/// plain scalar code (additions, multiplications, one division, integer bit moves), so that
/// they compute the same thing on every backend: in C#, inside ILGPU kernels on the CPU
/// accelerator, in PTX and in OpenCL C. The math the ILGPU backends would otherwise pick for
/// <see cref="MathF"/> is not accurate on a GPU: with ILGPU.Algorithms, PTX computes
/// <c>MathF.Log(x)</c> as <c>lg2.approx.f32(x) / log2(e)</c> (about 2^-22 absolute error, so
/// no relative accuracy near 1), <c>MathF.Exp(x)</c> as <c>ex2.approx.f32(x log2 e)</c> (the
/// rounded product costs up to |x| 2^-24 relative) and <c>MathF.Sin</c> and <c>MathF.Cos</c>
/// as <c>sin.approx.f32</c> and <c>cos.approx.f32</c> (absolute error about 2^-21).
/// </summary>
/// <remarks>
/// <para>
/// Accuracy, the largest error against float64 over dense grids (<c>AccurateMathTests</c>,
/// which state the bounds they enforce), without fused multiply-adds: <see cref="Exp"/> 0.65
/// ulp, <see cref="Log"/> 0.87, <see cref="Log1p"/> 0.89, <see cref="Expm1"/> 1.09, the sine
/// and cosine of <see cref="SinCos2Pi"/> 1.24 (the argument is in turns, so no rounded
/// multiple of pi enters). A PTX assembler that contracts a product and a sum into one fused
/// multiply-add (ptxas does by default) only removes roundings: the products that must be
/// exact are exact either way, so the bounds hold there too, though the last bit may differ
/// from the C# result. The runtime's own functions (what <c>cpu</c> used before) are within
/// 0.5 to 0.8 ulp; these cost about 1.5 to 2 times as much on a CPU.
/// </para>
/// <para>
/// Methods: Cody and Waite's range reduction with ln 2 split in two (the high part has 9
/// significant bits, so k ln2_hi is exact) and Taylor polynomials on the reduced interval, whose
/// truncation error is stated next to each. <see cref="Log"/> reduces x to 2^k m with m in
/// [sqrt(1/2), sqrt(2)) and evaluates ln(1 + f), f = m - 1 (exact), through s = f / (2 + f):
/// ln(1 + f) = 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R(s^2))), where R is the atanh series
/// after its first term, so the large terms f and f^2/2 are exact or nearly so and s only
/// enters a small correction.
/// </para>
/// </remarks>
internal static class AccurateMath
{
    private const float Log2E = 1.44269504088896341f;

    /// <summary>ln 2 = <see cref="Ln2Hi"/> + <see cref="Ln2Lo"/>; Ln2Hi = 355/512 has 9 significant bits, so k Ln2Hi is exact for |k| &lt; 2^15.</summary>
    private const float Ln2Hi = 0.693359375f;

    private const float Ln2Lo = (float)(0.69314718055994530942 - 0.693359375);

    /// <summary>e^x &lt; 2^-150 below this (rounds to 0).</summary>
    private const float ExpLowest = -104f;

    /// <summary>e^x &gt; float.MaxValue above this (the scaling overflows to +inf a little below it anyway).</summary>
    private const float ExpHighest = 89f;

    private const int SqrtHalfBits = 0x3F3504F3;
    private const int MantissaMask = 0x007FFFFF;
    private const int MinNormalBits = 0x00800000;
    private const float TwoTo23 = 8388608f;
    private const float TwoToMinus64 = 5.42101086242752217e-20f;

    /// <summary>sqrt(1/2) - 1 and sqrt(2) - 1: where 1 + x lies in the logarithm's reduced interval.</summary>
    private const float Log1pLow = -0.29289321881345248f;

    private const float Log1pHigh = 0.41421356237309505f;

    private const double HalfPi = Math.PI / 2;

    /// <summary>pi/2 = 3/2 + <see cref="HalfPiLo"/>: f 3/2 is exact for an f of up to 22 significant bits (every Box-Muller angle).</summary>
    private const float HalfPiHi = 1.5f;

    private const float HalfPiLo = (float)(HalfPi - 1.5);

    /// <summary>
    /// e^x. x &lt; -104 gives 0, x &gt; 89 gives +inf (as does any x whose result overflows),
    /// NaN gives NaN; results below 2^-126 are subnormal, rounded once more.
    /// </summary>
    /// <remarks>
    /// x = k ln 2 + r + rr (<see cref="Reduce"/>), e^(r + rr) = (1 + r) + (e^(r + rr) - 1 - r)
    /// with 1 + r kept as an unrounded pair and the rest from <see cref="ExpM1Tail"/>, so the sum
    /// rounds once; then times 2^k through the exponent bits.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        // One test on the common path: normal results, 2^k a normal float.
        if (!(x >= -87f && x <= 88f))
            return ExpOutside(x);
        int k = Reduce(x, out float r, out float rr);
        float s = 1f + r;
        float e = r - (s - 1f); // Fast2Sum: |1| >= |r|
        return (s + (e + ExpM1Tail(r, rr))) * BitConverter.Int32BitsToSingle((k + 127) << 23);
    }

    /// <summary><see cref="Exp"/> outside [-87, 88]: NaN, 0 and +inf beyond the limits, else the scaling in two steps.</summary>
    private static float ExpOutside(float x)
    {
        if (float.IsNaN(x))
            return x;
        if (x > ExpHighest)
            return float.PositiveInfinity;
        if (x < ExpLowest)
            return 0f;
        int k = Reduce(x, out float r, out float rr);
        float s = 1f + r;
        float e = r - (s - 1f);
        return ScaleByPowerOfTwo(s + (e + ExpM1Tail(r, rr)), k);
    }

    /// <summary>
    /// e^x - 1, accurate for small |x| where exp(x) - 1 would cancel. Below -17.4 it is -1
    /// (e^x is under half an ulp of 1); above 80 it is e^x.
    /// </summary>
    /// <remarks>
    /// |x| &lt;= ln2/2: x + x^2 P(x) (<see cref="ExpM1Tail"/>; the tail is under a fifth of x).
    /// Otherwise x = k ln 2 + r + rr (<see cref="Reduce"/>, k != 0) and e^x - 1 = (2^k - 1) + 2^k r
    /// + 2^k (e^(r + rr) - 1 - r): 2^k - 1 is exact for k &lt;= 24 (beyond it is 2^k, and the -1
    /// joins the last part), 2^k r is exact, their sum is kept as an unrounded pair (Fast2Sum,
    /// |2^k - 1| &gt;= |2^k r|), and the whole rounds once: no cancellation between rounded parts
    /// where e^x - 1 is smaller than its parts (x just beyond ln2/2).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Expm1(float x)
    {
        if (float.IsNaN(x))
            return x;
        if (x >= -0.34657359f && x <= 0.34657359f)
            return x + ExpM1Tail(x, 0f);
        if (x > 80f)
            return Exp(x);
        if (x < -17.4f)
            return -1f;
        int k = Reduce(x, out float r, out float rr);
        float t = BitConverter.Int32BitsToSingle((k + 127) << 23);
        bool big = k > 24;
        float a = big ? t : t - 1f;
        float b = t * r;
        float s = a + b;
        float e = b - (s - a); // Fast2Sum: |a| >= |b|
        float c = t * ExpM1Tail(r, rr) - (big ? 1f : 0f);
        return s + (e + c);
    }

    /// <summary>
    /// ln x: -inf at 0 (either sign), +inf at +inf, NaN below 0 and for NaN; subnormal x are
    /// scaled by 2^23 first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Log(float x)
    {
        if (!(x > 0f))
            return x == 0f ? float.NegativeInfinity : float.NaN;
        if (x > float.MaxValue)
            return x;
        if (BitConverter.SingleToInt32Bits(x) < MinNormalBits)
            return LogOfNormal(x * TwoTo23, 23, 0f);
        return LogOfNormal(x, 0, 0f);
    }

    /// <summary>
    /// ln(1 + x), accurate for small |x|: -inf at -1, NaN below -1 and for NaN, +inf at +inf.
    /// </summary>
    /// <remarks>
    /// For 1 + x in [sqrt(1/2), sqrt(2)) the reduced logarithm takes f = x itself (no rounded
    /// 1 + x). Elsewhere u = 1 + x is rounded, its rounding error c (exact, by Knuth's two-sum)
    /// is put back: ln(1 + x) = ln u + ln(1 + c/u) = ln u + c/u, with |c/u| &lt;= 2^-24, added
    /// before the logarithm's last rounding.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Log1p(float x)
    {
        if (x >= Log1pLow && x < Log1pHigh)
            return Log1pReduced(x);
        if (x <= -1f)
            return x == -1f ? float.NegativeInfinity : float.NaN;
        if (x > float.MaxValue)
            return x;
        float u = 1f + x;
        float xPart = u - 1f;
        float onePart = u - xPart;
        float c = (1f - onePart) + (x - xPart);
        return LogOfNormal(u, 0, c / u);
    }

    /// <summary>
    /// sin(2 pi t) and cos(2 pi t) for |t| &lt;= 2^20 (t in turns: the Box-Muller angle 2 pi u
    /// without a rounded product with pi).
    /// </summary>
    /// <remarks>
    /// n = round(4t) and f = 4t - n are exact, |f| &lt;= 1/2, so the angle is n pi/2 + theta with
    /// theta = f pi/2 in [-pi/4, pi/4]; sin theta and cos theta are Taylor polynomials in f
    /// (sine to theta^9: truncation below theta^10 / 11! = 2e-9 relative; cosine to theta^10:
    /// below theta^12 / 12! = 1e-10), the sine's leading term pi/2 f as 3/2 f (exact when f has
    /// at most 22 significant bits, as every Philox uniform's has) plus (pi/2 - 3/2) f, so
    /// that neither pi/2 nor a product in a larger binade than the result is rounded; then the
    /// quadrant n mod 4 swaps and negates them.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SinCos2Pi(float t, out float sin, out float cos)
    {
        float q = 4f * t;
        float nf = RoundToInteger(q);
        int n = (int)nf;
        float f = q - nf;
        float z = f * f;
        const float s3 = (float)(-HalfPi * HalfPi * HalfPi / 6);
        const float s5 = (float)(HalfPi * HalfPi * HalfPi * HalfPi * HalfPi / 120);
        const float s7 = (float)(-HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi / 5040);
        const float s9 = (float)(HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi / 362880);
        const float c2 = (float)(-HalfPi * HalfPi / 2);
        const float c4 = (float)(HalfPi * HalfPi * HalfPi * HalfPi / 24);
        const float c6 = (float)(-HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi / 720);
        const float c8 = (float)(HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi / 40320);
        const float c10 = (float)(-HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi * HalfPi / 3628800);
        float s = f * HalfPiHi + f * (HalfPiLo + z * (s3 + z * (s5 + z * (s7 + z * s9))));
        float c = 1f + z * (c2 + z * (c4 + z * (c6 + z * (c8 + z * c10))));
        switch (n & 3)
        {
            case 0:
                sin = s;
                cos = c;
                break;
            case 1:
                sin = c;
                cos = -s;
                break;
            case 2:
                sin = -s;
                cos = -c;
                break;
            default:
                sin = -c;
                cos = s;
                break;
        }
    }

    /// <summary>
    /// x = k ln 2 + r + rr with k = round(x log2 e), so |r| &lt;= ln2/2 (a little more where
    /// x log2 e rounds the other way near a half) and |rr| &lt;= 2^-24 |r|: x - k ln2_hi is exact
    /// (Sterbenz), -k ln2_lo is added to it, and rr is that sum's rounding error by Fast2Sum
    /// (exact when |x - k ln2_hi| &gt;= |k ln2_lo|; otherwise r is below 0.03 and rr's own error
    /// under 2^-32). For |x| &lt;= 104.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Reduce(float x, out float r, out float rr)
    {
        float kf = RoundToInteger(x * Log2E);
        int k = (int)kf;
        float hi = x - kf * Ln2Hi;
        float lo = -(kf * Ln2Lo);
        r = hi + lo;
        rr = lo - (r - hi);
        return k;
    }

    /// <summary>
    /// e^(r + rr) - 1 - r for |r| &lt;= ln2/2 (a little more is fine) and |rr| &lt;= 2^-24 |r|:
    /// rr + rr r + r^2 P(r), P the Taylor series of (e^r - 1 - r) / r^2 to r^6 (the truncation,
    /// below r^9/9!, is under 6e-10 of e^r - 1; the dropped rr^2/2 and rr r^2/2 are far below).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpM1Tail(float r, float rr)
    {
        const float c2 = 1f / 2, c3 = 1f / 6, c4 = 1f / 24, c5 = 1f / 120, c6 = 1f / 720, c7 = 1f / 5040, c8 = 1f / 40320;
        // Pairs of terms in r, then Horner's scheme in r^2: half the dependent steps of Horner in r.
        float r2 = r * r;
        float p = (c2 + r * c3) + r2 * ((c4 + r * c5) + r2 * ((c6 + r * c7) + r2 * c8));
        return rr + (rr * r + r2 * p);
    }

    /// <summary>ln(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: f - <see cref="Log1pReducedTail"/>(f).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Log1pReduced(float f) => f - Log1pReducedTail(f);

    /// <summary>
    /// f - ln(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: s = f / (2 + f) (|s| &lt;= 0.1716),
    /// R = 2 s^2/3 + 2 s^4/5 + ... + 2 s^10/11 (truncation below s^12 / 13 = 5e-11 relative), and
    /// ln(1 + f) = 2s + s R = f - (h - s (h + R)) with h = f^2 / 2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Log1pReducedTail(float f)
    {
        const float a1 = 2f / 3, a2 = 2f / 5, a3 = 2f / 7, a4 = 2f / 9, a5 = 2f / 11;
        float s = f / (2f + f);
        float z = s * s;
        float r = z * (a1 + z * (a2 + z * (a3 + z * (a4 + z * a5))));
        float h = 0.5f * f * f;
        return h - s * (h + r);
    }

    /// <summary>
    /// The integer nearest x (ties to even) for |x| &lt; 2^22, without a branch or a library call:
    /// adding 1.5 2^23 leaves no fraction bits, and subtracting it again is exact. (A fused
    /// multiply-add of the caller's product with the first addition rounds once instead of
    /// twice; the result is still an integer within a half of x's exact value.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RoundToInteger(float x)
    {
        const float shifter = 12582912f;
        return (x + shifter) - shifter;
    }

    /// <summary>
    /// ln x for a positive normal float x divided by 2^<paramref name="shift"/>, plus a
    /// correction far below an ulp of the result, added before the last rounding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float LogOfNormal(float x, int shift, float correction)
    {
        // bits - bits(sqrt(1/2)) = 2^23 k + (bits of m - bits of sqrt(1/2)), m in [sqrt(1/2), sqrt(2)).
        int t = BitConverter.SingleToInt32Bits(x) - SqrtHalfBits;
        int k = (t >> 23) - shift;
        float f = BitConverter.Int32BitsToSingle((t & MantissaMask) + SqrtHalfBits) - 1f;
        // k ln2_hi + f as an unrounded pair (Fast2Sum: |k ln2_hi| >= 0.69 > |f| unless k = 0),
        // then the small terms, then one rounding.
        float a = k * Ln2Hi;
        float hi = a + f;
        float err = f - (hi - a);
        return hi + (err - (Log1pReducedTail(f) - (k * Ln2Lo + correction)));
    }

    /// <summary>y 2^k for y in [0.7, 1.42] and -151 &lt;= k &lt;= 129: exact unless the result is subnormal (one rounding) or overflows (+inf).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaleByPowerOfTwo(float y, int k)
    {
        if (k > 127)
        {
            y *= 2f;
            k--;
        }
        if (k < -125)
            return y * BitConverter.Int32BitsToSingle((k + 64 + 127) << 23) * TwoToMinus64;
        return y * BitConverter.Int32BitsToSingle((k + 127) << 23);
    }
}
