using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>The fused epilogue of a CPU GEMM (see <see cref="GemmMath"/>).</summary>
public unsafe struct CpuGemmEpilogue
{
    public float Alpha;
    public float Beta;
    public float* Bias1;
    public float Scale1;
    public float* Bias2;
    public float Scale2;
    public int Activation;
    public float* Samples;
    public ulong Seed;
    public ulong Stream;
    public long Offset;

    public static CpuGemmEpilogue Plain => new() { Alpha = 1f };
}

/// <summary>
/// Single-precision GEMM for the <c>cpu</c> backend: operands packed into panels, a
/// register-blocked micro-kernel (4 rows x 32 columns with AVX-512, 4 x 16 with AVX2),
/// K blocked for the caches, row blocks in parallel, and the epilogue (bias, activation,
/// Bernoulli sampling) applied to each finished block. Packing buffers come from a pool,
/// so a call allocates nothing after the first.
/// </summary>
public static unsafe class CpuGemm
{
    private const int MR = 4;
    private const int KC = 256;
    private const int NC = 512;

    private static int NR => Vector512.IsHardwareAccelerated ? 32 : 16;

    /// <summary>C = epilogue(op(A) op(B)); see <see cref="GemmLayout"/> for the storage of A and B.</summary>
    public static void Multiply(GemmLayout layout, float* a, float* b, float* c, int m, int n, int k, CpuGemmEpilogue e)
    {
        if (m <= 0 || n <= 0)
            return;
        if (k <= 0)
        {
            ApplyEpilogue(c, m, n, e, null);
            return;
        }
        int nr = NR;
        // op(A) as m x k rows: for TN, pack A^T once (k x m -> m x k).
        float[]? at = null;
        float* arows = a;
        if (layout == GemmLayout.TN)
        {
            at = ArrayPool<float>.Shared.Rent(m * k);
            fixed (float* pt = at)
                Transpose(a, pt, k, m);
            arows = null;
        }
        var bpack = ArrayPool<float>.Shared.Rent(KC * (NC + nr));
        // Partial sums of the K blocks go into C; beta and the epilogue are applied at the end,
        // so the old C is kept aside when beta != 0.
        float[]? old = null;
        if (e.Beta != 0f)
        {
            old = ArrayPool<float>.Shared.Rent(m * n);
            new Span<float>(c, m * n).CopyTo(old);
        }
        try
        {
            fixed (float* pat = at, pb = bpack, pold = old)
            {
                float* arow = arows != null ? arows : pat;
                var args = (A: (nint)arow, B: (nint)pb, C: (nint)c);
                for (int jc = 0; jc < n; jc += NC)
                {
                    int nc = Math.Min(NC, n - jc);
                    for (int pc = 0; pc < k; pc += KC)
                    {
                        int kc = Math.Min(KC, k - pc);
                        PackB(layout, b, pb, n, k, pc, kc, jc, nc, nr);
                        bool first = pc == 0;
                        int blocks = (m + MR - 1) / MR;
                        int panels = (nc + nr - 1) / nr;
                        if (panels >= 2 * Environment.ProcessorCount || blocks < 2 * Environment.ProcessorCount)
                        {
                            // Column panels in parallel, row blocks inside: each packed panel is
                            // reused from L1 by every row block while A streams from L2.
                            CpuRowKernels.For(panels, (long)m * nc * kc, p =>
                            {
                                int jp = p * nr;
                                int cols = Math.Min(nr, nc - jp);
                                float* panel = (float*)args.B + (long)p * kc * nr;
                                for (int blk = 0; blk < blocks; blk++)
                                {
                                    int i0 = blk * MR;
                                    Tile((float*)args.A + (long)i0 * k + pc, k, panel, kc, (float*)args.C + (long)i0 * n + jc + jp, n, Math.Min(MR, m - i0), cols, first, nr);
                                }
                            });
                        }
                        else
                        {
                            // Few panels (a narrow C): row blocks in parallel instead.
                            CpuRowKernels.For(blocks, (long)m * nc * kc, blk =>
                            {
                                int i0 = blk * MR;
                                for (int p = 0; p < panels; p++)
                                {
                                    int jp = p * nr;
                                    Tile((float*)args.A + (long)i0 * k + pc, k, (float*)args.B + (long)p * kc * nr, kc, (float*)args.C + (long)i0 * n + jc + jp, n, Math.Min(MR, m - i0), Math.Min(nr, nc - jp), first, nr);
                                }
                            });
                        }
                    }
                }
                ApplyEpilogue(c, m, n, e, pold);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bpack);
            if (at is not null)
                ArrayPool<float>.Shared.Return(at);
            if (old is not null)
                ArrayPool<float>.Shared.Return(old);
        }
    }

