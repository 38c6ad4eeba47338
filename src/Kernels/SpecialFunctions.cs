using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>Special functions shared by the host and the kernels (no allocations, no managed calls).</summary>
internal static class SpecialFunctions
{
    /// <summary>The Euler-Mascheroni constant, -psi(1).</summary>
    public const double EulerGamma = 0.57721566490153286060651209;

    /// <summary>The digamma function psi(x) = d/dx ln Gamma(x) in float64, for x &gt; 0.</summary>
    /// <remarks>
    /// Shifts x up to at least 10 with psi(x) = psi(x + 1) - 1/x, then uses the asymptotic series
    /// psi(x) = ln x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8) - 1/(132x^10) + 691/(32760x^12);
    /// the first omitted term is below 1e-15 at x = 10. Returns NaN for x &lt;= 0 or NaN.
    /// </remarks>
    public static double Digamma(double x)
    {
        if (!(x > 0))
            return double.NaN;
        double shift = 0;
        while (x < 10)
        {
            shift += 1 / x;
            x += 1;
        }
        double inv = 1 / x;
        double inv2 = inv * inv;
        double series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 * (1.0 / 132 - inv2 * (691.0 / 32760))))));
        return Math.Log(x) - 0.5 * inv - series - shift;
    }

    /// <summary>The digamma function in float32 (for device code), for x &gt; 0; relative error about 1e-6.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Digamma(float x)
    {
        float shift = 0;
        while (x < 6)
        {
            shift += 1 / x;
            x += 1;
        }
        float inv = 1 / x;
        float inv2 = inv * inv;
        float series = inv2 * (1f / 12 - inv2 * (1f / 120 - inv2 * (1f / 252)));
        return AccurateMath.Log(x) - 0.5f * inv - series - shift;
    }

    /// <summary>psi(0), psi(1), ..., psi(n) in float64 (psi(0) is NaN): psi(m + 1) = psi(m) + 1/m, exact to a few ulps of the harmonic sums.</summary>
    public static double[] DigammaTable(int n)
    {
        var table = new double[n + 1];
        table[0] = double.NaN;
        if (n >= 1)
            table[1] = -EulerGamma;
        for (int m = 1; m < n; m++)
            table[m + 1] = m < 64 ? Digamma((double)(m + 1)) : table[m] + 1.0 / m;
        return table;
    }
}
