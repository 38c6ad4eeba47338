using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>The fused epilogue of a CPU GEMM (see <see cref="GemmMath"/>).</summary>
internal unsafe struct CpuGemmEpilogue
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
/// Single-precision GEMM for the <c>cpu</c> backend. Both operands are packed, whatever their
/// layout: op(B) into panels of NR columns (a K block of them stays in L2), op(A) into
/// micro-panels of MR rows (each stays in L1 while it sweeps the B panels). The register-blocked
/// micro-kernel holds an MR x NR tile of C in registers: 8 x 32 with AVX-512 (16 accumulators),
/// 6 x 16 with AVX2 (12). Row blocks of A run in parallel; the epilogue (bias, activation,
/// Bernoulli sampling) is applied to C at the end. Packing buffers come from a pool, so a call
/// allocates nothing after the first.
/// </summary>
/// <remarks>
/// Every element of C is the sum of its K blocks in order, each block a sequential chain of
/// fused multiply-adds over k, so results do not depend on the number of threads.
/// </remarks>
internal static unsafe class CpuGemmKernels
{
    /// <summary>Largest K block; k is split into equal blocks no longer than this.</summary>
    private const int KCMax = 1024;

    /// <summary>Widest column block packed at once.</summary>
    private const int NC = 4096;

    /// <summary>A work item covers this many row tiles ...</summary>
    private const int RowTilesPerItem = 8;

    /// <summary>... times this many column panels.</summary>
    private const int PanelsPerItem = 4;

    private static bool Wide => Vector512.IsHardwareAccelerated;

    private static int NR => Wide ? 32 : 16;

    private static int MR => Wide ? 8 : 6;