    /// <summary>dst (cols x rows) = src (rows x cols)^T, in cache blocks.</summary>
    public static void Transpose(float* src, float* dst, int rows, int cols)
    {
        const int T = 32;
        var args = (S: (nint)src, D: (nint)dst);
        int blocks = (rows + T - 1) / T;
        CpuRowKernels.For(blocks, (long)rows * cols, bi =>
        {
            float* s = (float*)args.S;
            float* d = (float*)args.D;
            int r0 = bi * T, r1 = Math.Min(rows, r0 + T);
            for (int c0 = 0; c0 < cols; c0 += T)
            {
                int c1 = Math.Min(cols, c0 + T);
                for (int r = r0; r < r1; r++)
                {
                    for (int c = c0; c < c1; c++)
                        d[(long)c * rows + r] = s[(long)r * cols + c];
                }
            }
        });
    }

    /// <summary>Packs op(B)[pc:pc+kc, jc:jc+nc] into panels of nr columns: panel p holds kc rows of nr floats (zero-padded).</summary>
    private static void PackB(GemmLayout layout, float* b, float* dst, int n, int k, int pc, int kc, int jc, int nc, int nr)
    {
        int panels = (nc + nr - 1) / nr;
        var args = (B: (nint)b, D: (nint)dst);
        CpuRowKernels.For(panels, (long)kc * nc, p =>
        {
            float* bb = (float*)args.B;
            float* d = (float*)args.D + (long)p * kc * nr;
            int j0 = jc + p * nr;
            int cols = Math.Min(nr, jc + nc - j0);
            for (int kk = 0; kk < kc; kk++)
            {
                float* row = d + (long)kk * nr;
                if (layout == GemmLayout.NT)
                {
                    // op(B)[p, j] = B[j, p], B stored n x k.
                    for (int j = 0; j < cols; j++)
                        row[j] = bb[(long)(j0 + j) * k + pc + kk];
                }
                else
                {
                    new Span<float>(bb + (long)(pc + kk) * n + j0, cols).CopyTo(new Span<float>(row, cols));
                }
                for (int j = cols; j < nr; j++)
                    row[j] = 0f;
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(float* a, int lda, float* panel, int kc, float* c, int ldc, int rows, int cols, bool first, int nr)
    {
        if (nr == 32)
            Kernel512(a, lda, panel, kc, c, ldc, rows, cols, first);
        else
            Kernel256(a, lda, panel, kc, c, ldc, rows, cols, first);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512(float* a, int lda, float* panel, int kc, float* c, int ldc, int rows, int cols, bool first)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default,
                         c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a;
        float* a1 = rows > 1 ? a + lda : a;
        float* a2 = rows > 2 ? a + 2L * lda : a;
        float* a3 = rows > 3 ? a + 3L * lda : a;
        for (int kk = 0; kk < kc; kk++)
        {
            var b0 = Vector512.Load(panel + kk * 32);
            var b1 = Vector512.Load(panel + kk * 32 + 16);
            var x = Vector512.Create(a0[kk]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[kk]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[kk]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[kk]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
        }
        Store512(c, cols, c00, c01, first);
        if (rows > 1)
            Store512(c + ldc, cols, c10, c11, first);
        if (rows > 2)
            Store512(c + 2L * ldc, cols, c20, c21, first);
        if (rows > 3)
            Store512(c + 3L * ldc, cols, c30, c31, first);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, int cols, Vector512<float> v0, Vector512<float> v1, bool first)
    {
        if (cols == 32)
        {
            if (!first)
            {
                v0 += Vector512.Load(c);
                v1 += Vector512.Load(c + 16);
            }
            v0.Store(c);
            v1.Store(c + 16);
            return;
        }
        float* tmp = stackalloc float[32];
        v0.Store(tmp);
        v1.Store(tmp + 16);
        for (int j = 0; j < cols; j++)
            c[j] = first ? tmp[j] : c[j] + tmp[j];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256(float* a, int lda, float* panel, int kc, float* c, int ldc, int rows, int cols, bool first)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default,
                         c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a;
        float* a1 = rows > 1 ? a + lda : a;
        float* a2 = rows > 2 ? a + 2L * lda : a;
        float* a3 = rows > 3 ? a + 3L * lda : a;
        for (int kk = 0; kk < kc; kk++)
        {
            var b0 = Vector256.Load(panel + kk * 16);
            var b1 = Vector256.Load(panel + kk * 16 + 8);
            var x = Vector256.Create(a0[kk]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[kk]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[kk]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[kk]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
        Store256(c, cols, c00, c01, first);
        if (rows > 1)
            Store256(c + ldc, cols, c10, c11, first);
        if (rows > 2)
            Store256(c + 2L * ldc, cols, c20, c21, first);
        if (rows > 3)
            Store256(c + 3L * ldc, cols, c30, c31, first);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, int cols, Vector256<float> v0, Vector256<float> v1, bool first)
    {
        if (cols == 16)
        {
            if (!first)
            {
                v0 += Vector256.Load(c);
                v1 += Vector256.Load(c + 8);
            }
            v0.Store(c);
            v1.Store(c + 8);
            return;
        }
        float* tmp = stackalloc float[16];
        v0.Store(tmp);
        v1.Store(tmp + 8);
        for (int j = 0; j < cols; j++)
            c[j] = first ? tmp[j] : c[j] + tmp[j];
    }

    /// <summary>c = act(alpha c + beta old + s1 bias1 + s2 bias2), then optional sampling, row by row (SIMD).</summary>
    private static void ApplyEpilogue(float* c, int m, int n, CpuGemmEpilogue e, float* old)
    {
        bool trivial = e.Alpha == 1f && old == null && e.Bias1 == null && e.Bias2 == null && e.Activation == 0 && e.Samples == null;
        if (trivial)
            return;
        var args = (C: (nint)c, O: (nint)old);
        CpuRowKernels.For(m, (long)m * n * 8, i =>
        {
            float* row = (float*)args.C + (long)i * n;
            float* o = args.O == 0 ? null : (float*)args.O + (long)i * n;
            int j = 0;
            var alpha = Vector256.Create(e.Alpha);
            var beta = Vector256.Create(e.Beta);
            var s1 = Vector256.Create(e.Scale1);
            var s2 = Vector256.Create(e.Scale2);
            var one = Vector256.Create(1f);
            for (; j + 8 <= n; j += 8)
            {
                var x = alpha * Vector256.Load(row + j);
                if (o != null)
                    x += beta * Vector256.Load(o + j);
                if (e.Bias1 != null)
                    x += s1 * Vector256.Load(e.Bias1 + j);
                if (e.Bias2 != null)
                    x += s2 * Vector256.Load(e.Bias2 + j);
                if (e.Activation == (int)GemmActivation.Relu)
                    x = Vector256.Max(x, Vector256<float>.Zero);
                else if (e.Activation == (int)GemmActivation.Sigmoid)
                    x = one / (one + Vector256.Exp(-x));
                x.Store(row + j);
            }
            for (; j < n; j++)
            {
                float x = e.Alpha * row[j];
                if (o != null)
                    x += e.Beta * o[j];
                if (e.Bias1 != null)
                    x += e.Scale1 * e.Bias1[j];
                if (e.Bias2 != null)
                    x += e.Scale2 * e.Bias2[j];
                row[j] = GemmMath.Activate(x, e.Activation);
            }
            if (e.Samples != null)
                Sample(row, e.Samples + (long)i * n, n, e.Seed, e.Stream, e.Offset + (long)i * n);
        });
    }

    /// <summary>s[j] = 1 if Philox uniform (seed, stream, start + j) &lt; p[j], else 0.</summary>
    public static void Sample(float* p, float* s, int n, ulong seed, ulong stream, long start)
    {
        const int chunk = 256;
        float* u = stackalloc float[chunk];
        var one = Vector256.Create(1f);
        for (int j0 = 0; j0 < n; j0 += chunk)
        {
            int len = Math.Min(chunk, n - j0);
            CpuRandom.Uniform(new Span<float>(u, len), seed, stream, start + j0);
            int j = 0;
            for (; j + 8 <= len; j += 8)
            {
                var mask = Vector256.LessThan(Vector256.Load(u + j), Vector256.Load(p + j0 + j));
                (mask & one).Store(s + j0 + j);
            }
            for (; j < len; j++)
                s[j0 + j] = u[j] < p[j0 + j] ? 1f : 0f;
        }
    }
}
