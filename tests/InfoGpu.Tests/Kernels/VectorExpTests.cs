using System.Runtime.Intrinsics;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Tests.Kernels;

/// <summary>The CPU kernels' vector exponential and sigmoid against float64.</summary>
public class VectorExpTests
{
    /// <summary>The fitted polynomial and the final rounding: 1.3 ulp in a float32 simulation; FMA only helps.</summary>
    private const double MaxUlps = 1.5;

    [Fact]
    public void ExpIsWithinOneAndAHalfUlpsOnTheNormalRange()
    {
        var rng = new System.Random(11);
        var xs = new List<float>();
        for (int i = 0; i < 400_000; i++)
            xs.Add((float)(rng.NextDouble() * (88 + 87.33) - 87.33));
        for (int i = 0; i < 100_000; i++)
            xs.Add((float)(rng.NextDouble() * 2 - 1));
        for (int k = -126; k <= 127; k++)
            xs.Add(k * MathF.Log(2f)); // the boundaries between exponents
        xs.AddRange([0f, -0f, -87.33f, 88f, 1e-8f, -1e-8f]);
        while (xs.Count % 8 != 0)
            xs.Add(0.5f);
        double worst = 0;
        float worstX = 0;
        for (int i = 0; i < xs.Count; i += 8)
        {
            var r = VectorExp.Exp(Vector256.Create(xs.GetRange(i, 8).ToArray()));
            for (int k = 0; k < 8; k++)
            {
                double exact = Math.Exp(xs[i + k]);
                if (exact < 1.17549435e-38 || xs[i + k] > 88f) // outside the documented range
                    continue;
                float e32 = (float)exact;
                double ulp = MathF.BitIncrement(e32) - e32;
                double err = Math.Abs(r.GetElement(k) - exact) / ulp;
                if (err > worst)
                {
                    worst = err;
                    worstX = xs[i + k];
                }
            }
        }
        Assert.True(worst <= MaxUlps, $"worst error {worst:F3} ulp at x = {worstX:R}");
    }

    [Fact]
    public void ExpLimitsAndSigmoidFollowTheScalarConventions()
    {
        var e = VectorExp.Exp(Vector256.Create([-1000f, -88f, 100f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, 1f]));
        Assert.Equal(0f, e.GetElement(0));
        Assert.Equal(0f, e.GetElement(1));
        Assert.Equal(float.PositiveInfinity, e.GetElement(2));
        Assert.Equal(float.PositiveInfinity, e.GetElement(3));
        Assert.Equal(0f, e.GetElement(4));
        Assert.True(float.IsNaN(e.GetElement(5)));
        Assert.Equal(1f, e.GetElement(6));
        Assert.Equal(Math.E, e.GetElement(7), 3e-7);

        float[] xs = [-200f, -30f, -3f, -0.1f, 0f, 0.1f, 3f, 200f];
        var s = VectorExp.Sigmoid(Vector256.Create(xs));
        for (int k = 0; k < 8; k++)
        {
            double exact = 1 / (1 + Math.Exp(-(double)xs[k]));
            float got = s.GetElement(k);
            // Relative, so the tiny left tail is checked too (e^-30 = 9e-14); e^-200 underflows to 0 as in float.
            Assert.True(Math.Abs(got - exact) <= 4e-7 * exact || (exact < 1e-38 && got == 0), $"sigmoid({xs[k]}) = {got:R}, expected {exact:R}");
            Assert.Equal(ScalarMath.Sigmoid(xs[k]), got, 4e-7 * exact + 1e-45);
        }
    }
}
