using System.Globalization;
using System.Text;

namespace InfoGpu.Tests.Infrastructure;

/// <summary>Comparisons with named tolerances that print the first mismatches and never let NaN pass.</summary>
internal static class Tolerance
{
    /// <summary>Float32 arithmetic over a few thousand terms against a float64 reference.</summary>
    public const double Float32Relative = 1e-5;

    /// <summary>Float64 evaluation of the same formula as the reference.</summary>
    public const double Float64Relative = 1e-9;

    public static void Close(double expected, double actual, double relative, double absolute = 0, string? what = null)
    {
        if (!Within(expected, actual, relative, absolute))
            Assert.Fail($"{what ?? "value"}: expected {F(expected)}, got {F(actual)} (|diff| {F(Math.Abs(expected - actual))}, rel tol {relative}, abs tol {absolute})");
    }

    public static void AllClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual, double relative, double absolute = 0, string? what = null)
    {
        Assert.Equal(expected.Count, actual.Count);
        var sb = new StringBuilder();
        int bad = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            if (!Within(expected[i], actual[i], relative, absolute))
            {
                if (bad++ < 5)
                    sb.Append(CultureInfo.InvariantCulture, $"\n  [{i}] expected {F(expected[i])}, got {F(actual[i])}");
            }
        }
        if (bad > 0)
            Assert.Fail($"{what ?? "values"}: {bad} of {expected.Count} mismatches (rel tol {relative}, abs tol {absolute}); first:{sb}");
    }

    public static bool Within(double expected, double actual, double relative, double absolute)
    {
        if (double.IsNaN(expected) || double.IsNaN(actual))
            return false;
        if (double.IsInfinity(expected) || double.IsInfinity(actual))
            return expected == actual;
        return Math.Abs(expected - actual) <= absolute + relative * Math.Abs(expected);
    }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
