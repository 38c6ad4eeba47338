using InfoGpu.Kernels;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Kernels;

/// <summary>
/// <see cref="AccurateMath"/> (the float32 functions every backend shares) against float64 over
/// dense grids, in ulps of the float nearest the exact value. The .NET runtime's own float
/// functions are measured on the same grids and printed beside them (not asserted): they are
/// what the <c>cpu</c> path used before, and within an ulp too.
/// </summary>
public class AccurateMathTests(ITestOutputHelper output)
{
    /// <summary>
    /// Exp, Log, Log1p: the large parts of each result are exact or kept as unrounded pairs, the
    /// small parts carry a few roundings, the series are truncated below 1e-9 relative, and the
    /// sum rounds once: under one ulp (measured 0.65, 0.87, 0.89). The bound holds without fused
    /// multiply-adds (C#) and with them (ptxas contracts products into sums).
    /// </summary>
    private const double ElementaryUlps = 1.0;

    /// <summary>
    /// Expm1: as <see cref="ElementaryUlps"/>, but just beyond |x| = ln2/2 the tail
    /// e^r - 1 - r is a quarter of the result and carries about two ulps of its own (measured
    /// 1.01 ulp in all).
    /// </summary>
    private const double Expm1Ulps = 1.25;

    /// <summary>
    /// sin(2 pi t) and cos(2 pi t): the reduction is exact; the cosine polynomial 1 - w lies a
    /// binade below 1 for |theta| near pi/4, where the roundings of w and of 1 - w add up to
    /// 1.24 ulp (measured); the sine's leading term is exact.
    /// </summary>
    private const double SinCosUlps = 1.5;

    /// <summary>
    /// A Box-Muller draw sqrt(-2 ln u1) sin(2 pi u2): the logarithm (1 ulp, halved by the square
    /// root), the square root (half an ulp), the sine (1 ulp) and the product (half an ulp).
    /// </summary>
    private const double BoxMullerUlps = 3.0;

    /// <summary>
    /// Sigmoid and softplus compose the exponential with a division or log1p: an ulp each plus
    /// the rounding of 1 + e (sigmoid's left tail e / (1 + e) carries the exponential's error).
    /// </summary>
    private const double CompositeUlps = 2.5;

    /// <summary>
    /// An AIS weight increment log1p(sigmoid(b' x) expm1((b - b') x)): the sigmoid (2.2 ulp),
    /// expm1 (1.1), their product (0.5) and log1p (0.9, with a derivative at most 1) add up.
    /// </summary>
    private const double AisIncrementUlps = 5.0;

    /// <summary>
    /// The binary cross-entropy from a logit: log1p of e^-|l| (the exponential's and log1p's
    /// ulps) plus |l| where the target disagrees, one more rounding.
    /// </summary>
    private const double CrossEntropyUlps = 2.5;

    /// <summary>Results below 2^-126 have a fixed absolute spacing; Exp rounds them twice (the scaled polynomial, then the subnormal), one subnormal step.</summary>
    private const double SubnormalUlps = 1.0;

    /// <summary>Distance from the float64 value in ulps of the float nearest it (the smallest subnormal when that is 0).</summary>
    internal static double Ulps(double exact, float got)
    {
        if (double.IsNaN(exact) || float.IsNaN(got))
            return double.IsNaN(exact) && float.IsNaN(got) ? 0 : double.PositiveInfinity;
        if (double.IsInfinity(exact) || float.IsInfinity(got))
            return exact == got ? 0 : double.PositiveInfinity;
        float nearest = MathF.Abs((float)exact);
        if (float.IsInfinity(nearest))
            return double.PositiveInfinity;
        double ulp = Math.Max(MathF.BitIncrement(nearest) - nearest, float.Epsilon);
        return Math.Abs(got - exact) / ulp;
    }

