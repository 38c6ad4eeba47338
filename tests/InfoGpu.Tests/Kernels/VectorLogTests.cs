using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Tests.Kernels;

/// <summary>The row reductions' vector logarithm against the float64 logarithm, in ulps of the float result.</summary>
public class VectorLogTests
{
    /// <summary>The polynomial was fitted to stay under one ulp; the runtime's own float log is allowed the same.</summary>
    private const double MaxUlps = 1.0;

    private static IEnumerable<float> Arguments()
    {
        for (int e = -126; e <= 127; e++)
            yield return MathF.ScaleB(1f, e);
        for (int k = -5000; k <= 5000; k++)
            yield return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(1f) + k);
        foreach (float edge in new[] { 0.70710677f, 0.7071068f, 1.4142135f, 1.4142137f, float.MaxValue, 1.17549435e-38f })
            yield return edge;
        var rng = new System.Random(5);
        for (int i = 0; i < 300_000; i++)
            yield return (float)Math.Exp(rng.NextDouble() * 174 - 87);
        for (int i = 0; i < 100_000; i++)
            yield return BitConverter.Int32BitsToSingle(rng.Next(0x00800000, 0x7F800000));
        for (int i = 0; i < 20_000; i++)
            yield return BitConverter.Int32BitsToSingle(rng.Next(1, 0x00800000)); // subnormals
        for (int b = 1; b < 0x00800000; b <<= 1)
            yield return BitConverter.Int32BitsToSingle(b);
    }

    [Fact]
    public void PositiveFiniteFloatsAreWithinOneUlp()
    {
        var xs = Arguments().ToArray();
        Array.Resize(ref xs, (xs.Length + 15) / 16 * 16);
        for (int i = 0; i < xs.Length; i++)
            xs[i] = xs[i] == 0 ? 0.5f : xs[i];
        double worst = 0;
        float worstX = 0;
        for (int i = 0; i < xs.Length; i += 16)
        {
            var r512 = VectorLog.Log(Vector512.Create(xs.AsSpan(i, 16)));
            var r256 = VectorLog.Log(Vector256.Create(xs.AsSpan(i, 8)));
            for (int k = 0; k < 16; k++)
            {
                double exact = Math.Log(xs[i + k]);
                double ulp = Math.Max(MathF.BitIncrement(MathF.Abs((float)exact)) - MathF.Abs((float)exact), float.Epsilon);
                double err = Math.Abs(r512.GetElement(k) - exact) / ulp;
                if (err > worst)
                {
                    worst = err;
                    worstX = xs[i + k];
                }
                if (k < 8)
                    Assert.Equal(r512.GetElement(k), r256.GetElement(k));
            }
        }
        Assert.True(worst <= MaxUlps, $"worst error {worst:F3} ulp at x = {worstX:R}");
    }

    [Fact]
    public void SpecialArgumentsFollowMathFLog()
    {
        float[] special = [0f, 1f, 1e-40f, float.Epsilon, -1f, float.PositiveInfinity, float.NaN, 0.25f, 0f, 2f, 3f, 4f, 5f, 6f, 7f, 8f];
        var r = VectorLog.Log(Vector512.Create(special));
        Assert.Equal(float.NegativeInfinity, r.GetElement(0));
        Assert.Equal(0f, r.GetElement(1));
        Assert.Equal(Math.Log(1e-40f), r.GetElement(2), 1e-5);
        Assert.Equal(Math.Log(float.Epsilon), r.GetElement(3), 1e-5);
        Assert.True(float.IsNaN(r.GetElement(4)));
        Assert.Equal(float.PositiveInfinity, r.GetElement(5));
        Assert.True(float.IsNaN(r.GetElement(6)));
        Assert.Equal(MathF.Log(0.25f), r.GetElement(7));
        // Zero beside ordinary lanes.
        float[] withZero = [0f, 0.5f, 0.25f, 0.125f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f];
        var z = VectorLog.Log(Vector512.Create(withZero));
        Assert.Equal(float.NegativeInfinity, z.GetElement(0));
        Assert.Equal(Math.Log(0.5), z.GetElement(1), 1e-7);
        var z256 = VectorLog.Log(Vector256.Create(withZero.AsSpan(0, 8)));
        Assert.Equal(float.NegativeInfinity, z256.GetElement(0));
    }

    [Fact]
    public void NegXLogXIsZeroAtZeroAndExactElsewhere()
    {
        // All-normal vectors take the short path, vectors with zeros or subnormals the checked one.
        float[] normal = [1f, 0.5f, 0.25f, 1e-3f, 0.9999f, 0.1f, 0.3f, 0.7f, 1e-30f, 0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f];
        float[] mixed = [0f, 0.5f, 1e-40f, 1e-3f, 0f, 0.1f, 0.3f, 0.7f, 1e-30f, 0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0f];
        foreach (var xs in new[] { normal, mixed })
        {
            var r512 = VectorLog.NegXLogX(Vector512.Create(xs));
            var r256 = VectorLog.NegXLogX(Vector256.Create(xs.AsSpan(0, 8)));
            for (int k = 0; k < 16; k++)
            {
                double exact = xs[k] == 0 ? 0 : -(double)xs[k] * Math.Log(xs[k]);
                // One ulp of the log plus the rounding of the product: 2 float ulps relative.
                Assert.True(Math.Abs(r512.GetElement(k) - exact) <= 2.4e-7 * Math.Abs(exact), $"x = {xs[k]:R}: {r512.GetElement(k):R} vs {exact:R}");
                if (k < 8)
                    Assert.Equal(r512.GetElement(k), r256.GetElement(k));
            }
        }
    }

    [Fact]
    public void XLogXOverYUsesTheRatioOnlyWhereItIsSafe()
    {
        var rng = new System.Random(3);
        var x = new float[16];
        var y = new float[16];
        for (int k = 0; k < 16; k++)
        {
            x[k] = (float)rng.NextDouble();
            y[k] = (float)rng.NextDouble();
        }
        Check(x, y); // every ratio normal: one logarithm of the ratio
        // A ratio that overflows (y subnormal), y = 0 < x, x = 0 and a ratio that underflows: the two-logarithm form.
        x[0] = 0.5f; y[0] = 1e-39f;
        x[1] = 0.5f; y[1] = 0f;
        x[2] = 0f; y[2] = 0.3f;
        x[3] = 1e-38f; y[3] = 0.9f;
        Check(x, y);

        static void Check(float[] x, float[] y)
        {
            var r512 = VectorLog.XLogXOverY(Vector512.Create(x), Vector512.Create(y));
            var r256 = VectorLog.XLogXOverY(Vector256.Create(x.AsSpan(0, 8)), Vector256.Create(y.AsSpan(0, 8)));
            for (int k = 0; k < 16; k++)
            {
                double exact = x[k] == 0 ? 0 : y[k] == 0 ? double.PositiveInfinity : x[k] * (Math.Log(x[k]) - Math.Log(y[k]));
                float got = r512.GetElement(k);
                if (double.IsInfinity(exact) || x[k] == 0)
                    Assert.Equal((float)exact, got);
                else // the logarithm to 1e-7 of its size (or 1e-7 absolute near ratio 1), times x
                    Assert.True(Math.Abs(got - exact) <= 3e-7 * x[k] * Math.Max(1, Math.Abs(Math.Log(x[k]) - Math.Log(y[k]))), $"x = {x[k]:R}, y = {y[k]:R}: {got:R} vs {exact:R}");
                if (k < 8)
                    Assert.Equal(got, r256.GetElement(k));
            }
        }
    }

    /// <summary>Bound on |s - ln m| of the split logarithm ln x = e ln 2 + s (see VectorLog.LogSplit).</summary>
    private const double SplitAbsolute = 3.5e-8;

    /// <summary>Where the reduction centre is 1 (s = ln(1 + r) with r exact), the bound relative to |s|, in float ulps of s.</summary>
    private const double SplitUlpsNearOne = 0.75;

    [Fact]
    public void SplitLogarithmTablesAreTheirFormulas()
    {
        Check(8, VectorLog.Split8Offset, 4, k => VectorLog.InverseCentres8().GetElement(k), k => VectorLog.LogCentres8().GetElement(k));

        // The AVX-512 table: k = 0..15 cover [1, 1.5) in steps of 1/32, k = 16..31 cover [0.75, 1) in steps of 1/64; c = 1 on both sides of 1.
        for (int k = 0; k < 32; k++)
        {
            double lo = k < 16 ? 1 + k / 32.0 : 0.75 + (k - 16) / 64.0;
            double hi = k < 16 ? 1 + (k + 1) / 32.0 : 0.75 + (k - 15) / 64.0;
            Assert.Equal(k, (BitConverter.SingleToInt32Bits((float)lo) >> 18) & 31);
            Assert.Equal(k, (BitConverter.SingleToInt32Bits(MathF.BitDecrement((float)hi)) >> 18) & 31);
            double centre = k == 0 || k == 31 ? 1.0 : 0.5 * (lo + hi);
            float inv = (float)(1.0 / centre);
            var invTable = k < 16 ? VectorLog.InverseCentres32Low() : VectorLog.InverseCentres32High();
            var logTable = k < 16 ? VectorLog.LogCentres32Low() : VectorLog.LogCentres32High();
            Assert.Equal(inv, invTable.GetElement(k & 15));
            Assert.Equal((float)-Math.Log(inv), logTable.GetElement(k & 15));
        }

        static void Check(int n, int offset, int centreOfOne, Func<int, float> inverse, Func<int, float> log)
        {
            int step = (1 << 23) / n;
            Assert.Equal(1f, BitConverter.Int32BitsToSingle(offset + centreOfOne * step + step / 2));
            for (int k = 0; k < n; k++)
            {
                double lo = BitConverter.Int32BitsToSingle(offset + k * step);
                double hi = BitConverter.Int32BitsToSingle(offset + (k + 1) * step);
                double centre = k == centreOfOne ? 1.0 : 0.5 * (lo + hi);
                float inv = (float)(1.0 / centre);
                Assert.Equal(inv, inverse(k));
                Assert.Equal((float)-Math.Log(inv), log(k));
            }
        }
    }

    [Fact]
    public void SplitLogarithmIsWithinItsBounds()
    {
        var xs = Arguments().Where(x => x >= 1.17549435e-38f).ToArray();
        Array.Resize(ref xs, (xs.Length + 15) / 16 * 16);
        for (int i = 0; i < xs.Length; i++)
            xs[i] = xs[i] == 0 ? 0.5f : xs[i];
        double worstAbs = 0, worstUlps = 0;
        for (int i = 0; i < xs.Length; i += 16)
        {
            var s256a = VectorLog.LogSplit(Vector256.Create(xs.AsSpan(i, 8)), out var e256a);
            var s256b = VectorLog.LogSplit(Vector256.Create(xs.AsSpan(i + 8, 8)), out var e256b);
            for (int k = 0; k < 16; k++)
            {
                float x = xs[i + k];
                Measure(x, k < 8 ? s256a.GetElement(k) : s256b.GetElement(k - 8), k < 8 ? e256a.GetElement(k) : e256b.GetElement(k - 8));
            }
        }
        if (Avx512F.IsSupported)
        {
            // Subnormals too: the hardware normalizes them.
            var all = Arguments().Where(x => x > 0).ToArray();
            Array.Resize(ref all, (all.Length + 15) / 16 * 16);
            for (int i = 0; i < all.Length; i++)
                all[i] = all[i] == 0 ? 0.5f : all[i];
            for (int i = 0; i < all.Length; i += 16)
            {
                var s = VectorLog.LogSplitAvx512(Vector512.Create(all.AsSpan(i, 16)), out var e);
                for (int k = 0; k < 16; k++)
                    Measure(all[i + k], s.GetElement(k), e.GetElement(k));
            }
            var zero = VectorLog.LogSplitAvx512(Vector512<float>.Zero, out var eZero);
            Assert.True(float.IsFinite(zero.GetElement(0)) && float.IsFinite(eZero.GetElement(0)), "a zero lane must give finite parts");
        }
        Assert.True(worstAbs <= SplitAbsolute, $"worst |s - ln m| {worstAbs:E3}");
        Assert.True(worstUlps <= SplitUlpsNearOne, $"worst error near 1: {worstUlps:F3} ulp");

        void Measure(float x, float s, float e)
        {
            Assert.Equal(Math.Round(e), e);
            double lnm = Math.Log(x) - e * Math.Log(2);
            Assert.True(Math.Abs(lnm) < 0.41, $"x = {x:R}: e = {e} leaves ln m = {lnm}");
            double err = Math.Abs(s - lnm);
            worstAbs = Math.Max(worstAbs, err);
            if (e == 0 && x >= 0.9921875f && x < 1.015625f && x != 1f)
            {
                double ulp = MathF.BitIncrement(MathF.Abs((float)lnm)) - MathF.Abs((float)lnm);
                worstUlps = Math.Max(worstUlps, err / ulp);
            }
        }
    }

    [Fact]
    public void SplitSummandsAddUpToTheWholeOnes()
    {
        // Zeros stay on the split path (0 * finite = 0), subnormals too: the hardware normalizes them.
        float[] withZeros = [0f, 0.5f, 0.25f, 1e-3f, 0f, 0.1f, 0.3f, 0.7f, 1e-30f, 0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0f];
        float[] withSubnormal = (float[])withZeros.Clone();
        withSubnormal[2] = 1e-40f;
        float[] q = [0.3f, 0.2f, 0.1f, 0.05f, 0.5f, 0.9f, 1f, 0.01f, 0.001f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f];
        foreach (var p in new[] { withZeros, withSubnormal })
        {
            bool split = Avx512F.IsSupported; // the sixteen-lane split needs AVX-512F and then takes subnormals too
            Vector512<float> a = default, ln2 = default, b = default, ln2Kl = default, c = default, ln2Ce = default;
            VectorLog.NegXLogX(Vector512.Create(p), ref a, ref ln2);
            VectorLog.XLogXOverY(Vector512.Create(p), Vector512.Create(q), ref b, ref ln2Kl);
            VectorLog.NegXLogY(Vector512.Create(p), Vector512.Create(q), ref c, ref ln2Ce);
            // The eight-lane forms agree with the first half within their own table's bounds.
            Vector256<float> a8 = default, ln2a8 = default;
            VectorLog.NegXLogX(Vector256.Create(p.AsSpan(0, 8)), ref a8, ref ln2a8);
            for (int k = 0; k < 8; k++)
            {
                double whole = a.GetElement(k) + Math.Log(2) * ln2.GetElement(k);
                Assert.Equal(whole, a8.GetElement(k) + Math.Log(2) * ln2a8.GetElement(k), 1e-7 * Math.Abs(whole) + 1e-44);
            }
            Assert.Equal(split, ln2 != Vector512<float>.Zero);
            for (int k = 0; k < 16; k++)
            {
                double h = p[k] == 0 ? 0 : -(double)p[k] * Math.Log(p[k]);
                double kl = p[k] == 0 ? 0 : p[k] * (Math.Log(p[k]) - Math.Log(q[k]));
                double ce = p[k] == 0 ? 0 : -(double)p[k] * Math.Log(q[k]);
                Assert.Equal(h, a.GetElement(k) + Math.Log(2) * ln2.GetElement(k), 3e-7 * Math.Max(h, 1e-30) + 1e-44);
                Assert.Equal(kl, b.GetElement(k) + Math.Log(2) * ln2Kl.GetElement(k), (p[k] == 0 ? 0 : 3e-7 * p[k] * Math.Max(1, Math.Abs(Math.Log(p[k] / q[k])))) + 1e-44);
                Assert.Equal(ce, c.GetElement(k) + Math.Log(2) * ln2Ce.GetElement(k), 3e-7 * Math.Max(ce, 1e-30) + 1e-44);
                if (p[k] == 0)
                {
                    Assert.Equal(0f, a.GetElement(k) + ln2.GetElement(k));
                    Assert.Equal(0f, b.GetElement(k) + ln2Kl.GetElement(k));
                }
            }
        }
        // q = 0 < p: +inf, whole-summand path.
        Vector512<float> inf = default, ratioInf = default, inf2 = default;
        VectorLog.NegXLogY(Vector512.Create(0.5f), Vector512.Create(0f), ref inf, ref inf2);
        Assert.Equal(float.PositiveInfinity, inf.GetElement(0));
        VectorLog.XLogXOverY(Vector512.Create(0.5f), Vector512.Create(0f), ref ratioInf, ref inf2);
        Assert.Equal(float.PositiveInfinity, ratioInf.GetElement(0));
        Assert.Equal(Vector512<float>.Zero, inf2);
    }
}
