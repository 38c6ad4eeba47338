using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>One thread per configuration of the enumerated layer: see <see cref="Cpu.CpuRbmEnumerationKernels"/>.</summary>
internal static class RbmEnumerationKernels
{
    /// <summary>values[u] = d.u + sum_i softplus(e_i + sum_j u_j M_ji) for the configuration u of <paramref name="n"/> bits (offset by <paramref name="first"/>).</summary>
    public static void ConfigurationValueKernel(
        Index1D index, ArrayView<float> m, ArrayView<float> d, ArrayView<float> e, ArrayView<float> values, int n, int k, long first)
    {
        long u = first + index.X;
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
        values[index] = total;
    }
}
