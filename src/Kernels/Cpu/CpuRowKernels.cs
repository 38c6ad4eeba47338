using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>
/// SIMD row kernels for the <c>cpu</c> backend: the same operations as
/// <see cref="Gpu.RowKernels"/>. Each row is reduced by one thread in a fixed order
/// (eight float lanes widened into float64 accumulators, then the tail), so results do not
/// depend on the number of threads.
/// </summary>
internal static unsafe class CpuRowKernels
{
    /// <summary>See <see cref="Gpu.RowKernels.GatherRowsKernel"/>: dst[dstOffset + r cols ..] = row order[start + r] of src, for r &lt; count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GatherRows(ReadOnlySpan<float> src, ReadOnlySpan<int> order, Span<float> dst, int start, int count, int cols, long dstOffset)
    {
        for (int r = 0; r < count; r++)
            src.Slice(order[start + r] * cols, cols).CopyTo(dst.Slice((int)(dstOffset + (long)r * cols), cols));
    }

    /// <summary>Below this many elements a call runs on the calling thread.</summary>
    public const int ParallelThreshold = 1 << 15;

    /// <summary>Vectors summed in float lanes before the block's sum is widened into the float64 accumulators.</summary>
    private const int Block = 8;
    private const double Ln2 = 0.69314718055994530942;

