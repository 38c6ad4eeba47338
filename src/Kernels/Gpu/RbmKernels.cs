using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Kernels of Bernoulli-RBM training besides the half-sweeps (which are GEMMs with the
/// sigmoid + Bernoulli epilogue): batch gathering, the bias statistics, the fused momentum /
/// weight-decay / sparsity updates and the per-row monitors. Weights are nv x nh row-major.
/// The CPU twins are in <see cref="Cpu.CpuRbmKernels"/>.
/// </summary>
internal static class RbmKernels
{
    /// <summary>
    /// Column sums of the stacked rows x[offset..] (rows x cols): sums[j] over the first
    /// <paramref name="split"/> rows (the model's samples), sums[cols + j] over the rest (the
    /// data); then, when <paramref name="scaleFirst"/> is not 1, the first rows are multiplied
    /// by it in place (so one GEMM of the stack gives the difference of the two correlations).
    /// </summary>
    public static void ColumnStatisticsKernel(Index1D j, ArrayView<float> x, long offset, int rows, int cols, int split, ArrayView<float> sums, float scaleFirst)
    {
        float model = 0f, data = 0f;
        for (int r = 0; r < split; r++)
        {
            long at = offset + (long)r * cols + j;
            float v = x[at];
            model += v;
            if (scaleFirst != 1f)
                x[at] = v * scaleFirst;
        }
        for (int r = split; r < rows; r++)
            data += x[offset + (long)r * cols + j];
        sums[j] = model;
        sums[cols + j] = data;
    }

    /// <summary>The weight update of <see cref="RbmMath"/>: g = G - wd W - cost (q_j - t) vbar_i; momentum step.</summary>
    public static void UpdateWeightsKernel(Index1D index, ArrayView<float> weights, ArrayView<float> velocity, ArrayView<float> gradient, ArrayView<float> visibleSums, ArrayView<float> q, RbmUpdateArgs u)
    {
        int i = index.X / u.Hidden;
        int j = index.X - i * u.Hidden;
        float w = weights[index];
        float g = gradient[index] - u.WeightDecay * w;
        if (u.SparsityCost > 0f)
            g -= u.SparsityCost * (q[j] - u.SparsityTarget) * visibleSums[u.Visible + i] * u.PositiveScale;
        float vel = velocity[index];
        weights[index] = RbmMath.Step(w, ref vel, g, u.LearningRate, u.Momentum);
        velocity[index] = vel;
    }

    /// <summary>
    /// The bias update of <see cref="RbmMath"/> from the column sums (model sums at [j], data sums at
    /// [n + j]); for the hidden layer (<paramref name="hidden"/> = 1) also the running mean q and the sparsity term.
    /// </summary>
    public static void UpdateBiasKernel(Index1D j, ArrayView<float> bias, ArrayView<float> velocity, ArrayView<float> sums, ArrayView<float> q, int n, int hidden, RbmUpdateArgs u)
    {
        float mean = sums[n + j] * u.PositiveScale;
        float g = mean - sums[j] * u.NegativeScale;
        if (hidden != 0 && u.SparsityCost > 0f)
        {
            float qj = u.SparsityDecay * q[j] + (1f - u.SparsityDecay) * mean;
            q[j] = qj;
            g -= u.SparsityCost * (qj - u.SparsityTarget);
        }
        float vel = velocity[j];
        bias[j] = RbmMath.Step(bias[j], ref vel, g, u.LearningRate, u.Momentum);
        velocity[j] = vel;
    }

    /// <summary>F(v) = -b.v - sum_j softplus(act_j) per row, with act = v W + c already computed.</summary>
    public static void FreeEnergyKernel(Index1D r, ArrayView<float> v, ArrayView<float> act, ArrayView<float> visibleBias, ArrayView<float> result, int nv, int nh)
    {
        float f = 0f;
        long vr = (long)r.X * nv;
        for (int i = 0; i < nv; i++)
            f -= visibleBias[i] * v[vr + i];
        long ar = (long)r.X * nh;
        for (int j = 0; j < nh; j++)
            f -= ScalarMath.Softplus(act[ar + j]);
        result[r] = f;
    }

    /// <summary>result[r] = sum_i (v[r, i] - p[r, i])^2.</summary>
    public static void SquaredErrorKernel(Index1D r, ArrayView<float> v, ArrayView<float> p, ArrayView<float> result, int cols)
    {
        float s = 0f;
        long at = (long)r.X * cols;
        for (int i = 0; i < cols; i++)
        {
            float d = v[at + i] - p[at + i];
            s += d * d;
        }
        result[r] = s;
    }

    /// <summary>
    /// F(v~) - F(v) where v~ is row r of v with bit i flipped, from act = v W + c:
    /// -s b_i - sum_j (softplus(act_j + s W[i, j]) - softplus(act_j)), s = 1 - 2 v_i. With
    /// <paramref name="allBits"/> = 0, pair p is row p and bit flips[p]; otherwise row p / nv and bit p mod nv.
    /// </summary>
    public static void FlipFreeEnergyKernel(Index1D p, ArrayView<float> v, ArrayView<float> act, ArrayView<float> weights, ArrayView<float> visibleBias, ArrayView<int> flips, ArrayView<float> result, int nv, int nh, int allBits)
    {
        int r = allBits != 0 ? p.X / nv : p.X;
        int i = allBits != 0 ? p.X - r * nv : flips[p];
        float s = 1f - 2f * v[(long)r * nv + i];
        float d = -s * visibleBias[i];
        long ar = (long)r * nh;
        long wr = (long)i * nh;
        for (int j = 0; j < nh; j++)
            d -= RbmMath.SoftplusDifference(act[ar + j], s * weights[wr + j]);
        result[p] = d;
    }
}

