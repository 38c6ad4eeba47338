using System.Runtime.CompilerServices;
namespace InfoGpu.Kernels.Cpu;

/// <summary>The CPU path of <see cref="Gpu.BoltzmannKernels"/>: the same draws, chains in parallel.</summary>
internal static unsafe class CpuBoltzmannKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gibbs(
        Span<float> states, ReadOnlySpan<float> weights, ReadOnlySpan<float> biases,
        int chains, int units, int clamped, int steps, long stepOffset, ulong seed, ulong stream, int firstChain = 0)
    {
        fixed (float* ps = states, pw = weights, pb = biases)
        {
            var args = (S: (nint)ps, W: (nint)pw, B: (nint)pb);
            CpuRowKernels.For(chains, (long)chains * steps * units, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (c) =>
            {
                float* s = (float*)args.S + (long)c * units;
                float* w = (float*)args.W;
                float* b = (float*)args.B;
                int free = units - clamped;
                for (int t = 0; t < steps; t++)
                {
                    var r = Philox.Block(seed, stream, ((ulong)(uint)(firstChain + c) << 32) | (ulong)(stepOffset + t));
                    int i = clamped + BoltzmannMath.PickUnit(Philox.ToUniform(r.X0), free);
                    float field = b[i];
                    float* row = w + (long)i * units;
                    for (int j = 0; j < units; j++)
                        field += row[j] * s[j];
                    s[i] = Philox.ToUniform(r.X1) < ScalarMath.Sigmoid(field) ? 1f : 0f;
                }
            });
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PairStatistics(ReadOnlySpan<float> states, Span<float> result, int units, int chains)
    {
        for (int i = 0; i < units; i++)
        {
            for (int j = 0; j < units; j++)
            {
                float s = 0f;
                for (int c = 0; c < chains; c++)
                    s += states[c * units + i] * states[c * units + j];
                result[i * units + j] = s;
            }
        }
    }
}