    /// <summary>C = epilogue(op(A) op(B)); see <see cref="GemmLayoutCode"/> for the storage of A and B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(GemmLayoutCode layout, float* a, float* b, float* c, int m, int n, int k, CpuGemmEpilogue e)
    {
        if (m <= 0 || n <= 0)
            return;
        if (k <= 0)
        {
            ApplyEpilogue(c, m, n, e, null);
            return;
        }
        int nr = NR, mr = MR;
        int kBlocks = (k + KCMax - 1) / KCMax;
        int kcMax = (k + kBlocks - 1) / kBlocks;
        int tiles = (m + mr - 1) / mr;
        int ncMax = Math.Min(NC, (n + nr - 1) / nr * nr);
        var bpack = ArrayPool<float>.Shared.Rent(kcMax * ncMax);
        var apack = ArrayPool<float>.Shared.Rent(tiles * mr * kcMax);
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
            fixed (float* pa = apack, pb = bpack, pold = old)
            {
                var args = (A: (nint)a, B: (nint)b, C: (nint)c, PA: (nint)pa, PB: (nint)pb);
                int rowItems = (tiles + RowTilesPerItem - 1) / RowTilesPerItem;
                for (int jc = 0; jc < n; jc += NC)
                {
                    int nc = Math.Min(NC, n - jc);
                    int panels = (nc + nr - 1) / nr;
                    int colItems = (panels + PanelsPerItem - 1) / PanelsPerItem;
                    for (int pc = 0; pc < k; pc += kcMax)
                    {
                        int kc = Math.Min(kcMax, k - pc);
                        bool first = pc == 0;
                        // Pack every B panel and every A row tile of this block (in parallel), then run
                        // (row tiles x panels) items in parallel: a B panel stays in L2 while the row
                        // tiles of its item sweep it, each A micro-panel in L1 for the length of a tile.
                        CpuRowKernels.For(panels + tiles, (long)kc * (nc + m), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (i) =>
                        {
                            if (i < panels)
                                PackB(layout, (float*)args.B, (float*)args.PB, n, k, pc, kc, jc, nc, nr, i);
                            else
                                PackA(layout, (float*)args.A, (float*)args.PA, m, k, i - panels, pc, kc, mr);
                        });
                        CpuRowKernels.For(rowItems * colItems, (long)m * nc * kc, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (item) =>
                        {
                            int t0 = item / colItems * RowTilesPerItem;
                            int t1 = Math.Min(tiles, t0 + RowTilesPerItem);
                            int p0 = item % colItems * PanelsPerItem;
                            int p1 = Math.Min(panels, p0 + PanelsPerItem);
                            for (int p = p0; p < p1; p++)
                            {
                                int jp = p * nr;
                                int cols = Math.Min(nr, nc - jp);
                                float* panel = (float*)args.PB + (long)p * kc * nr;
                                for (int t = t0; t < t1; t++)
                                {
                                    int i0 = t * mr;
                                    float* cTile = (float*)args.C + (long)i0 * n + jc + jp;
                                    Tile((float*)args.PA + (long)t * kc * mr, panel, kc, cTile, n, Math.Min(mr, m - i0), cols, first);
                                }
                            }
                        });
                    }
                }
                ApplyEpilogue(c, m, n, e, pold);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bpack);
            ArrayPool<float>.Shared.Return(apack);
            if (old is not null)
                ArrayPool<float>.Shared.Return(old);
        }
    }

    /// <summary>
    /// Packs row tile t of op(A)[:, pc:pc+kc] (rows t mr .. t mr + mr - 1) into its micro-panel:
    /// for each k, the tile's mr values side by side (zeros past row m).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(GemmLayoutCode layout, float* a, float* dst, int m, int k, int t, int pc, int kc, int mr)
    {
        float* d = dst + (long)t * kc * mr;
        int i0 = t * mr;
        int rows = Math.Min(mr, m - i0);
        if (layout == GemmLayoutCode.TN)
        {
            // op(A)[i, p] = A[p, i], A stored k x m: each k gives the tile's values contiguously.
            for (int kk = 0; kk < kc; kk++)
            {
                float* src = a + (long)(pc + kk) * m + i0;
                float* row = d + (long)kk * mr;
                int i = 0;
                for (; i < rows; i++)
                    row[i] = src[i];
                for (; i < mr; i++)
                    row[i] = 0f;
            }
            return;
        }
        for (int i = 0; i < mr; i++)
        {
            if (i < rows)
            {
                float* src = a + (long)(i0 + i) * k + pc;
                for (int kk = 0; kk < kc; kk++)
                    d[(long)kk * mr + i] = src[kk];
            }
            else
            {
                for (int kk = 0; kk < kc; kk++)
                    d[(long)kk * mr + i] = 0f;
            }
        }
    }

    /// <summary>dst (cols x rows) = src (rows x cols)^T, in cache blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(float* src, float* dst, int rows, int cols)
    {
        const int T = 32;
        var args = (S: (nint)src, D: (nint)dst);
        int blocks = (rows + T - 1) / T;
        CpuRowKernels.For(blocks, (long)rows * cols, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (bi) =>
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

    /// <summary>Packs panel p of op(B)[pc:pc+kc, jc:jc+nc]: kc rows of nr floats (zero-padded past nc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(GemmLayoutCode layout, float* b, float* dst, int n, int k, int pc, int kc, int jc, int nc, int nr, int p)
    {
        float* d = dst + (long)p * kc * nr;
        int j0 = jc + p * nr;
        int cols = Math.Min(nr, jc + nc - j0);
        if (layout == GemmLayoutCode.NT)
        {
            // op(B)[p, j] = B[j, p], B stored n x k: read each column's k run once.
            for (int j = 0; j < cols; j++)
            {
                float* src = b + (long)(j0 + j) * k + pc;
                for (int kk = 0; kk < kc; kk++)
                    d[(long)kk * nr + j] = src[kk];
            }
            if (cols < nr)
            {
                for (int kk = 0; kk < kc; kk++)
                    new Span<float>(d + (long)kk * nr + cols, nr - cols).Clear();
            }
            return;
        }
        for (int kk = 0; kk < kc; kk++)
        {
            float* row = d + (long)kk * nr;
            new Span<float>(b + (long)(pc + kk) * n + j0, cols).CopyTo(new Span<float>(row, cols));
            if (cols < nr)
                new Span<float>(row + cols, nr - cols).Clear();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(float* a, float* panel, int kc, float* c, int ldc, int rows, int cols, bool first)
    {
        if (Wide)
            Kernel512(a, panel, kc, c, ldc, rows, cols, first);
        else
            Kernel256(a, panel, kc, c, ldc, rows, cols, first);
    }

    /// <summary>An 8 x 32 tile of C from a packed A micro-panel (8 values per k) and a B panel (32 per k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512(float* a, float* panel, int kc, float* c, int ldc, int rows, int cols, bool first)
    {
        // Allocated before the accumulators are live: the stack buffer is zeroed by a call, and any
        // call while they are live makes the JIT spill them inside the loop (then no call until stored).
        float* t = stackalloc float[8 * 32];
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default,
                         c20 = default, c21 = default, c30 = default, c31 = default,
                         c40 = default, c41 = default, c50 = default, c51 = default,
                         c60 = default, c61 = default, c70 = default, c71 = default;
        for (int kk = 0; kk < kc; kk++)
        {
            var b0 = Vector512.Load(panel);
            var b1 = Vector512.Load(panel + 16);
            var x = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            a += 8;
            panel += 32;
        }
        c00.Store(t); c01.Store(t + 16); c10.Store(t + 32); c11.Store(t + 48);
        c20.Store(t + 64); c21.Store(t + 80); c30.Store(t + 96); c31.Store(t + 112);
        c40.Store(t + 128); c41.Store(t + 144); c50.Store(t + 160); c51.Store(t + 176);
        c60.Store(t + 192); c61.Store(t + 208); c70.Store(t + 224); c71.Store(t + 240);
        Merge(t, 32, c, ldc, rows, cols, first);
    }

    /// <summary>C tile (rows x cols of it) = t, or += t after the first K block; t holds nr floats per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Merge(float* t, int nr, float* c, int ldc, int rows, int cols, bool first)
    {
        for (int i = 0; i < rows; i++)
        {
            float* src = t + i * nr;
            float* dst = c + (long)i * ldc;
            int j = 0;
            for (; j + 8 <= cols; j += 8)
            {
                var v = Vector256.Load(src + j);
                (first ? v : v + Vector256.Load(dst + j)).Store(dst + j);
            }
            for (; j < cols; j++)
                dst[j] = first ? src[j] : dst[j] + src[j];
        }
    }

    /// <summary>A 6 x 16 tile of C (AVX2): 12 accumulators, two B vectors and a broadcast fit the 16 registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256(float* a, float* panel, int kc, float* c, int ldc, int rows, int cols, bool first)
    {
        float* t = stackalloc float[6 * 16];
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default,
                         c20 = default, c21 = default, c30 = default, c31 = default,
                         c40 = default, c41 = default, c50 = default, c51 = default;
        for (int kk = 0; kk < kc; kk++)
        {
            var b0 = Vector256.Load(panel);
            var b1 = Vector256.Load(panel + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(x, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(x, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            a += 6;
            panel += 16;
        }
        c00.Store(t); c01.Store(t + 8); c10.Store(t + 16); c11.Store(t + 24);
        c20.Store(t + 32); c21.Store(t + 40); c30.Store(t + 48); c31.Store(t + 56);
        c40.Store(t + 64); c41.Store(t + 72); c50.Store(t + 80); c51.Store(t + 88);
        Merge(t, 16, c, ldc, rows, cols, first);
    }

    /// <summary>c = act(alpha c + beta old + s1 bias1 + s2 bias2), then optional sampling, row by row (SIMD).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ApplyEpilogue(float* c, int m, int n, CpuGemmEpilogue e, float* old)
    {
        bool trivial = e.Alpha == 1f && old == null && e.Bias1 == null && e.Bias2 == null && e.Activation == 0 && e.Samples == null;
        if (trivial)
            return;
        var args = (C: (nint)c, O: (nint)old);
        CpuRowKernels.For(m, (long)m * n * 8, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (i) =>
        {
            float* row = (float*)args.C + (long)i * n;
            float* o = args.O == 0 ? null : (float*)args.O + (long)i * n;
            int j = 0;
            var alpha = Vector256.Create(e.Alpha);
            var beta = Vector256.Create(e.Beta);
            var s1 = Vector256.Create(e.Scale1);
            var s2 = Vector256.Create(e.Scale2);
            for (; j + 8 <= n; j += 8)
            {
                var x = alpha * Vector256.Load(row + j);
                if (o != null)
                    x += beta * Vector256.Load(o + j);
                if (e.Bias1 != null)
                    x += s1 * Vector256.Load(e.Bias1 + j);
                if (e.Bias2 != null)
                    x += s2 * Vector256.Load(e.Bias2 + j);
                if (e.Activation == (int)GemmActivationCode.Relu)
                    x = Vector256.Max(x, Vector256<float>.Zero);
                else if (e.Activation == (int)GemmActivationCode.Sigmoid)
                    x = VectorExp.Sigmoid(x);
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
    /// <remarks>The uniforms are drawn into s itself, then compared in place: no scratch buffer.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sample(float* p, float* s, int n, ulong seed, ulong stream, long start)
    {
        CpuRandomKernels.Uniform(new Span<float>(s, n), seed, stream, start);
        var one = Vector256.Create(1f);
        int j = 0;
        for (; j + 8 <= n; j += 8)
            (Vector256.LessThan(Vector256.Load(s + j), Vector256.Load(p + j)) & one).Store(s + j);
        for (; j < n; j++)
            s[j] = s[j] < p[j] ? 1f : 0f;
    }
}
