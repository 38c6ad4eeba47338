using System.Runtime.CompilerServices;
namespace InfoGpu.Kernels.Cpu;

/// <summary>The AIS temperature step on the host: the same arithmetic as the ILGPU kernel, runs in parallel.</summary>
internal static class CpuAisKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void HiddenStep(float[] field, float[] visible, float[] biasDelta, float[] logWeight, float[] compensation, float[] hidden, int runs, int nv, int nh, float betaPrev, float beta, ulong seed, ulong stream, long sampleOffset)
    {
        Parallel.For(0, runs, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
        {
            var v = visible.AsSpan(r * nv, nv);
            var x = field.AsSpan(r * nh, nh);
            var h = hidden.AsSpan(r * nh, nh);
            float dot = 0f;
            for (int i = 0; i < nv; i++)
                dot += biasDelta[i] * v[i];
            float increment = (beta - betaPrev) * dot;
            long row = (long)r * nh;
            // The row's uniforms (seed, stream, sampleOffset + row + j) are drawn into h, vectorized,
            // then replaced by the Bernoulli draws.
            CpuRandomKernels.Uniform(h, seed, stream, sampleOffset + row);
            for (int j = 0; j < nh; j++)
            {
                increment += AisMath.SoftplusDifference(x[j], betaPrev, beta);
                float p = ScalarMath.Sigmoid(beta * x[j]);
                h[j] = h[j] < p ? 1f : 0f;
            }
            float sum = logWeight[r], comp = compensation[r];
            AisMath.KahanAdd(ref sum, ref comp, increment);
            logWeight[r] = sum;
            compensation[r] = comp;
        });
    }
}
