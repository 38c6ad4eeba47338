using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Row-wise ILGPU kernels: one group per row, threads stride over the columns, then a
/// fixed-order tree in shared memory, so a result is bit-identical from run to run.
/// Launch with grid = rows, group = a power of two, dynamic shared memory = group floats.
/// </summary>
internal static class RowKernels
{
    /// <summary>
    /// dst[dstOffset + r cols + c] = src[order[start + r] cols + c] for r &lt; count (one thread per
    /// element): a mini-batch gathered from a data set in a given order (RBM and VAE training).
    /// </summary>
    public static void GatherRowsKernel(Index1D index, ArrayView<float> src, ArrayView<int> order, ArrayView<float> dst, int start, int cols, long dstOffset)
    {
        int r = index.X / cols;
        int c = index.X - r * cols;
        dst[dstOffset + index.X] = src[(long)order[start + r] * cols + c];
    }

    /// <summary>
    /// <see cref="GatherRowsKernel"/> for a grid of models (index.Y = model z): model z's rows
    /// come in its own order, order[z orderStride + start + r], and go to
    /// dst[dstOffset + z dstStride + r cols + c]; every model reads the same src.
    /// </summary>
    public static void GatherRowsBatchedKernel(Index2D index, ArrayView<float> src, ArrayView<int> order, ArrayView<float> dst, int start, int cols, long dstOffset, long dstStride, long orderStride)
    {
        int r = index.X / cols;
        int c = index.X - r * cols;
        long z = index.Y;
        dst[dstOffset + z * dstStride + index.X] = src[(long)order[z * orderStride + start + r] * cols + c];
    }

    /// <summary>result[r] = scale * sum_j term(p[r, j], q[r, j]).</summary>
    public static void RowReduceKernel<TTerm>(
        ArrayView<float> p, ArrayView<float> q, ArrayView<float> result, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        var shared = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long start = (long)row * cols;
        float acc = 0f;
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
            acc += term.Apply(p[start + j], q[start + j]);
        float total = GroupReduce.Sum(shared, acc);
        if (Group.IdxX == 0)
            result[row] = scale * total;
    }

    /// <summary>
    /// Per-row loss from logits: plain cross-entropy (mode 0), label smoothing with eps/(K-1)
    /// on the wrong classes (mode 1) or eps/K over all classes (mode 2). See <see cref="LogitMath.Loss(float, float, int, float, int)"/>.
    /// </summary>
    public static void LogitLossKernel(
        ArrayView<float> logits, ArrayView<int> targets, ArrayView<float> losses, int cols, float epsilon, int mode)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long start = (long)row * cols;
        float m = float.NegativeInfinity;
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
            m = XMathMax(m, logits[start + j]);
        float max = GroupReduce.Max(shared, m);
        float e = 0f, ties = 0f;
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
        {
            float d = logits[start + j] - max;
            if (d < 0f)
                e += AccurateMath.Exp(d);
            else
                ties += 1f;
        }
        float rest = GroupReduce.Sum(shared, e);
        float logSum = LogitMath.LogSumExpShifted(rest, GroupReduce.Sum(shared, ties));
        float s = 0f;
        if (mode != 0)
        {
            for (int j = Group.IdxX; j < cols; j += Group.DimX)
                s += max - logits[start + j];
            s = GroupReduce.Sum(shared, s) + cols * logSum;
        }
        if (Group.IdxX == 0)
        {
            float nllTarget = (max - logits[start + targets[row]]) + logSum;
            losses[row] = LogitMath.Loss(nllTarget, s, cols, epsilon, mode);
        }
    }

    /// <summary>y[r, :] = softmax(x[r, :]) or, with <paramref name="logOutput"/> != 0, log-softmax.</summary>
    public static void SoftmaxKernel(ArrayView<float> x, ArrayView<float> y, int cols, int logOutput)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int row = Grid.IdxX;
        long start = (long)row * cols;
        float m = float.NegativeInfinity;
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
            m = XMathMax(m, x[start + j]);
        float max = GroupReduce.Max(shared, m);
        float e = 0f;
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
            e += AccurateMath.Exp(x[start + j] - max);
        float sum = GroupReduce.Sum(shared, e);
        float logSum = AccurateMath.Log(sum);
        for (int j = Group.IdxX; j < cols; j += Group.DimX)
        {
            float z = x[start + j] - max;
            y[start + j] = logOutput != 0 ? z - logSum : AccurateMath.Exp(z) / sum;
        }
    }

    private static float XMathMax(float a, float b) => a > b ? a : b;
}
