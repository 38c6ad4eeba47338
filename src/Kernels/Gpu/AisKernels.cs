using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>Arguments of one AIS temperature step.</summary>
internal struct AisStepArgs
{
    public int Visible;
    public int Hidden;
    public float BetaPrev;
    public float Beta;
    public ulong Seed;
    public ulong Stream;
    public long SampleOffset;
}

/// <summary>
/// Annealed importance sampling for RBMs: the per-run work of a temperature for all runs and
/// units in one launch, group-parallel in row blocks (<see cref="GroupLayout"/>; a run is a row).
/// </summary>
internal static class AisKernels
{
    /// <summary>
    /// For run r with visible state v (row r of <paramref name="visible"/>) and x = W^T v + c
    /// (row r of <paramref name="field"/>): adds log p*_k(v) - log p*_{k-1}(v) =
    /// (beta - betaPrev) (b - b_A).v + sum_j [softplus(beta x_j) - softplus(betaPrev x_j)] to the
    /// run's Kahan-summed log weight, and draws h_j ~ Bernoulli(sigmoid(beta x_j)) with Philox
    /// counter SampleOffset + r * Hidden + j. Row blocks: <paramref name="lanes"/> threads per
    /// run share its visible and hidden units (each lane adds its units' terms, then a
    /// fixed-order segment sum gives the increment: the order differs from the <c>cpu</c> twin's
    /// serial sum, the draws are the same); grid = ceil(runs / (group size / lanes)), shared
    /// memory = group size floats.
    /// </summary>
    public static void HiddenStepKernel(
        ArrayView<float> field, ArrayView<float> visible, ArrayView<float> biasDelta,
        ArrayView<float> logWeight, ArrayView<float> compensation, ArrayView<float> hidden, int runs, int lanes, AisStepArgs args)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int run = GroupLayout.BlockRow(lanes);
        int lane = GroupLayout.Lane(lanes);
        float increment = 0f;
        if (run < runs)
        {
            long vRow = (long)run * args.Visible;
            long hRow = (long)run * args.Hidden;
            float dot = 0f;
            for (int i = lane; i < args.Visible; i += lanes)
                dot += biasDelta[i] * visible[vRow + i];
            increment = (args.Beta - args.BetaPrev) * dot;
            for (int j = lane; j < args.Hidden; j += lanes)
            {
                float x = field[hRow + j];
                increment += AisMath.SoftplusDifference(x, args.BetaPrev, args.Beta);
                float p = ScalarMath.Sigmoid(args.Beta * x);
                hidden[hRow + j] = Philox.Uniform(args.Seed, args.Stream, (ulong)(args.SampleOffset + hRow + j)) < p ? 1f : 0f;
            }
        }
        float total = GroupReduce.SegmentSum(shared, increment, lanes);
        if (run < runs && lane == 0)
        {
            float sum = logWeight[run];
            float comp = compensation[run];
            AisMath.KahanAdd(ref sum, ref comp, total);
            logWeight[run] = sum;
            compensation[run] = comp;
        }
    }
}