    /// <summary>Every float whose bit pattern is a multiple of <paramref name="stride"/> from <paramref name="lo"/> to <paramref name="hi"/> (same sign), both ends included.</summary>
    private static IEnumerable<float> Bits(float lo, float hi, int stride)
    {
        int a = BitConverter.SingleToInt32Bits(MathF.Abs(lo)), b = BitConverter.SingleToInt32Bits(MathF.Abs(hi));
        float sign = lo < 0 || hi < 0 ? -1f : 1f;
        for (long i = Math.Min(a, b); i <= Math.Max(a, b); i += stride)
            yield return sign * BitConverter.Int32BitsToSingle((int)i);
        yield return lo;
        yield return hi;
    }

    /// <summary>Every float within <paramref name="count"/> steps of <paramref name="x"/>.</summary>
    private static IEnumerable<float> Around(float x, int count)
    {
        float down = x, up = x;
        yield return x;
        for (int i = 0; i < count; i++)
        {
            down = MathF.BitDecrement(down);
            up = MathF.BitIncrement(up);
            yield return down;
            yield return up;
        }
    }

    private static IEnumerable<float> Uniform(double lo, double hi, int n, int seed)
    {
        var rng = new System.Random(seed);
        for (int i = 0; i < n; i++)
            yield return (float)(lo + (hi - lo) * rng.NextDouble());
    }

    private sealed class Worst(string name)
    {
        public double Ulps;
        public float At;
        public long Count;

        public void Add(float x, double ulps)
        {
            Count++;
            if (ulps > Ulps || double.IsNaN(ulps))
            {
                Ulps = double.IsNaN(ulps) ? double.PositiveInfinity : ulps;
                At = x;
            }
        }

        public override string ToString() => $"{name}: max {Ulps:F3} ulp at {At:R} over {Count:N0} arguments";
    }

    private (Worst Ours, Worst Runtime) Measure(string name, IEnumerable<float> xs, Func<float, float> ours, Func<float, float>? runtime, Func<double, double> exact, Func<double, bool>? include = null)
    {
        var w = new Worst(name);
        var r = new Worst(name + " (runtime MathF)");
        foreach (float x in xs)
        {
            double e = exact(x);
            if (include is not null && !include(e))
                continue;
            w.Add(x, Ulps(e, ours(x)));
            if (runtime is not null)
                r.Add(x, Ulps(e, runtime(x)));
        }
        output.WriteLine(w.ToString());
        if (runtime is not null)
            output.WriteLine(r.ToString());
        return (w, r);
    }

    private static double Log1p64(double x) =>
        Math.Abs(x) < 1e-4 ? x * (1 - x * (1.0 / 2 - x * (1.0 / 3 - x * (1.0 / 4 - x / 5)))) : Math.Log(1 + x); // 1 + x is exact in float64 for a float |x| >= 2^-29

    private static double Expm164(double x) =>
        Math.Abs(x) < 1e-4 ? x * (1 + x * (1.0 / 2 + x * (1.0 / 6 + x * (1.0 / 24 + x / 120)))) : Math.Exp(x) - 1; // cancellation costs at most 2^-53 / 1e-4 relative

    private static bool Normal(double v) => Math.Abs(v) >= 1.17549435e-38 && Math.Abs(v) <= float.MaxValue;

    [Fact]
    public void ExpIsWithinOneUlp()
    {
        var xs = Bits(-104f, -1e-30f, 251).Concat(Bits(1e-30f, 89f, 251))
            .Concat(Uniform(-104, 89, 500_000, 1))
            .Concat(Uniform(-1, 1, 200_000, 2))
            .Concat(Enumerable.Range(-150, 279).SelectMany(k => Around((float)(k * Math.Log(2)), 20)))
            .Concat(Enumerable.Range(-150, 279).SelectMany(k => Around((float)((k + 0.5) * Math.Log(2)), 20)));
        var (ours, _) = Measure("Exp, normal results", xs, AccurateMath.Exp, MathF.Exp, Math.Exp, Normal);
        Assert.True(ours.Ulps <= ElementaryUlps, ours.ToString());
        var (sub, _) = Measure("Exp, subnormal results", Bits(-104f, -87.4f, 3), AccurateMath.Exp, MathF.Exp, Math.Exp, e => !Normal(e));
        Assert.True(sub.Ulps <= SubnormalUlps, sub.ToString());
    }

