using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>
/// A distance |a - b| carried as two float32s (Hi + Lo, normalized so |Lo| is at most half an ulp
/// of Hi), for values given as float32 pairs. Comparisons are exact on the pair, so distances
/// that differ only far below float32 resolution (scikit-learn's 1e-10 tie-breaking noise) keep
/// their order on devices without fast float64.
/// </summary>
internal readonly struct PairDistance
{
    public readonly float Hi;
    public readonly float Lo;

    public PairDistance(float hi, float lo)
    {
        Hi = hi;
        Lo = lo;
    }

    /// <summary>|(aHi + aLo) - (bHi + bLo)|: the leading difference exactly (two-sum), the low parts added to its error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PairDistance Between(float aHi, float aLo, float bHi, float bLo)
    {
        float s = aHi - bHi;
        float v = s - aHi;
        float error = (aHi - (s - v)) + (-bHi - v);
        float t = error + (aLo - bLo);
        float hi = s + t;
        float lo = t - (hi - s);
        return hi < 0 || (hi == 0 && lo < 0) ? new PairDistance(-hi, -lo) : new PairDistance(hi, lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool LessThan(PairDistance other) => Hi < other.Hi || (Hi == other.Hi && Lo < other.Lo);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool SameAs(PairDistance other) => Hi == other.Hi && Lo == other.Lo;

    /// <summary>scikit-learn's radius test "d &lt;= nextafter(r, 0)": d &lt; r, or d == 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool InsideRadius(PairDistance radius) => LessThan(radius) || (Hi == 0 && Lo == 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PairDistance Max(PairDistance a, PairDistance b) => a.LessThan(b) ? b : a;
}

/// <summary>A float64-like sum carried as two float32s (Hi + Lo), for exact-enough reductions on devices without fast float64.</summary>
internal readonly struct FloatPairSum
{
    public readonly float Hi;
    public readonly float Lo;

    public FloatPairSum(float hi, float lo)
    {
        Hi = hi;
        Lo = lo;
    }

    /// <summary>(Hi + Lo) + (bHi + bLo) with the rounding error of the leading sum kept (two-sum), renormalized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FloatPairSum Add(float bHi, float bLo)
    {
        float s = Hi + bHi;
        float v = s - Hi;
        float error = (Hi - (s - v)) + (bHi - v);
        error += Lo + bLo;
        float hi = s + error;
        return new FloatPairSum(hi, error - (hi - s));
    }
}
