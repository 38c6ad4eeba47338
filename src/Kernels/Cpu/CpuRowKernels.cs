using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>
/// SIMD row kernels for the <c>cpu</c> backend: the same operations as
/// <see cref="Gpu.RowKernels"/>. Each row is reduced by one thread in a fixed order
/// (eight float lanes widened into float64 accumulators, then the tail), so results do not
/// depend on the number of threads.
/// </summary>
public static unsafe class CpuRowKernels
{
    /// <summary>Below this many elements a call runs on the calling thread.</summary>
    public const int ParallelThreshold = 1 << 15;

    /// <summary>result[r] = scale * sum_j term(p[r, j], q[r, j]).</summary>
    public static void RowReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        fixed (float* pp = p, pq = q, pr = result)
        {
            var args = (P: (nint)pp, Q: (nint)pq, R: (nint)pr);
            For(rows, (long)rows * cols, r =>
            {
                long o = (long)r * cols;
                ((float*)args.R)[r] = (float)(scale * ReduceRow((float*)args.P + o, (float*)args.Q + o, cols, term));
            });
        }
    }

    /// <summary>Sum of term over one row: float64 accumulation in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ReduceRow<TTerm>(float* p, float* q, int cols, TTerm term)
        where TTerm : struct, IRowTerm
    {
        var a0 = Vector256<double>.Zero;
        var a1 = Vector256<double>.Zero;
        int j = 0;
        for (; j + 8 <= cols; j += 8)
        {
            var t = term.Apply(Vector256.Load(p + j), Vector256.Load(q + j));
            var (lo, hi) = Vector256.Widen(t);
            a0 += lo;
            a1 += hi;
        }
        double s = Vector256.Sum(a0 + a1);
        for (; j < cols; j++)
            s += term.Apply(p[j], q[j]);
        return s;
    }

    /// <summary>Per-row losses from logits; see <see cref="LogitMath.Loss(float, float, int, float, int)"/>.</summary>
    public static void LogitLoss(
        ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> losses, int rows, int cols, float epsilon, int mode)
    {
        fixed (float* px = logits, pl = losses)
        fixed (int* pt = targets)
        {
            var args = (X: (nint)px, T: (nint)pt, L: (nint)pl);
            For(rows, (long)rows * cols, r =>
            {
                float* x = (float*)args.X + (long)r * cols;
                float max = Max(x, cols);
                float logSum = ShiftedLogSumExp(x, cols, max);
                double sumNll = 0;
                if (mode != LogitMath.Plain)
                {
                    var vl = Vector256.Create(max);
                    var a0 = Vector256<double>.Zero;
                    var a1 = Vector256<double>.Zero;
                    int j = 0;
                    for (; j + 8 <= cols; j += 8)
                    {
                        var (lo, hi) = Vector256.Widen(vl - Vector256.Load(x + j));
                        a0 += lo;
                        a1 += hi;
                    }
                    sumNll = Vector256.Sum(a0 + a1);
                    for (; j < cols; j++)
                        sumNll += max - x[j];
                    sumNll += (double)cols * logSum;
                }
                float nllTarget = (max - x[((int*)args.T)[r]]) + logSum;
                ((float*)args.L)[r] = LogitMath.Loss(nllTarget, (float)sumNll, cols, epsilon, mode);
            });
        }
    }

    /// <summary>y = softmax(x) row-wise, or log-softmax when <paramref name="logOutput"/>.</summary>
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int cols, bool logOutput)
    {
        fixed (float* px = x, py = y)
        {
            var args = (X: (nint)px, Y: (nint)py);
            For(rows, (long)rows * cols, r =>
            {
                long o = (long)r * cols;
                float* xr = (float*)args.X + o;
                float* yr = (float*)args.Y + o;
                float max = Max(xr, cols);
                float sum = SumExp(xr, cols, max);
                var vm = Vector256.Create(max);
                int j = 0;
                if (logOutput)
                {
                    float logSum = MathF.Log(sum);
                    var vs = Vector256.Create(logSum);
                    for (; j + 8 <= cols; j += 8)
                        (Vector256.Load(xr + j) - vm - vs).Store(yr + j);
                    for (; j < cols; j++)
                        yr[j] = (xr[j] - max) - logSum;
                }
                else
                {
                    var inv = Vector256.Create(1f / sum);
                    for (; j + 8 <= cols; j += 8)
                        (Vector256.Exp(Vector256.Load(xr + j) - vm) * inv).Store(yr + j);
                    for (; j < cols; j++)
                        yr[j] = MathF.Exp(xr[j] - max) / sum;
                }
            });
        }
    }

    /// <summary>log sum_j exp(x_j), stable.</summary>
    public static float LogSumExp(float* x, int cols)
    {
        float max = Max(x, cols);
        if (float.IsNegativeInfinity(max))
            return max;
        return max + MathF.Log(SumExp(x, cols, max));
    }

    /// <summary>log sum_j exp(x_j - max) through <see cref="LogitMath.LogSumExpShifted"/>: accurate when one entry dominates.</summary>
    public static float ShiftedLogSumExp(float* x, int cols, float max)
    {
        var vm = Vector256.Create(max);
        var a0 = Vector256<double>.Zero;
        var a1 = Vector256<double>.Zero;
        var tie = Vector256<float>.Zero;
        int j = 0;
        for (; j + 8 <= cols; j += 8)
        {
            var d = Vector256.Load(x + j) - vm;
            var below = Vector256.LessThan(d, Vector256<float>.Zero);
            var (lo, hi) = Vector256.Widen(Vector256.ConditionalSelect(below, Vector256.Exp(d), Vector256<float>.Zero));
            a0 += lo;
            a1 += hi;
            tie += Vector256.ConditionalSelect(below, Vector256<float>.Zero, Vector256.Create(1f));
        }
        double rest = Vector256.Sum(a0 + a1);
        float ties = Vector256.Sum(tie);
        for (; j < cols; j++)
        {
            float d = x[j] - max;
            if (d < 0f)
                rest += MathF.Exp(d);
            else
                ties += 1f;
        }
        return LogitMath.LogSumExpShifted((float)rest, ties);
    }

    private static float Max(float* x, int cols)
    {
        var m = Vector256.Create(float.NegativeInfinity);
        int j = 0;
        for (; j + 8 <= cols; j += 8)
            m = Vector256.Max(m, Vector256.Load(x + j));
        float max = float.NegativeInfinity;
        for (int k = 0; k < 8; k++)
            max = Math.Max(max, m.GetElement(k));
        for (; j < cols; j++)
            max = Math.Max(max, x[j]);
        return max;
    }

    private static float SumExp(float* x, int cols, float max)
    {
        var vm = Vector256.Create(max);
        var a0 = Vector256<double>.Zero;
        var a1 = Vector256<double>.Zero;
        int j = 0;
        for (; j + 8 <= cols; j += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Exp(Vector256.Load(x + j) - vm));
            a0 += lo;
            a1 += hi;
        }
        double s = Vector256.Sum(a0 + a1);
        for (; j < cols; j++)
            s += MathF.Exp(x[j] - max);
        return (float)s;
    }

    /// <summary>Runs body(r) for r in [0, rows), in parallel when the work is large enough.</summary>
    public static void For(int rows, long work, Action<int> body)
    {
        if (work < ParallelThreshold || rows == 1 || Environment.ProcessorCount == 1)
        {
            for (int r = 0; r < rows; r++)
                body(r);
            return;
        }
        int chunks = Math.Min(rows, Environment.ProcessorCount * 4);
        Parallel.For(0, chunks, c =>
        {
            int lo = (int)((long)rows * c / chunks);
            int hi = (int)((long)rows * (c + 1) / chunks);
            for (int r = lo; r < hi; r++)
                body(r);
        });
    }
}
