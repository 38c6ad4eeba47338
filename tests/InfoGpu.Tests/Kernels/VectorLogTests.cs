using System.Runtime.Intrinsics;
using InfoGpu.Kernels;

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
}