    [Fact]
    public void LogIsWithinOneUlp()
    {
        var xs = Bits(float.Epsilon, float.MaxValue, 509)
            .Concat(Bits(0.5f, 2f, 7))
            .Concat(Around(1f, 300_000))
            .Concat(Around(0.70710677f, 10_000))
            .Concat(Around(1.4142135f, 10_000))
            .Concat(Enumerable.Range(-149, 277).Select(k => MathF.ScaleB(1f, k)));
        var (ours, _) = Measure("Log", xs, AccurateMath.Log, MathF.Log, Math.Log);
        Assert.True(ours.Ulps <= ElementaryUlps, ours.ToString());
    }

    [Fact]
    public void Log1pIsWithinOneUlp()
    {
        var xs = Bits(1e-38f, float.MaxValue, 509)
            .Concat(Bits(-1e-38f, -0.99999994f, 509))
            .Concat(Bits(-0.99999994f, -0.25f, 3))
            .Concat(Bits(0.25f, 2f, 7))
            .Concat(Around(-0.29289323f, 20_000))
            .Concat(Around(0.41421357f, 20_000))
            .Concat(Uniform(-1e-3, 1e-3, 200_000, 3))
            .Concat(Bits(float.Epsilon, 1e-38f, 4099));
        var (ours, _) = Measure("Log1p", xs, AccurateMath.Log1p, null, Log1p64);
        Assert.True(ours.Ulps <= ElementaryUlps, ours.ToString());
        // The former formula overflows in x log(u) above 4e36; measured below that.
        Measure("Log1p by log(u) x / (u - 1) with MathF.Log (the former formula, not asserted)", xs.Where(x => x < 1e36f), OldLog1p, null, Log1p64);
    }

    private static float OldLog1p(float x)
    {
        float u = 1f + x;
        return u == 1f ? x : MathF.Log(u) * x / (u - 1f);
    }

    [Fact]
    public void Expm1IsWithinOneAndAQuarterUlps()
    {
        var xs = Bits(-17.4f, -1e-38f, 251).Concat(Bits(1e-38f, 88.7f, 251))
            .Concat(Around(0.34657359f, 20_000))
            .Concat(Around(-0.34657359f, 20_000))
            .Concat(Uniform(-2, 2, 300_000, 4))
            .Concat(Uniform(-1e-3, 1e-3, 100_000, 5));
        var (ours, _) = Measure("Expm1", xs, AccurateMath.Expm1, null, Expm164, Normal);
        Assert.True(ours.Ulps <= Expm1Ulps, ours.ToString());
    }

    [Fact]
    public void SineAndCosineOfEveryBoxMullerAngleAreWithinOneAndAHalfUlps()
    {
        // Every u2 that Philox.ToUniform can return, (k + 1/2) 2^-23, plus turns in [-3, 3].
        var xs = Enumerable.Range(0, 1 << 23).Select(k => Philox.ToUniform((uint)k << 9))
            .Concat(Uniform(-3, 3, 300_000, 6))
            .Concat(Enumerable.Range(-24, 49).Select(k => k / 8f));
        // Exact zeros (t a multiple of 1/4) are checked with the special values.
        var (sin, _) = Measure("sin(2 pi t)", xs, t => { AccurateMath.SinCos2Pi(t, out float s, out _); return s; }, t => MathF.Sin(2 * MathF.PI * t), t => double.SinPi(2 * t), e => e != 0);
        var (cos, _) = Measure("cos(2 pi t)", xs, t => { AccurateMath.SinCos2Pi(t, out _, out float c); return c; }, t => MathF.Cos(2 * MathF.PI * t), t => double.CosPi(2 * t), e => e != 0);
        Assert.True(sin.Ulps <= SinCosUlps, sin.ToString());
        Assert.True(cos.Ulps <= SinCosUlps, cos.ToString());
    }

