using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>
/// The CPU path of <see cref="Gpu.RbmKernels"/>: the same formulas (<see cref="RbmMath"/>),
/// SIMD over the columns and rows in parallel. Summation orders match the ILGPU kernels.
/// </summary>
internal static unsafe class CpuRbmKernels
{
    /// <summary>See <see cref="Gpu.RbmKernels.ColumnStatisticsKernel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnStatistics(Span<float> x, long offset, int rows, int cols, int split, Span<float> sums, float scaleFirst)
    {
        var model = sums[..cols];
        var data = sums.Slice(cols, cols);
        model.Clear();
        data.Clear();
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice((int)(offset + (long)r * cols), cols);
            if (r < split)
            {
                TensorPrimitives.Add(model, row, model);
                if (scaleFirst != 1f)
                    TensorPrimitives.Multiply(row, scaleFirst, row);
            }
            else
            {
                TensorPrimitives.Add(data, row, data);
            }
        }
    }

    /// <summary>See the weight part of <see cref="Gpu.RbmKernels.UpdateKernel"/>; rows of W in parallel, SIMD along a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UpdateWeights(Span<float> weights, Span<float> velocity, ReadOnlySpan<float> gradient, ReadOnlySpan<float> visibleSums, ReadOnlySpan<float> q, RbmUpdateArgs u)
    {
        fixed (float* pw = weights, pv = velocity, pg = gradient, ps = visibleSums, pq = q)
        {
            var a = (W: (nint)pw, V: (nint)pv, G: (nint)pg, S: (nint)ps, Q: (nint)pq);
            int nh = u.Hidden;
            CpuRowKernels.For(u.Visible, (long)u.Visible * nh * 4, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (i) =>
            {
                float* w = (float*)a.W + (long)i * nh;
                float* v = (float*)a.V + (long)i * nh;
                float* g = (float*)a.G + (long)i * nh;
                float* q = (float*)a.Q;
                bool sparse = u.SparsityCost > 0f;
                float sv = sparse ? u.SparsityCost * ((float*)a.S)[u.Visible + i] * u.PositiveScale : 0f;
                var wd = Vector256.Create(u.WeightDecay);
                var lr = Vector256.Create(u.LearningRate);
                var mom = Vector256.Create(u.Momentum);
                var svv = Vector256.Create(sv);
                var t = Vector256.Create(u.SparsityTarget);
                int j = 0;
                for (; j + 8 <= nh; j += 8)
                {
                    var wj = Vector256.Load(w + j);
                    var gj = Vector256.Load(g + j) - wd * wj;
                    if (sparse)
                        gj -= svv * (Vector256.Load(q + j) - t);
                    var vj = mom * Vector256.Load(v + j) + lr * gj;
                    vj.Store(v + j);
                    (wj + vj).Store(w + j);
                }
                for (; j < nh; j++)
                {
                    float gj = g[j] - u.WeightDecay * w[j];
                    if (sparse)
                        gj -= sv * (q[j] - u.SparsityTarget);
                    w[j] = RbmMath.Step(w[j], ref v[j], gj, u.LearningRate, u.Momentum);
                }
            });
        }
    }

    /// <summary>The bias part of <see cref="Gpu.RbmKernels.UpdateKernel"/> (one layer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UpdateBias(Span<float> bias, Span<float> velocity, ReadOnlySpan<float> sums, Span<float> q, int n, bool hidden, RbmUpdateArgs u)
    {
        for (int j = 0; j < n; j++)
        {
            float mean = sums[n + j] * u.PositiveScale;
            float g = mean - sums[j] * u.NegativeScale;
            if (hidden && u.SparsityCost > 0f)
            {
                float qj = u.SparsityDecay * q[j] + (1f - u.SparsityDecay) * mean;
                q[j] = qj;
                g -= u.SparsityCost * (qj - u.SparsityTarget);
            }
            bias[j] = RbmMath.Step(bias[j], ref velocity[j], g, u.LearningRate, u.Momentum);
        }
    }

    /// <summary>See <see cref="Gpu.RbmKernels.FreeEnergyKernel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FreeEnergy(float[] v, float[] act, float[] visibleBias, float[] result, int rows, int nv, int nh)
    {
        CpuRowKernels.For(rows, (long)rows * (nv + 8 * nh), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
        {
            float f = 0f;
            int vr = r * nv;
            for (int i = 0; i < nv; i++)
                f -= visibleBias[i] * v[vr + i];
            int ar = r * nh;
            for (int j = 0; j < nh; j++)
                f -= ScalarMath.Softplus(act[ar + j]);
            result[r] = f;
        });
    }

    /// <summary>See <see cref="Gpu.RbmKernels.SquaredErrorKernel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SquaredError(float[] v, float[] p, float[] result, int rows, int cols)
    {
        CpuRowKernels.For(rows, (long)rows * cols, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
        {
            float s = 0f;
            int at = r * cols;
            for (int i = 0; i < cols; i++)
            {
                float d = v[at + i] - p[at + i];
                s += d * d;
            }
            result[r] = s;
        });
    }

    /// <summary>See <see cref="Gpu.RbmKernels.FlipFreeEnergyKernel"/>; <paramref name="pairs"/> results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FlipFreeEnergy(float[] v, float[] act, float[] weights, float[] visibleBias, int[] flips, float[] result, int pairs, int nv, int nh, bool allBits)
    {
        CpuRowKernels.For(pairs, (long)pairs * nh * 8, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p) =>
        {
            int r = allBits ? p / nv : p;
            int i = allBits ? p - r * nv : flips[p];
            float s = 1f - 2f * v[r * nv + i];
            float d = -s * visibleBias[i];
            int ar = r * nh, wr = i * nh;
            for (int j = 0; j < nh; j++)
                d -= RbmMath.SoftplusDifference(act[ar + j], s * weights[wr + j]);
            result[p] = d;
        });
    }
}

