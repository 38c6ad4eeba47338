using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>Scalar arguments of <see cref="GemmKernels.GemmKernel"/>.</summary>
internal struct GemmArgs
{
    public int M;
    public int N;
    public int K;
    public int Layout;
    public int Activation;
    public int Tile;
    public int HasBias1;
    public int HasBias2;
    public int HasSamples;
    public float Alpha;
    public float Beta;
    public float Scale1;
    public float Scale2;
    public long AOffset;
    public long BOffset;
    public long COffset;
    public long SampleOffset;
    public ulong Seed;
    public ulong Stream;
}

/// <summary>
/// Tiled GEMM with shared memory and the fused epilogue of <see cref="GemmMath"/>. Launch with
/// grid (ceil(n / T), ceil(m / T)), group (T, T) and 2 T^2 floats of dynamic shared memory;
/// out-of-range tile slots hold zero, so every thread reaches every barrier.
/// </summary>
internal static class GemmKernels
{
    public static void GemmKernel(
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias1, ArrayView<float> bias2, ArrayView<float> samples, GemmArgs g)
    {
        int t = g.Tile;
        var shared = SharedMemory.GetDynamic<float>();
        int tx = Group.IdxX, ty = Group.IdxY;
        int col = Grid.IdxX * t + tx;
        int row = Grid.IdxY * t + ty;
        float acc = 0f;
        for (int p0 = 0; p0 < g.K; p0 += t)
        {
            int pa = p0 + tx;
            float av = 0f;
            if (row < g.M && pa < g.K)
                av = g.Layout == (int)GemmLayoutCode.TN ? a[g.AOffset + (long)pa * g.M + row] : a[g.AOffset + (long)row * g.K + pa];
            shared[ty * t + tx] = av;
            int pb = p0 + ty;
            float bv = 0f;
            if (pb < g.K && col < g.N)
                bv = g.Layout == (int)GemmLayoutCode.NT ? b[g.BOffset + (long)col * g.K + pb] : b[g.BOffset + (long)pb * g.N + col];
            shared[t * t + ty * t + tx] = bv;
            Group.Barrier();
            for (int q = 0; q < t; q++)
                acc += shared[ty * t + q] * shared[t * t + q * t + tx];
            Group.Barrier();
        }
        if (row < g.M && col < g.N)
        {
            long ci = g.COffset + (long)row * g.N + col;
            float x = g.Alpha * acc;
            if (g.Beta != 0f)
                x += g.Beta * c[ci];
            if (g.HasBias1 != 0)
                x += g.Scale1 * bias1[col];
            if (g.HasBias2 != 0)
                x += g.Scale2 * bias2[col];
            x = GemmMath.Activate(x, g.Activation);
            c[ci] = x;
            if (g.HasSamples != 0)
                samples[(long)row * g.N + col] = GemmMath.Sample(x, g.Seed, g.Stream, g.SampleOffset, row, col, g.N);
        }
    }
}
