using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>Scalar arguments of the GEMM kernels (<see cref="GemmKernels"/>).</summary>
internal struct GemmArgs
{
    public int M;
    public int N;
    public int K;
    public int Layout;
    public int Activation;
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
/// Per-model strides of <see cref="GemmKernels.BatchedGemmKernel{TTiles}"/>: model z reads A, B,
/// the biases and writes C and the samples at z times these strides, and draws with seeds[z]
/// when <see cref="HasSeeds"/> is set.
/// </summary>
internal struct GemmBatchArgs
{
    public long AStride;
    public long BStride;
    public long CStride;
    public long Bias1Stride;
    public long Bias2Stride;
    public long SamplesStride;
    public int HasSeeds;
}

/// <summary>
/// The compile-time shape of <see cref="GemmKernels.RegisterGemmKernel{TTiles}"/>: a group of
/// <see cref="ThreadsX"/> x <see cref="ThreadsY"/> threads computes a (4 ThreadsY) x (4 ThreadsX)
/// block of C, each thread a 4 x 4 micro-tile in registers, over k-slices of <see cref="Depth"/>.
/// ILGPU specializes the kernel per struct, so the sizes are constants in the generated code.
/// </summary>
internal interface IGemmTiles
{
    /// <summary>Threads of a group along the columns of C (the group's x).</summary>
    int ThreadsX { get; }

    /// <summary>Threads of a group along the rows of C (the group's y).</summary>
    int ThreadsY { get; }

    /// <summary>The k-slice staged in shared memory per step.</summary>
    int Depth { get; }
}

/// <summary>The GPU shape: 16 x 16 threads, 64 x 64 blocks of C, k-slices of 16 (8.3 KB of shared memory).</summary>
internal struct GemmTiles16 : IGemmTiles
{
    public readonly int ThreadsX => 16;

    public readonly int ThreadsY => 16;

    public readonly int Depth => 16;
}

/// <summary>The CPU accelerator's shape: 4 x 4 threads (it simulates every thread), 16 x 16 blocks of C, k-slices of 8.</summary>
internal struct GemmTiles4 : IGemmTiles
{
    public readonly int ThreadsX => 4;

    public readonly int ThreadsY => 4;

    public readonly int Depth => 8;
}

/// <summary>
/// The ILGPU GEMMs with the fused epilogue of <see cref="GemmMath"/>: the register-blocked
/// kernel (OpenCL, the CPU accelerator, and CUDA without cuBLAS) and the epilogue alone (after
/// cuBLAS on CUDA).
/// </summary>
internal static class GemmKernels
{
    /// <summary>Floats of dynamic shared memory <see cref="RegisterGemmKernel{TTiles}"/> needs.</summary>
    public static int SharedFloats<TTiles>()
        where TTiles : struct, IGemmTiles
    {
        var t = default(TTiles);
        return t.Depth * (4 * t.ThreadsY + 1 + 4 * t.ThreadsX + 1);
    }

    /// <summary>
    /// C = epilogue(op(A) op(B)), register-blocked. Launch with grid (ceil(n / 4 TX),
    /// ceil(m / 4 TY)), group (TX, TY) and <see cref="SharedFloats{TTiles}"/> floats of dynamic
    /// shared memory. Each k-slice of A (4 TY x Depth) and B (Depth x 4 TX) is staged in shared
    /// memory k-major, with the threads of a warp reading consecutive addresses of global memory
    /// whichever operand is transposed (the loop's fast index follows the stored rows), and a
    /// padding column against bank conflicts. Thread (tx, ty) owns rows ty + i TY and columns
    /// tx + j TX (i, j &lt; 4), so a warp's stores to C are contiguous. Out-of-range slots are
    /// staged as zero and every thread reaches every barrier; stores are bounds-checked. Each
    /// result sums k in ascending order, as the earlier one-output-per-thread kernel did.
    /// </summary>
    public static void RegisterGemmKernel<TTiles>(
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias1, ArrayView<float> bias2, ArrayView<float> samples, GemmArgs g)
        where TTiles : struct, IGemmTiles =>
        Compute<TTiles>(a, b, c, bias1, bias2, samples, g);

