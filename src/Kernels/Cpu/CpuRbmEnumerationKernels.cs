using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>
/// log sum over all 2^n binary configurations u of one layer of an RBM of exp(d.u + sum_k softplus(e_k + sum_j u_j M_jk)):
/// the log partition function by enumerating the hidden layer (u = h, M = W^T) or the visible
/// layer (u = v, M = W). Gray-code order: each step flips one unit and updates the other
/// layer's input by one row of M. Float64 accumulation, chunks combined in a fixed order.
/// </summary>
internal static unsafe class CpuRbmEnumerationKernels
{
    /// <param name="m">n x k row-major: row j is what unit j of the enumerated layer adds to the other layer.</param>
    /// <param name="d">Biases of the enumerated layer (n).</param>
    /// <param name="e">Biases of the other layer (k).</param>
    /// <param name="n">Units of the enumerated layer (at most 30).</param>
    /// <param name="k">Units of the other layer.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double LogSumExp(ReadOnlySpan<float> m, ReadOnlySpan<float> d, ReadOnlySpan<float> e, int n, int k)
    {
        if (n > 30)
            throw new ArgumentOutOfRangeException(nameof(n), "at most 30 enumerated units");
        int chunkBits = Math.Min(n, 12);
        int chunks = 1 << (n - chunkBits);
        var max = new double[chunks];
        var sum = new double[chunks];
        var mArr = m.ToArray();
        var dArr = d.ToArray();
        var eArr = e.ToArray();
        Parallel.For(0, chunks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (c) =>
        {
            var act = new double[k];
            fixed (float* pm = mArr)
            fixed (double* pa = act)
            {
                // The chunk's high bits are fixed to c; its low chunkBits bits run in Gray-code order.
                long high = (long)c << chunkBits;
                double lin = 0;
                for (int i = 0; i < k; i++)
                    pa[i] = eArr[i];
                for (int j = chunkBits; j < n; j++)
                {
                    if (((high >> j) & 1) != 0)
                    {
                        lin += dArr[j];
                        for (int i = 0; i < k; i++)
                            pa[i] += pm[(long)j * k + i];
                    }
                }
                var run = LogSumExp64.Running.Empty;
                long gray = 0;
                long count = 1L << chunkBits;
                for (long t = 0; t < count; t++)
                {
                    if (t > 0)
                    {
                        int bit = System.Numerics.BitOperations.TrailingZeroCount(t);
                        gray ^= 1L << bit;
                        double sign = ((gray >> bit) & 1) != 0 ? 1 : -1;
                        lin += sign * dArr[bit];
                        Axpy(pa, pm + (long)bit * k, sign, k);
                    }
                    run.Add(lin + SumSoftplus(pa, k));
                }
                max[c] = run.Max;
                sum[c] = run.Sum;
            }
        });
        return LogSumExp64.Of(max, sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Axpy(double* y, float* x, double a, int k)
    {
        int i = 0;
        var va = Vector256.Create(a);
        for (; i + 4 <= k; i += 4)
        {
            var xv = Vector256.Create((double)x[i], x[i + 1], x[i + 2], x[i + 3]);
            (Vector256.Load(y + i) + va * xv).Store(y + i);
        }
        for (; i < k; i++)
            y[i] += a * x[i];
    }

    /// <summary>sum_i softplus(a_i) = sum_i max(a_i, 0) + log(1 + exp(-|a_i|)), float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumSoftplus(double* a, int k)
    {
        var acc = Vector256<double>.Zero;
        var one = Vector256.Create(1.0);
        int i = 0;
        for (; i + 4 <= k; i += 4)
        {
            var x = Vector256.Load(a + i);
            acc += Vector256.Max(x, Vector256<double>.Zero) + Vector256.Log(one + Vector256.Exp(-Vector256.Abs(x)));
        }
        double s = Vector256.Sum(acc);
        for (; i < k; i++)
            s += ScalarMath.Softplus(a[i]);
        return s;
    }
}
