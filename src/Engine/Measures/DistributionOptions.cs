using System.Globalization;

namespace InfoGpu.Measures;

/// <summary>How rows that should be probability distributions are checked.</summary>
/// <param name="Normalize">Divide each row by its sum instead of requiring the sum to be 1 (entries must still be finite and non-negative, the sum positive).</param>
/// <param name="SumTolerance">Largest accepted |sum - 1| of a row when not normalizing.</param>
public sealed record DistributionOptions(bool Normalize = false, double SumTolerance = DistributionOptions.Float32Tolerance)
{
    /// <summary>Default tolerance for float32 rows: the rounding of a few thousand float32 probabilities.</summary>
    public const double Float32Tolerance = 1e-4;

    /// <summary>Default tolerance for float64 rows.</summary>
    public const double Float64Tolerance = 1e-9;

    /// <summary>Check without normalizing, tolerance <see cref="Float32Tolerance"/>: what the float32 measures use when given null.</summary>
    public static DistributionOptions Default { get; } = new();

    /// <summary>Check without normalizing, tolerance <see cref="Float64Tolerance"/>: what the float64 measures use when given null.</summary>
    public static DistributionOptions Default64 { get; } = new(false, Float64Tolerance);
}

/// <summary>Checks (and optionally normalizes) distribution rows at the public boundary.</summary>
internal static class Distributions
{
    /// <summary>
    /// Returns the rows to use: the input itself when valid, a normalized copy when
    /// options.Normalize. Throws naming the row, the column and the problem.
    /// </summary>
    public static ReadOnlySpan<float> Check(ReadOnlySpan<float> rows, int cols, string what, DistributionOptions? options)
    {
        options ??= DistributionOptions.Default;
        Shape(rows.Length, cols, what);
        if (!options.Normalize && Kernels.Cpu.CpuRowKernels.AllRowsValid(rows, cols, options.SumTolerance))
            return rows;
        float[]? copy = options.Normalize ? rows.ToArray() : null;
        int n = rows.Length / cols;
        for (int r = 0; r < n; r++)
        {
            var row = rows.Slice(r * cols, cols);
            double sum = 0;
            for (int j = 0; j < cols; j++)
            {
                float v = row[j];
                if (!float.IsFinite(v))
                    throw Bad(what, r, $"entry {j} is {Fmt(v)}; a probability must be a finite number", n);
                if (v < 0)
                    throw Bad(what, r, $"entry {j} is negative ({Fmt(v)}); probabilities must be >= 0", n);
                sum += v;
            }
            if (copy is not null)
            {
                if (!(sum > 0))
                    throw Bad(what, r, "sums to 0 and cannot be normalized", n);
                float inv = (float)(1 / sum);
                for (int j = 0; j < cols; j++)
                    copy[r * cols + j] *= inv;
            }
            else if (Math.Abs(sum - 1) > options.SumTolerance)
            {
                throw Bad(what, r, $"sums to {Fmt(sum)}, not 1 (tolerance {Fmt(options.SumTolerance)}); normalize it or pass --normalize", n);
            }
        }
        return copy ?? rows;
    }

    /// <summary>Float64 form of <see cref="Check(ReadOnlySpan{float}, int, string, DistributionOptions?)"/>.</summary>
    public static ReadOnlySpan<double> Check(ReadOnlySpan<double> rows, int cols, string what, DistributionOptions? options)
    {
        options ??= DistributionOptions.Default64;
        Shape(rows.Length, cols, what);
        double[]? copy = options.Normalize ? rows.ToArray() : null;
        int n = rows.Length / cols;
        for (int r = 0; r < n; r++)
        {
            var row = rows.Slice(r * cols, cols);
            double sum = 0;
            for (int j = 0; j < cols; j++)
            {
                double v = row[j];
                if (!double.IsFinite(v))
                    throw Bad(what, r, $"entry {j} is {Fmt(v)}; a probability must be a finite number", n);
                if (v < 0)
                    throw Bad(what, r, $"entry {j} is negative ({Fmt(v)}); probabilities must be >= 0", n);
                sum += v;
            }
            if (copy is not null)
            {
                if (!(sum > 0))
                    throw Bad(what, r, "sums to 0 and cannot be normalized", n);
                for (int j = 0; j < cols; j++)
                    copy[r * cols + j] /= sum;
            }
            else if (Math.Abs(sum - 1) > options.SumTolerance)
            {
                throw Bad(what, r, $"sums to {Fmt(sum)}, not 1 (tolerance {Fmt(options.SumTolerance)}); normalize it or pass --normalize", n);
            }
        }
        return copy ?? rows;
    }

    public static void Shape(int length, int cols, string what)
    {
        if (cols <= 0)
            throw new InfoGpuException($"{what}: the number of columns must be positive (got {cols})");
        if (length % cols != 0)
            throw new InfoGpuException($"{what}: {length} values do not make whole rows of {cols} columns");
    }

    public static void SameShape(int a, int b, string what)
    {
        if (a != b)
            throw new InfoGpuException($"{what}: p has {a} values but q has {b}; pair the rows one to one");
    }

    public static void Finite(ReadOnlySpan<float> values, int cols, string what)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                throw Bad(what, i / cols, $"entry {i % cols} is {Fmt(values[i])}; values must be finite");
        }
    }

    /// <summary>An error naming the bad row; a joint table (<paramref name="what"/> ends in "table") is named as a table, not as a row.</summary>
    public static InfoGpuException Bad(string what, int row, string problem, int rows = 2) =>
        !what.EndsWith("table", StringComparison.Ordinal) ? new($"{what}: row {row} {problem}")
        : rows == 1 ? new($"{what}: the table {problem}")
        : new($"{what}: table {row} {problem}");

    public static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
