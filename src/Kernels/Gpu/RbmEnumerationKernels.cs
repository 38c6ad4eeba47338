using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Exact log partition function by enumeration (see <see cref="Cpu.CpuRbmEnumerationKernels"/>
/// for the formula): each configuration's value in float32, and its log-sum-exp on the device,
/// so that only two floats per group come back to the host.
/// </summary>
internal static class RbmEnumerationKernels
{
    /// <summary>
    /// Group g covers the configurations [first + g span, first + (g + 1) span) below
    /// <paramref name="total"/>, its threads striding by the group size. Each thread keeps a
    /// running (maximum, sum of exp(value - maximum)) in float32; the group takes the largest
    /// maximum (<see cref="GroupReduce.Max"/>), rescales the threads' sums to it and adds them
    /// (<see cref="GroupReduce.Sum"/>), and writes (maximum, sum) to
    /// partials[2 (slot + g)] and [2 (slot + g) + 1]. A group with no configuration writes
    /// (-inf, 0). The host adds the pairs in float64.
    /// </summary>
    public static void LogSumExpKernel(
        ArrayView<float> m, ArrayView<float> d, ArrayView<float> e, ArrayView<float> partials, int n, int k, long first, long total, int span, int slot)
    {
        var shared = SharedMemory.GetDynamic<float>();
        long start = first + (long)Grid.IdxX * span;
        float max = float.NegativeInfinity, sum = 0f;
        for (int t = Group.IdxX; t < span; t += Group.DimX)
        {
            long u = start + t;
            if (u >= total)
                break;
            float v = Value(m, d, e, u, n, k);
            if (v > max)
            {
                sum = sum * AccurateMath.Exp(max - v) + 1f;
                max = v;
            }
            else
            {
                sum += AccurateMath.Exp(v - max);
            }
        }
        float groupMax = GroupReduce.Max(shared, max);
        float scaled = max > float.NegativeInfinity ? sum * AccurateMath.Exp(max - groupMax) : 0f;
        float groupSum = GroupReduce.Sum(shared, scaled);
        if (Group.IdxX == 0)
        {
            long at = 2L * (slot + Grid.IdxX);
            partials[at] = groupMax;
            partials[at + 1] = groupSum;
        }
    }

    /// <summary>d.u + sum_i softplus(e_i + sum_j u_j M_ji) for the configuration u of <paramref name="n"/> bits.</summary>
    private static float Value(ArrayView<float> m, ArrayView<float> d, ArrayView<float> e, long u, int n, int k)
    {
        float lin = 0f;
        for (int j = 0; j < n; j++)
        {
            if (((u >> j) & 1) != 0)
                lin += d[j];
        }
        float total = lin;
        for (int i = 0; i < k; i++)
        {
            float a = e[i];
            for (int j = 0; j < n; j++)
            {
                if (((u >> j) & 1) != 0)
                    a += m[(long)j * k + i];
            }
            total += ScalarMath.Softplus(a);
        }
        return total;
    }
}
