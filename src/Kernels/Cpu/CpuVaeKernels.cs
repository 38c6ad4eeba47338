using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace InfoGpu.Kernels.Cpu;

/// <summary>
/// The <c>cpu</c> path of <see cref="Gpu.VaeKernels"/>: the same formulas (<see cref="VaeMath"/>)
/// and the same draws, with the bulk loops in Vector256. Column reductions add the rows in order,
/// as the ILGPU kernels do; nothing here allocates.
/// </summary>
internal static unsafe class CpuVaeKernels
{
    /// <summary>See <see cref="Gpu.VaeKernels.ReparameterizeKernel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Reparameterize(float* stats, float* eps, float* z, int rows, int latent, int repeat, ulong seed, ulong stream, long offset)
    {
        long n = (long)rows * latent;
        long i = 0;
        // Normals come in Box-Muller pairs from one Philox block: even draw cos, odd draw sin.
        for (; i < n; i++)
        {
            long d = offset + i;
            if ((d & 1) == 0 && i + 1 < n)
            {
                var b = Philox.Block(seed, stream, (ulong)d >> 1);
                float u1 = Philox.ToUniform(b.X0), u2 = Philox.ToUniform(b.X1);
                eps[i] = Philox.BoxMuller(u1, u2, false);
                eps[i + 1] = Philox.BoxMuller(u1, u2, true);
                i++;
            }
            else
            {
                eps[i] = Philox.Normal(seed, stream, (ulong)d);
            }
        }
        for (int r = 0; r < rows; r++)
        {
            float* s = stats + (long)(r / repeat) * 2 * latent;
            float* e = eps + (long)r * latent;
            float* zz = z + (long)r * latent;
            for (int j = 0; j < latent; j++)
                zz[j] = s[j] + MathF.Exp(0.5f * s[latent + j]) * e[j];
        }
    }

    /// <summary>See <see cref="Gpu.VaeKernels.ReparameterizeBackwardKernel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReparameterizeBackward(float* stats, float* eps, float* dz, float* dstats, int rows, int latent, float beta)
    {
        for (int r = 0; r < rows; r++)
        {
            float* s = stats + (long)r * 2 * latent;
            float* ds = dstats + (long)r * 2 * latent;
            long o = (long)r * latent;
            for (int j = 0; j < latent; j++)
            {
                float d = dz[o + j];
                ds[j] = VaeMath.MuGradient(d, s[j], beta);
                ds[latent + j] = VaeMath.LogVarGradient(d, eps[o + j], s[latent + j], beta);
            }
        }
    }

    /// <summary>See <see cref="Gpu.VaeKernels.KlKernel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kl(float* stats, float* kl, int rows, int latent)
    {
        for (int r = 0; r < rows; r++)
        {
            float* s = stats + (long)r * 2 * latent;
            float sum = 0f;
            for (int j = 0; j < latent; j++)
                sum += VaeMath.Kl(s[j], s[latent + j]);
            kl[r] = sum;
        }
    }

    /// <summary>See <see cref="Gpu.VaeKernels.LatentLogWeightKernel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LatentLogWeight(float* stats, float* eps, float* z, float* result, int rows, int latent, int repeat)
    {
        for (int r = 0; r < rows; r++)
        {
            float* s = stats + (long)(r / repeat) * 2 * latent;
            long o = (long)r * latent;
            float sum = 0f;
            for (int j = 0; j < latent; j++)
            {
                float e = eps[o + j], zz = z[o + j];
                sum += 0.5f * (e * e - zz * zz + s[latent + j]);
            }
            result[r] = sum;
        }
    }

