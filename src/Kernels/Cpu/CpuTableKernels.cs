using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>CPU kernels for joint tables, sample counts and element-wise information (the ILGPU side is <see cref="Gpu.TableKernels"/>).</summary>
internal static class CpuTableKernels
{
    /// <summary>For each nx-by-ny table: H(X), H(Y), H(X,Y) (float64 accumulation) times scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void JointEntropies(ReadOnlySpan<float> tables, Span<float> result, int count, int nx, int ny, float scale)
    {
        int cells = nx * ny;
        var col = new double[ny];
        for (int t = 0; t < count; t++)
        {
            var (hx, hy, hxy) = JointEntropies(tables.Slice(t * cells, cells), nx, ny, col);
            result[3 * t] = (float)(scale * hx);
            result[3 * t + 1] = (float)(scale * hy);
            result[3 * t + 2] = (float)(scale * hxy);
        }
    }

    /// <summary>
    /// H(X) (row sums), H(Y) (column sums) and H(X,Y) in nats of one nx-by-ny table (row-major),
    /// accumulated in float64 in a fixed order; <paramref name="columnSums"/> is scratch of ny entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double HX, double HY, double HXY) JointEntropies<T>(ReadOnlySpan<T> table, int nx, int ny, Span<double> columnSums)
        where T : unmanaged, INumberBase<T>
    {
        var col = columnSums[..ny];
        col.Clear();
        double hx = 0, hxy = 0;
        for (int i = 0; i < nx; i++)
        {
            double r = 0;
            for (int j = 0; j < ny; j++)
            {
                double v = double.CreateTruncating(table[i * ny + j]);
                r += v;
                col[j] += v;
                hxy -= ScalarMath.XLogX(v);
            }
            hx -= ScalarMath.XLogX(r);
        }
        double hy = 0;
        foreach (double c in col)
            hy -= ScalarMath.XLogX(c);
        return (hx, hy, hxy);
    }

    /// <summary>counts[x_i * ny + y_i] += 1; counts is cleared first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void JointCounts(ReadOnlySpan<int> x, ReadOnlySpan<int> y, Span<int> counts, int ny)
    {
        counts.Clear();
        for (int i = 0; i < x.Length; i++)
            counts[x[i] * ny + y[i]]++;
    }

    /// <summary>result[i] = -scale ln p[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SelfInformation(ReadOnlySpan<float> p, Span<float> result, float scale)
    {
        var s = Vector256.Create(-scale);
        int i = 0;
        for (; i + 8 <= p.Length; i += 8)
            (Vector256.Log(Vector256.Create(p.Slice(i, 8))) * s).CopyTo(result.Slice(i, 8));
        for (; i < p.Length; i++)
            result[i] = -scale * MathF.Log(p[i]);
    }
}