    /// <summary>result[r] = scale * sum_j term(p[r, j], q[r, j]).</summary>
    /// <remarks>The per-row order is that of <see cref="CheckedRowReduce{TTerm}"/>, so both give the same results.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        fixed (float* pp = p, pq = q, pr = result)
        {
            var args = (P: (nint)pp, Q: (nint)pq, R: (nint)pr);
            For(rows, (long)rows * cols, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
            {
                long o = (long)r * cols;
                float* pRow = (float*)args.P + o, qRow = (float*)args.Q + o;
                double s = Vector512.IsHardwareAccelerated
                    ? Row512(pRow, qRow, cols, term, false, false, out _, out _, out _)
                    : Row256(pRow, qRow, cols, term, false, false, out _, out _, out _);
                ((float*)args.R)[r] = (float)(scale * s);
            });
        }
    }

    /// <summary>
    /// <see cref="RowReduce{TTerm}"/> fused with the distribution check, in one pass over the
    /// data: each row of p (and of q when <paramref name="checkQ"/>) must have entries &gt;= 0
    /// and a finite sum within <paramref name="tolerance"/> of 1 (a NaN or infinite entry makes
    /// the sum NaN or infinite). Returns false if
    /// any row fails; the results are then incomplete and the caller names the problem.
    /// </summary>
    /// <remarks>
    /// Each row is summed in a fixed order: sixteen (AVX-512) or eight float lanes, blocks of
    /// eight vectors summed in float and widened into float64 accumulators, then the tail in
    /// float64, so results do not depend on the thread count. Widening once per block instead
    /// of once per vector, and reading the rows once instead of twice (check, then reduce), is
    /// what keeps this near memory speed. Terms with a logarithm hand back their ln 2 parts
    /// separately (<see cref="IRowTerm"/>); those are summed the same way and multiplied by ln 2 once per row.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool CheckedRowReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term,
        bool checkQ, double tolerance)
        where TTerm : struct, IRowTerm
    {
        int bad = 0;
        fixed (float* pp = p, pq = q, pr = result)
        {
            var args = (P: (nint)pp, Q: (nint)pq, R: (nint)pr);
            For(rows, (long)rows * cols, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
            {
                long o = (long)r * cols;
                float* pRow = (float*)args.P + o, qRow = (float*)args.Q + o;
                bool good;
                double s, sumP, sumQ;
                if (checkQ)
                {
                    s = Vector512.IsHardwareAccelerated
                        ? Row512(pRow, qRow, cols, term, true, true, out sumP, out sumQ, out good)
                        : Row256(pRow, qRow, cols, term, true, true, out sumP, out sumQ, out good);
                    good &= double.IsFinite(sumQ) && Math.Abs(sumQ - 1.0) <= tolerance;
                }
                else
                {
                    s = Vector512.IsHardwareAccelerated
                        ? Row512(pRow, qRow, cols, term, true, false, out sumP, out _, out good)
                        : Row256(pRow, qRow, cols, term, true, false, out sumP, out _, out good);
                }
                good &= double.IsFinite(sumP) && Math.Abs(sumP - 1.0) <= tolerance;
                ((float*)args.R)[r] = (float)(scale * s);
                if (!good)
                    Volatile.Write(ref bad, 1);
            });
        }
        return bad == 0;
    }

    /// <summary>
    /// Sum of term over one row; with <paramref name="check"/> also the sums of p (and q with
    /// <paramref name="checkQ"/>) and whether every checked entry is &gt;= 0. The flags are
    /// constants at every call, so the JIT keeps only the work asked for.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Row512<TTerm>(
        float* p, float* q, int cols, TTerm term, bool check, bool checkQ, out double sumP, out double sumQ, out bool nonNegative)
        where TTerm : struct, IRowTerm
    {
        var t = Vector512<double>.Zero;
        var t2 = Vector512<double>.Zero; // coefficients of ln 2 (see IRowTerm)
        var sp = Vector512<double>.Zero;
        var sq = Vector512<double>.Zero;
        var low = Vector512<float>.Zero; // running minimum of the checked entries (NaN shows in the sums)
        int vectorEnd = cols & ~15;
        int j = 0;
        while (j < vectorEnd)
        {
            int end = Math.Min(vectorEnd, j + 16 * Block);
            var bt = Vector512<float>.Zero;
            var b2 = Vector512<float>.Zero;
            var bp = Vector512<float>.Zero;
            var bq = Vector512<float>.Zero;
            for (; j < end; j += 16)
            {
                var x = Vector512.Load(p + j);
                var y = Vector512.Load(q + j);
                term.Accumulate(x, y, ref bt, ref b2);
                if (check)
                {
                    bp += x;
                    low = Vector512.MinNative(low, x);
                    if (checkQ)
                    {
                        bq += y;
                        low = Vector512.MinNative(low, y);
                    }
                }
            }
            var (tl, th) = Vector512.Widen(bt);
            t += tl + th;
            var (l2, h2) = Vector512.Widen(b2);
            t2 += l2 + h2;
            if (check)
            {
                var (pl, ph) = Vector512.Widen(bp);
                sp += pl + ph;
                if (checkQ)
                {
                    var (ql, qh) = Vector512.Widen(bq);
                    sq += ql + qh;
                }
            }
        }
        bool good = Vector512.GreaterThanOrEqualAll(low, Vector512<float>.Zero);
        return Tail(p, q, j, cols, term, check, checkQ, Vector512.Sum(t) + Ln2 * Vector512.Sum(t2), Vector512.Sum(sp), Vector512.Sum(sq), good, out sumP, out sumQ, out nonNegative);
    }

    /// <summary>Eight-lane form of <see cref="Row512{TTerm}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Row256<TTerm>(
        float* p, float* q, int cols, TTerm term, bool check, bool checkQ, out double sumP, out double sumQ, out bool nonNegative)
        where TTerm : struct, IRowTerm
    {
        var t = Vector256<double>.Zero;
        var t2 = Vector256<double>.Zero; // coefficients of ln 2 (see IRowTerm)
        var sp = Vector256<double>.Zero;
        var sq = Vector256<double>.Zero;
        var low = Vector256<float>.Zero; // running minimum of the checked entries (NaN shows in the sums)
        int vectorEnd = cols & ~7;
        int j = 0;
        while (j < vectorEnd)
        {
            int end = Math.Min(vectorEnd, j + 8 * Block);
            var bt = Vector256<float>.Zero;
            var b2 = Vector256<float>.Zero;
            var bp = Vector256<float>.Zero;
            var bq = Vector256<float>.Zero;
            for (; j < end; j += 8)
            {
                var x = Vector256.Load(p + j);
                var y = Vector256.Load(q + j);
                term.Accumulate(x, y, ref bt, ref b2);
                if (check)
                {
                    bp += x;
                    low = Vector256.MinNative(low, x);
                    if (checkQ)
                    {
                        bq += y;
                        low = Vector256.MinNative(low, y);
                    }
                }
            }
            var (tl, th) = Vector256.Widen(bt);
            t += tl + th;
            var (l2, h2) = Vector256.Widen(b2);
            t2 += l2 + h2;
            if (check)
            {
                var (pl, ph) = Vector256.Widen(bp);
                sp += pl + ph;
                if (checkQ)
                {
                    var (ql, qh) = Vector256.Widen(bq);
                    sq += ql + qh;
                }
            }
        }
        bool good = Vector256.GreaterThanOrEqualAll(low, Vector256<float>.Zero);
        return Tail(p, q, j, cols, term, check, checkQ, Vector256.Sum(t) + Ln2 * Vector256.Sum(t2), Vector256.Sum(sp), Vector256.Sum(sq), good, out sumP, out sumQ, out nonNegative);
    }

    /// <summary>The scalar tail of a row in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Tail<TTerm>(
        float* p, float* q, int j, int cols, TTerm term, bool check, bool checkQ,
        double s, double sp, double sq, bool good, out double sumP, out double sumQ, out bool nonNegative)
        where TTerm : struct, IRowTerm
    {
        for (; j < cols; j++)
        {
            s += term.Apply(p[j], q[j]);
            if (check)
            {
                good &= p[j] >= 0;
                sp += p[j];
                if (checkQ)
                {
                    good &= q[j] >= 0;
                    sq += q[j];
                }
            }
        }
        sumP = sp;
        sumQ = sq;
        nonNegative = good;
        return s;
    }

    /// <summary>Per-row losses from logits; see <see cref="LogitMath.Loss(float, float, int, float, int)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogitLoss(
        ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> losses, int rows, int cols, float epsilon, int mode)
    {
        fixed (float* px = logits, pl = losses)
        fixed (int* pt = targets)
        {
            var args = (X: (nint)px, T: (nint)pt, L: (nint)pl);
            For(rows, (long)rows * cols, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int cols, bool logOutput)
    {
        fixed (float* px = x, py = y)
        {
            var args = (X: (nint)px, Y: (nint)py);
            For(rows, (long)rows * cols, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float LogSumExp(float* x, int cols)
    {
        float max = Max(x, cols);
        if (float.IsNegativeInfinity(max))
            return max;
        return max + MathF.Log(SumExp(x, cols, max));
    }

    /// <summary>log sum_j exp(x_j - max) through <see cref="LogitMath.LogSumExpShifted"/>: accurate when one entry dominates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>
    /// Whether every row is a distribution within <paramref name="tolerance"/>: a non-negative
    /// minimum (NaN fails it), a finite sum (an infinite entry fails it) and a sum within
    /// tolerance of 1. A SIMD pass, rows in parallel when large; the caller's slow path then
    /// finds and names the first problem. Used before an upload by the ILGPU backends and by
    /// the host-side checks of the measures.
    /// </summary>
    public static bool AllRowsValid(ReadOnlySpan<float> rows, int cols, double tolerance)
    {
        int n = rows.Length / cols;
        int bad = 0;
        fixed (float* p = rows)
        {
            nint basePtr = (nint)p;
            For(n, rows.Length, r =>
            {
                float* row = (float*)basePtr + (long)r * cols;
                var ok = Vector256<float>.AllBitsSet;
                var acc = Vector256<float>.Zero;
                int j = 0;
                for (; j + 8 <= cols; j += 8)
                {
                    var x = Vector256.Load(row + j);
                    ok &= Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero); // false for NaN and negatives
                    acc += x;
                }
                bool good = ok.AsUInt32() == Vector256<uint>.AllBitsSet; // compare bits: an all-ones float is NaN
                double sum = Vector256.Sum(acc);
                for (; j < cols; j++)
                {
                    good &= row[j] >= 0;
                    sum += row[j];
                }
                if (!good || !double.IsFinite(sum) || Math.Abs(sum - 1.0) > tolerance)
                    Interlocked.Exchange(ref bad, 1);
            });
        }
        return bad == 0;
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
        Parallel.For(0, chunks, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (c) =>
        {
            int lo = (int)((long)rows * c / chunks);
            int hi = (int)((long)rows * (c + 1) / chunks);
            for (int r = lo; r < hi; r++)
                body(r);
        });
    }
}