    [Fact]
    public void BoxMullerDrawsAreWithinThreeUlpsOfFloat64()
    {
        var oursWorst = new Worst("Box-Muller draw");
        var oldWorst = new Worst("Box-Muller draw with MathF.Log/Sin/Cos (the former formula, not asserted)");
        double oursAbs = 0, oldAbs = 0;
        var rng = new System.Random(7);
        for (int k = 0; k < 1 << 23; k += 5)
        {
            float u1 = Philox.ToUniform((uint)k << 9);
            float u2 = Philox.ToUniform((uint)rng.Next(1 << 23) << 9);
            double r = Math.Sqrt(-2 * Math.Log(u1));
            foreach (bool sine in new[] { false, true })
            {
                double exact = r * (sine ? double.SinPi(2.0 * u2) : double.CosPi(2.0 * u2));
                float ours = Philox.BoxMuller(u1, u2, sine);
                float a = 6.28318530717958647692f * u2;
                float old = MathF.Sqrt(-2f * MathF.Log(u1)) * (sine ? MathF.Sin(a) : MathF.Cos(a));
                oursWorst.Add(u1, Ulps(exact, ours));
                oldWorst.Add(u1, Ulps(exact, old));
                oursAbs = Math.Max(oursAbs, Math.Abs(ours - exact));
                oldAbs = Math.Max(oldAbs, Math.Abs(old - exact));
            }
        }
        output.WriteLine($"{oursWorst}; max absolute error {oursAbs:E2}");
        output.WriteLine($"{oldWorst}; max absolute error {oldAbs:E2} (large in ulps only near the zeros of sin and cos, where 2 pi u2 was rounded)");
        Assert.True(oursWorst.Ulps <= BoxMullerUlps, oursWorst.ToString());
    }

    [Fact]
    public void SigmoidAndSoftplusAreWithinTwoAndAHalfUlps()
    {
        var xs = Bits(-103f, -1e-30f, 509).Concat(Bits(1e-30f, 103f, 509)).Concat(Uniform(-40, 40, 300_000, 8));
        var (sig, _) = Measure("Sigmoid", xs, ScalarMath.Sigmoid, null, x => 1 / (1 + Math.Exp(-x)), Normal);
        var (sp, _) = Measure("Softplus", xs, ScalarMath.Softplus, null, x => Math.Max(x, 0) + Log1p64(Math.Exp(-Math.Abs(x))), Normal);
        Assert.True(sig.Ulps <= CompositeUlps, sig.ToString());
        Assert.True(sp.Ulps <= CompositeUlps, sp.ToString());
    }

