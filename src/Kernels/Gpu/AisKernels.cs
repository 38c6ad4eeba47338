using ILGPU;

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

/// <summary>Annealed importance sampling for RBMs: one thread per AIS run.</summary>
internal static class AisKernels
{
    /// <summary>
    /// For run r with visible state v (row r of <paramref name="visible"/>) and x = W^T v + c
    /// (row r of <paramref name="field"/>): adds log p*_k(v) - log p*_{k-1}(v) =
    /// (beta - betaPrev) (b - b_A).v + sum_j [softplus(beta x_j) - softplus(betaPrev x_j)] to the
    /// run's Kahan-summed log weight, and draws h_j ~ Bernoulli(sigmoid(beta x_j)) with Philox
    /// counter SampleOffset + r * Hidden + j.
    /// </summary>
    public static void HiddenStepKernel(
        Index1D run, ArrayView<float> field, ArrayView<float> visible, ArrayView<float> biasDelta,
        ArrayView<float> logWeight, ArrayView<float> compensation, ArrayView<float> hidden, AisStepArgs args)
    {
        long vRow = (long)run.X * args.Visible;
        long hRow = (long)run.X * args.Hidden;
        float dot = 0f;
        for (int i = 0; i < args.Visible; i++)
            dot += biasDelta[i] * visible[vRow + i];
        float increment = (args.Beta - args.BetaPrev) * dot;
        for (int j = 0; j < args.Hidden; j++)
        {
            float x = field[hRow + j];
            increment += AisMath.SoftplusDifference(x, args.BetaPrev, args.Beta);
            float p = ScalarMath.Sigmoid(args.Beta * x);
            hidden[hRow + j] = Philox.Uniform(args.Seed, args.Stream, (ulong)(args.SampleOffset + hRow + j)) < p ? 1f : 0f;
        }
        float sum = logWeight[run.X];
        float comp = compensation[run.X];
        AisMath.KahanAdd(ref sum, ref comp, increment);
        logWeight[run.X] = sum;
        compensation[run.X] = comp;
    }
}