    /// <summary>
    /// Many products of one shape in one launch (a grid of models): the group at grid z computes
    /// model z's C = epilogue(op(A) op(B)) exactly as <see cref="RegisterGemmKernel{TTiles}"/>
    /// computes it alone, with A, B, C, the biases and the samples moved by z times the strides of
    /// <paramref name="s"/>, and the draws keyed by seeds[z] when given. Launch with grid
    /// (ceil(n / 4 TX), ceil(m / 4 TY), models), group (TX, TY, 1).
    /// </summary>
    public static void BatchedGemmKernel<TTiles>(
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias1, ArrayView<float> bias2, ArrayView<float> samples, ArrayView<ulong> seeds, GemmArgs g, GemmBatchArgs s)
        where TTiles : struct, IGemmTiles
    {
        long z = Grid.IdxZ;
        g.AOffset += z * s.AStride;
        g.BOffset += z * s.BStride;
        g.COffset += z * s.CStride;
        if (s.HasSeeds != 0)
            g.Seed = seeds[z];
        var b1 = g.HasBias1 != 0 ? bias1.SubView(z * s.Bias1Stride, bias1.Length - (z * s.Bias1Stride)) : bias1;
        var b2 = g.HasBias2 != 0 ? bias2.SubView(z * s.Bias2Stride, bias2.Length - (z * s.Bias2Stride)) : bias2;
        var sm = g.HasSamples != 0 ? samples.SubView(z * s.SamplesStride, samples.Length - (z * s.SamplesStride)) : samples;
        Compute<TTiles>(a, b, c, b1, b2, sm, g);
    }