    [Fact]
    public void AisIncrementsAndBinaryCrossEntropyKeepTheirRelativePrecision()
    {
        // softplus(beta x) - softplus(betaPrev x) at the temperature steps of the 14,500-step
        // schedule (1e-3, 1e-4, 1e-5) and of coarse ones (1e-2), over the fields AIS meets.
        var ais = new Worst("AIS increment softplus(beta x) - softplus(betaPrev x)");
        foreach (float betaPrev in new[] { 0.001f, 0.3f, 0.5f, 0.9f, 0.99f })
        {
            foreach (float step in new[] { 1e-2f, 1e-3f, 1e-4f, 1e-5f })
            {
                float beta = betaPrev + step;
                foreach (float x in Uniform(-60, 60, 20_000, 9))
                {
                    // The formula's float32 arguments betaPrev x and (beta - betaPrev) x, rounded
                    // as it rounds them (their rounding is the input's, not the functions'
                    // error: e^(betaPrev x) moves by |betaPrev x| 2^-24 relative).
                    double b0 = betaPrev * x, d = (beta - betaPrev) * x;
                    double sigmoid = b0 >= 0 ? 1 / (1 + Math.Exp(-b0)) : Math.Exp(b0) / (1 + Math.Exp(b0));
                    double exact = Log1p64(sigmoid * Expm164(d));
                    ais.Add(x, Ulps(exact, AisMath.SoftplusDifference(x, betaPrev, beta)));
                }
            }
        }
        output.WriteLine(ais.ToString());
        Assert.True(ais.Ulps <= AisIncrementUlps, ais.ToString());

        // max(l, 0) + log1p(e^-|l|) - x l for binary targets: a confident, correct prediction's
        // loss is log1p(e^-|l|), far below an ulp of |l| (the former log(1 + e^-|l|) gave 0).
        var bce = new Worst("binary cross-entropy from a logit, x in {0, 1}");
        var formerBce = new Worst("binary cross-entropy by max(l, 0) + log(1 + e^-|l|) - x l with MathF (the former formula, not asserted)");
        foreach (float l in Bits(-88f, -1e-6f, 4099).Concat(Bits(1e-6f, 88f, 4099)))
        {
            foreach (float x in new[] { 0f, 1f })
            {
                double e = Math.Exp(-Math.Abs((double)l));
                double exact = (Math.Max(l, 0) - x * (double)l) + Log1p64(e);
                bce.Add(l, Ulps(exact, VaeMath.CrossEntropy(l, x, out _)));
                formerBce.Add(l, Ulps(exact, MathF.Max(l, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(l))) - x * l));
            }
        }
        output.WriteLine(bce.ToString());
        output.WriteLine(formerBce.ToString());
        Assert.True(bce.Ulps <= CrossEntropyUlps, bce.ToString());
    }

    [Fact]
    public void SpecialValuesFollowTheRuntimeConventions()
    {
        foreach (float x in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f, -1f, 2f, -2f, 1e-45f, float.MaxValue, -float.MaxValue, 88.72283f, -104f, 100f, -1000f })
        {
            Same(MathF.Exp(x), AccurateMath.Exp(x), $"Exp({x:R})");
            Same(MathF.Log(x), AccurateMath.Log(x), $"Log({x:R})");
            if (x <= -1f || !float.IsFinite(x))
                Same((float)Math.Log(1 + (double)x), AccurateMath.Log1p(x), $"Log1p({x:R})");
            if (!float.IsFinite(x) || Math.Abs(x) >= 100f)
                Same(float.IsNaN(x) ? x : MathF.Exp(x) - 1f, AccurateMath.Expm1(x), $"Expm1({x:R})");
        }
        Assert.Equal(0f, AccurateMath.Log(1f));
        Assert.Equal(0f, AccurateMath.Exp(0f) - 1f);
        Assert.Equal(1e-30f, AccurateMath.Log1p(1e-30f));
        Assert.Equal(1e-30f, AccurateMath.Expm1(1e-30f));
        for (int k = -8; k <= 8; k++)
        {
            AccurateMath.SinCos2Pi(k / 4f, out float s, out float c);
            Assert.Equal(((k % 4 + 4) % 4) switch { 1 => (1f, 0f), 2 => (0f, -1f), 3 => (-1f, 0f), _ => (0f, 1f) }, (s == 0 ? 0f : s, c == 0 ? 0f : c));
        }
    }

    private static void Same(float expected, float actual, string what)
    {
        if (float.IsNaN(expected))
            Assert.True(float.IsNaN(actual), $"{what}: expected NaN, got {actual:R}");
        else if (expected == 0 || float.IsInfinity(expected))
            Assert.True(expected == actual, $"{what}: expected {expected:R}, got {actual:R}");
        else
            Assert.True(Ulps(expected, actual) <= 1, $"{what}: expected {expected:R}, got {actual:R}");
    }
}
