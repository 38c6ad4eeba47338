using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// ILGPU kernels for joint tables, sample counts and element-wise information (the CPU side is
/// <see cref="Cpu.CpuTableKernels"/>). The joint entropies take one group per table and a
/// fixed-order tree in shared memory: launch with grid = tables, group = a power of two,
/// dynamic shared memory = group floats.
/// </summary>
internal static class TableKernels
{
    /// <summary>
    /// For each nx-by-ny joint table t: result[3t] = H(X) (row marginals), result[3t+1] = H(Y)
    /// (column marginals), result[3t+2] = H(X, Y), each times <paramref name="scale"/>.
    /// </summary>
    public static void JointEntropiesKernel(ArrayView<float> tables, ArrayView<float> result, int nx, int ny, float scale)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int t = Grid.IdxX;
        long start = (long)t * nx * ny;
        float hx = 0f;
        for (int i = Group.IdxX; i < nx; i += Group.DimX)
        {
            float r = 0f;
            for (int j = 0; j < ny; j++)
                r += tables[start + (long)i * ny + j];
            hx -= ScalarMath.XLogX(r);
        }
        float hy = 0f;
        for (int j = Group.IdxX; j < ny; j += Group.DimX)
        {
            float c = 0f;
            for (int i = 0; i < nx; i++)
                c += tables[start + (long)i * ny + j];
            hy -= ScalarMath.XLogX(c);
        }
        float hxy = 0f;
        int cells = nx * ny;
        for (int k = Group.IdxX; k < cells; k += Group.DimX)
            hxy -= ScalarMath.XLogX(tables[start + k]);
        hx = GroupReduce.Sum(shared, hx);
        hy = GroupReduce.Sum(shared, hy);
        hxy = GroupReduce.Sum(shared, hxy);
        if (Group.IdxX == 0)
        {
            result[3 * t] = scale * hx;
            result[3 * t + 1] = scale * hy;
            result[3 * t + 2] = scale * hxy;
        }
    }

    /// <summary>counts[x[i] * ny + y[i]] += 1 for every sample i (integer atomics: order cannot show).</summary>
    public static void JointCountKernel(Index1D i, ArrayView<int> x, ArrayView<int> y, ArrayView<int> counts, int ny) =>
        Atomic.Add(ref counts[x[i] * ny + y[i]], 1);

    /// <summary>out[i] = -scale * ln p[i] (self-information; +inf at p = 0).</summary>
    public static void SelfInformationKernel(Index1D i, ArrayView<float> p, ArrayView<float> result, float scale) =>
        result[i] = -scale * AccurateMath.Log(p[i]);
}