    /// <summary>The body of <see cref="RegisterGemmKernel{TTiles}"/>, shared with <see cref="BatchedGemmKernel{TTiles}"/> so that both do the same float operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Compute<TTiles>(
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias1, ArrayView<float> bias2, ArrayView<float> samples, GemmArgs g)
        where TTiles : struct, IGemmTiles
    {
        var tiles = default(TTiles);
        int nx = tiles.ThreadsX, ny = tiles.ThreadsY, depth = tiles.Depth;
        int bm = 4 * ny, bn = 4 * nx;
        int sa = bm + 1, sb = bn + 1, bBase = depth * sa;
        var shared = SharedMemory.GetDynamic<float>();
        int tx = Group.IdxX, ty = Group.IdxY;
        int tid = ty * nx + tx, threads = nx * ny;
        int row0 = Grid.IdxY * bm, col0 = Grid.IdxX * bn;
        bool aT = g.Layout == (int)GemmLayoutCode.TN, bT = g.Layout == (int)GemmLayoutCode.NT;
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f;
        float c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f;
        float c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f;
        float c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int p0 = 0; p0 < g.K; p0 += depth)
        {
            for (int idx = tid; idx < bm * depth; idx += threads)
            {
                // A stored m x k (NN, NT): consecutive threads take consecutive k; stored k x m (TN): consecutive rows.
                int r = aT ? idx % bm : idx / depth;
                int p = aT ? idx / bm : idx % depth;
                int gr = row0 + r, gp = p0 + p;
                float v = 0f;
                if (gr < g.M && gp < g.K)
                    v = aT ? a[g.AOffset + (long)gp * g.M + gr] : a[g.AOffset + (long)gr * g.K + gp];
                shared[p * sa + r] = v;
            }
            for (int idx = tid; idx < bn * depth; idx += threads)
            {
                // B stored k x n (NN, TN): consecutive threads take consecutive columns; stored n x k (NT): consecutive k.
                int col = bT ? idx / depth : idx % bn;
                int p = bT ? idx % depth : idx / bn;
                int gc = col0 + col, gp = p0 + p;
                float v = 0f;
                if (gc < g.N && gp < g.K)
                    v = bT ? b[g.BOffset + (long)gc * g.K + gp] : b[g.BOffset + (long)gp * g.N + gc];
                shared[bBase + p * sb + col] = v;
            }
            Group.Barrier();
            for (int q = 0; q < depth; q++)
            {
                int ai = q * sa + ty, bi = bBase + q * sb + tx;
                float a0 = shared[ai], a1 = shared[ai + ny], a2 = shared[ai + 2 * ny], a3 = shared[ai + 3 * ny];
                float b0 = shared[bi], b1 = shared[bi + nx], b2 = shared[bi + 2 * nx], b3 = shared[bi + 3 * nx];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }
        int r0 = row0 + ty, k0 = col0 + tx;
        Store(c, bias1, bias2, samples, g, r0, k0, c00);
        Store(c, bias1, bias2, samples, g, r0, k0 + nx, c01);
        Store(c, bias1, bias2, samples, g, r0, k0 + 2 * nx, c02);
        Store(c, bias1, bias2, samples, g, r0, k0 + 3 * nx, c03);
        Store(c, bias1, bias2, samples, g, r0 + ny, k0, c10);
        Store(c, bias1, bias2, samples, g, r0 + ny, k0 + nx, c11);
        Store(c, bias1, bias2, samples, g, r0 + ny, k0 + 2 * nx, c12);
        Store(c, bias1, bias2, samples, g, r0 + ny, k0 + 3 * nx, c13);
        Store(c, bias1, bias2, samples, g, r0 + 2 * ny, k0, c20);
        Store(c, bias1, bias2, samples, g, r0 + 2 * ny, k0 + nx, c21);
        Store(c, bias1, bias2, samples, g, r0 + 2 * ny, k0 + 2 * nx, c22);
        Store(c, bias1, bias2, samples, g, r0 + 2 * ny, k0 + 3 * nx, c23);
        Store(c, bias1, bias2, samples, g, r0 + 3 * ny, k0, c30);
        Store(c, bias1, bias2, samples, g, r0 + 3 * ny, k0 + nx, c31);
        Store(c, bias1, bias2, samples, g, r0 + 3 * ny, k0 + 2 * nx, c32);
        Store(c, bias1, bias2, samples, g, r0 + 3 * ny, k0 + 3 * nx, c33);
    }

    /// <summary>
    /// The epilogue alone over an m x n result that already holds alpha op(A) op(B) + beta C (as
    /// cuBLAS leaves it): x = C + s1 bias1[col] + s2 bias2[col], the activation, the draw. One
    /// thread per element; launch over m n elements.
    /// </summary>
    public static void GemmEpilogueKernel(
        Index1D i, ArrayView<float> c, ArrayView<float> bias1, ArrayView<float> bias2, ArrayView<float> samples, GemmArgs g)
    {
        int row = i / g.N, col = i - row * g.N;
        long ci = g.COffset + i;
        Finish(c, bias1, bias2, samples, g, row, col, ci, c[ci]);
    }

    /// <summary>Writes result (row, col) through the epilogue when it lies inside C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(
        ArrayView<float> c, ArrayView<float> bias1, ArrayView<float> bias2, ArrayView<float> samples, GemmArgs g, int row, int col, float acc)
    {
        if (row >= g.M || col >= g.N)
            return;
        long ci = g.COffset + (long)row * g.N + col;
        float x = g.Alpha * acc;
        if (g.Beta != 0f)
            x += g.Beta * c[ci];
        Finish(c, bias1, bias2, samples, g, row, col, ci, x);
    }

    /// <summary>The epilogue after the product: biases, activation, the store of C at <paramref name="ci"/> and the Bernoulli draw (shared by the fused kernels and the kernel that follows cuBLAS).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(
        ArrayView<float> c, ArrayView<float> bias1, ArrayView<float> bias2, ArrayView<float> samples, GemmArgs g, int row, int col, long ci, float x)
    {
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