    /// <summary>See <see cref="Gpu.VaeKernels.CrossEntropyKernel"/>; rows in parallel, eight lanes per row summed in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CrossEntropy(float* logits, float* x, float* losses, int rows, int cols, int repeat, bool gradient)
    {
        var args = (L: (nint)logits, X: (nint)x, O: (nint)losses);
        CpuRowKernels.For(rows, (long)rows * cols * 8, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r) =>
            ((float*)args.O)[r] = CrossEntropyRow((float*)args.L + (long)r * cols, (float*)args.X + (long)(r / repeat) * cols, cols, gradient));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float CrossEntropyRow(float* l, float* x, int cols, bool gradient)
    {
        var acc = Vector256<float>.Zero;
        var one = Vector256.Create(1f);
        int c = 0;
        for (; c + 8 <= cols; c += 8)
        {
            var lv = Vector256.Load(l + c);
            var xv = Vector256.Load(x + c);
            var e = VectorExp.Exp(-Vector256.Abs(lv));
            var onePlus = one + e;
            var inv = one / onePlus;
            // log1p(e) = ln(1 + e) + c / (1 + e), c = e - ((1 + e) - 1) the exact rounding error
            // of 1 + e (e <= 1); added last, as in VaeMath.CrossEntropy, so a small loss keeps its precision.
            var log1p = VectorLog.Log(onePlus) + (e - (onePlus - one)) * inv;
            acc += (Vector256.Max(lv, Vector256<float>.Zero) - xv * lv) + log1p;
            if (gradient)
            {
                var p = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(lv, Vector256<float>.Zero), inv, e * inv);
                (p - xv).Store(l + c);
            }
        }
        double sum = 0;
        for (int k = 0; k < 8; k++)
            sum += acc.GetElement(k);
        for (; c < cols; c++)
        {
            sum += VaeMath.CrossEntropy(l[c], x[c], out float p);
            if (gradient)
                l[c] = p - x[c];
        }
        return (float)sum;
    }

    /// <summary>See <see cref="Gpu.VaeKernels.ReluBackwardKernel"/>: rows in order, columns in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluBackward(float* dy, float* y, float* sums, int rows, int cols)
    {
        new Span<float>(sums, cols).Clear();
        for (int r = 0; r < rows; r++)
        {
            float* d = dy + (long)r * cols;
            float* yy = y + (long)r * cols;
            int c = 0;
            for (; c + 8 <= cols; c += 8)
            {
                var v = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(yy + c), Vector256<float>.Zero), Vector256.Load(d + c), Vector256<float>.Zero);
                v.Store(d + c);
                (Vector256.Load(sums + c) + v).Store(sums + c);
            }
            for (; c < cols; c++)
            {
                float v = yy[c] > 0f ? d[c] : 0f;
                d[c] = v;
                sums[c] += v;
            }
        }
    }

    /// <summary>sums[c] = sum over rows of x[r, c], rows in order, columns in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnSums(float* x, float* sums, int rows, int cols)
    {
        new Span<float>(sums, cols).Clear();
        for (int r = 0; r < rows; r++)
        {
            float* row = x + (long)r * cols;
            int c = 0;
            for (; c + 8 <= cols; c += 8)
                (Vector256.Load(sums + c) + Vector256.Load(row + c)).Store(sums + c);
            for (; c < cols; c++)
                sums[c] += row[c];
        }
    }

    /// <summary>One Adam step of n parameters (<see cref="VaeMath.Adam"/>), in parallel chunks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adam(float* p, float* g, float* m, float* v, long n, AdamArgs a)
    {
        const int Chunk = 1 << 14;
        int chunks = (int)((n + Chunk - 1) / Chunk);
        var args = (P: (nint)p, G: (nint)g, M: (nint)m, V: (nint)v);
        CpuRowKernels.For(chunks, n * 8, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (k) =>
        {
            long lo = (long)k * Chunk;
            AdamRange((float*)args.P + lo, (float*)args.G + lo, (float*)args.M + lo, (float*)args.V + lo, (int)Math.Min(Chunk, n - lo), a);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AdamRange(float* p, float* g, float* m, float* v, int n, in AdamArgs a)
    {
        var b1 = Vector256.Create(a.OneMinusBeta1);
        var b2 = Vector256.Create(a.Beta2);
        var c2 = Vector256.Create(a.OneMinusBeta2);
        var bc = Vector256.Create(a.Bias2Sqrt);
        var eps = Vector256.Create(a.Epsilon);
        var step = Vector256.Create(a.StepSize);
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var gv = Vector256.Load(g + i);
            var mv = Vector256.Load(m + i);
            mv += b1 * (gv - mv);
            var vv = Vector256.Load(v + i) * b2 + c2 * gv * gv;
            var denom = Vector256.Sqrt(vv) / bc + eps;
            (Vector256.Load(p + i) - step * (mv / denom)).Store(p + i);
            mv.Store(m + i);
            vv.Store(v + i);
        }
        for (; i < n; i++)
            VaeMath.Adam(ref p[i], g[i], ref m[i], ref v[i], a);
    }
}
