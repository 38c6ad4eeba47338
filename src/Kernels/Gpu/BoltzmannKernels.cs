using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// Kernels of the general (fully connected) Boltzmann machine: single-site Gibbs sampling,
/// one thread per chain, units updated one at a time within each chain (the chapter's
/// algorithm), and pair statistics &lt;s_i s_j&gt; over chains in a fixed order.
/// </summary>
internal static class BoltzmannKernels
{
    /// <summary>
    /// <paramref name="steps"/> single-site updates of every chain: pick a free unit i uniformly
    /// (units below <paramref name="clamped"/> stay fixed), set s_i = 1 with probability
    /// sigmoid(a_i + sum_j W_ij s_j). Draws are Philox block (chain &lt;&lt; 32 | step) of (seed, stream), the chain numbered from
    /// <paramref name="firstChain"/> (a shard of a larger set of chains draws as that set would).
    /// </summary>
    public static void GibbsKernel(
        Index1D chain, ArrayView<float> states, ArrayView<float> weights, ArrayView<float> biases,
        int units, int clamped, int steps, long stepOffset, ulong seed, ulong stream, int firstChain)
    {
        int free = units - clamped;
        long start = (long)chain.X * units;
        for (int t = 0; t < steps; t++)
        {
            var r = Philox.Block(seed, stream, ((ulong)(uint)(firstChain + chain.X) << 32) | (ulong)(stepOffset + t));
            int i = clamped + BoltzmannMath.PickUnit(Philox.ToUniform(r.X0), free);
            float field = biases[i];
            long row = (long)i * units;
            for (int j = 0; j < units; j++)
                field += weights[row + j] * states[start + j];
            states[start + i] = Philox.ToUniform(r.X1) < ScalarMath.Sigmoid(field) ? 1f : 0f;
        }
    }

    /// <summary>result[i, j] = sum over chains of s_i s_j (chain order fixed); result[i, i] = sum of s_i.</summary>
    public static void PairStatisticsKernel(Index2D ij, ArrayView<float> states, ArrayView<float> result, int units, int chains)
    {
        float s = 0f;
        for (int c = 0; c < chains; c++)
            s += states[(long)c * units + ij.X] * states[(long)c * units + ij.Y];
        result[ij.X * units + ij.Y] = s;
    }
}
