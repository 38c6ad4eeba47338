using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// The VAE's element-wise and reduction kernels (the dense layers are GEMM calls). The latent
/// statistics of a batch are one rows x 2L matrix: mu in columns [0, L), log-variance in [L, 2L).
/// The reductions are group-parallel (<see cref="GroupLayout"/>): the per-row sums (KL, latent
/// log-weight, cross-entropy) in row blocks, the column sums (bias gradients, ReLU backward) in
/// column tiles. Each runs in a fixed order for a given group size and lane count, so results
/// are the same from run to run; the order differs from the <c>cpu</c> twins (and between group
/// sizes), so the sums agree with them to float32 rounding, not bit for bit.
/// </summary>
internal static class VaeKernels
{
    /// <summary>
    /// eps[r, j] = Philox normal (offset + r L + j); z[r, j] = mu + exp(lv / 2) eps, with mu and lv
    /// from row r / repeat of the statistics (repeat &gt; 1 draws several samples per input).
    /// </summary>
    public static void ReparameterizeKernel(Index1D i, ArrayView<float> stats, ArrayView<float> eps, ArrayView<float> z, int latent, int repeat, ulong seed, ulong stream, long offset)
    {
        int r = i / latent;
        int j = i - r * latent;
        long s = (long)(r / repeat) * 2 * latent;
        float e = Philox.Normal(seed, stream, (ulong)(offset + i));
        eps[i] = e;
        z[i] = stats[s + j] + AccurateMath.Exp(0.5f * stats[s + latent + j]) * e;
    }

    /// <summary>dstats[r] = (dz + beta mu, dz eps e^(lv/2) / 2 + beta (e^lv - 1) / 2): the gradient through z and beta KL.</summary>
    public static void ReparameterizeBackwardKernel(Index1D i, ArrayView<float> stats, ArrayView<float> eps, ArrayView<float> dz, ArrayView<float> dstats, int latent, float beta)
    {
        int r = i / latent;
        int j = i - r * latent;
        long s = (long)r * 2 * latent;
        float d = dz[i];
        dstats[s + j] = VaeMath.MuGradient(d, stats[s + j], beta);
        dstats[s + latent + j] = VaeMath.LogVarGradient(d, eps[i], stats[s + latent + j], beta);
    }

    /// <summary>
    /// kl[r] = -1/2 sum_j (1 + lv - mu^2 - e^lv). Row blocks: <paramref name="lanes"/> threads per
    /// row, grid = ceil(rows / (group size / lanes)), shared memory = group size floats.
    /// </summary>
    public static void KlKernel(ArrayView<float> stats, ArrayView<float> kl, int rows, int latent, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int r = GroupLayout.BlockRow(lanes);
        int lane = GroupLayout.Lane(lanes);
        float sum = 0f;
        if (r < rows)
        {
            long s = (long)r * 2 * latent;
            for (int j = lane; j < latent; j += lanes)
                sum += VaeMath.Kl(stats[s + j], stats[s + latent + j]);
        }
        float total = GroupReduce.SegmentSum(shared, sum, lanes);
        if (r < rows && lane == 0)
            kl[r] = total;
    }

    /// <summary>
    /// result[r] = log N(z; 0, I) - log q(z | x) = sum_j (eps^2 - z^2 + lv) / 2 (the 2 pi terms
    /// cancel), statistics row r / repeat. Row blocks, as <see cref="KlKernel"/>.
    /// </summary>
    public static void LatentLogWeightKernel(ArrayView<float> stats, ArrayView<float> eps, ArrayView<float> z, ArrayView<float> result, int rows, int latent, int repeat, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int r = GroupLayout.BlockRow(lanes);
        int lane = GroupLayout.Lane(lanes);
        float sum = 0f;
        if (r < rows)
        {
            long s = (long)(r / repeat) * 2 * latent;
            long o = (long)r * latent;
            for (int j = lane; j < latent; j += lanes)
            {
                float e = eps[o + j], zz = z[o + j];
                sum += 0.5f * (e * e - zz * zz + stats[s + latent + j]);
            }
        }
        float total = GroupReduce.SegmentSum(shared, sum, lanes);
        if (r < rows && lane == 0)
            result[r] = total;
    }

    /// <summary>
    /// losses[r] = sum_c softplus(l) - x l over row r of the logits, x from row r / repeat of the
    /// targets; when gradient != 0 the logits are overwritten by sigmoid(l) - x. Row blocks, as
    /// <see cref="KlKernel"/> (a 784-column row gets a whole group of up to 256 or 1024 threads).
    /// </summary>
    public static void CrossEntropyKernel(ArrayView<float> logits, ArrayView<float> x, ArrayView<float> losses, int rows, int cols, int repeat, int gradient, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int r = GroupLayout.BlockRow(lanes);
        int lane = GroupLayout.Lane(lanes);
        float sum = 0f;
        if (r < rows)
        {
            long o = (long)r * cols;
            long t = (long)(r / repeat) * cols;
            for (int c = lane; c < cols; c += lanes)
            {
                float xv = x[t + c];
                sum += VaeMath.CrossEntropy(logits[o + c], xv, out float p);
                if (gradient != 0)
                    logits[o + c] = p - xv;
            }
        }
        float total = GroupReduce.SegmentSum(shared, sum, lanes);
        if (r < rows && lane == 0)
            losses[r] = total;
    }

    /// <summary>
    /// dy[r, c] = 0 where y[r, c] &lt;= 0 (ReLU backward); sums[c] = the column sum of the result
    /// (the bias gradient). Column tiles: <paramref name="lanes"/> columns per group, the rows
    /// spread over group size / lanes threads per column; grid = ceil(cols / lanes), shared
    /// memory = group size floats.
    /// </summary>
    public static void ReluBackwardKernel(ArrayView<float> dy, ArrayView<float> y, ArrayView<float> sums, int rows, int cols, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int c = GroupLayout.TileColumn(lanes);
        int first = GroupLayout.TileRowLane(lanes);
        int step = GroupLayout.TileRowLanes(lanes);
        float sum = 0f;
        if (c < cols)
        {
            for (int r = first; r < rows; r += step)
            {
                long k = (long)r * cols + c;
                float d = y[k] > 0f ? dy[k] : 0f;
                dy[k] = d;
                sum += d;
            }
        }
        float total = GroupReduce.StridedSum(shared, sum, lanes);
        if (c < cols && first == 0)
            sums[c] = total;
    }

    /// <summary>sums[c] = sum over rows of x[r, c]. Column tiles, as <see cref="ReluBackwardKernel"/>.</summary>
    public static void ColumnSumsKernel(ArrayView<float> x, ArrayView<float> sums, int rows, int cols, int lanes)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int c = GroupLayout.TileColumn(lanes);
        int first = GroupLayout.TileRowLane(lanes);
        int step = GroupLayout.TileRowLanes(lanes);
        float sum = 0f;
        if (c < cols)
        {
            for (int r = first; r < rows; r += step)
                sum += x[(long)r * cols + c];
        }
        float total = GroupReduce.StridedSum(shared, sum, lanes);
        if (c < cols && first == 0)
            sums[c] = total;
    }

    /// <summary>
    /// One Adam step (<see cref="VaeMath.Adam"/>) of every element of up to
    /// <see cref="AdamTensors.Slots"/> tensors in one launch: element i of the concatenation
    /// belongs to the first slot k with i &lt; End_k (one thread per element).
    /// </summary>
    public static void AdamKernel(Index1D index, AdamTensors t, AdamArgs a)
    {
        long i = index.X;
        if (i < t.End0)
            AdamAt(t.P0, t.G0, t.M0, t.V0, i, a);
        else if (i < t.End1)
            AdamAt(t.P1, t.G1, t.M1, t.V1, i - t.End0, a);
        else if (i < t.End2)
            AdamAt(t.P2, t.G2, t.M2, t.V2, i - t.End1, a);
        else if (i < t.End3)
            AdamAt(t.P3, t.G3, t.M3, t.V3, i - t.End2, a);
        else if (i < t.End4)
            AdamAt(t.P4, t.G4, t.M4, t.V4, i - t.End3, a);
        else if (i < t.End5)
            AdamAt(t.P5, t.G5, t.M5, t.V5, i - t.End4, a);
        else if (i < t.End6)
            AdamAt(t.P6, t.G6, t.M6, t.V6, i - t.End5, a);
        else if (i < t.End7)
            AdamAt(t.P7, t.G7, t.M7, t.V7, i - t.End6, a);
    }

    internal static void AdamAt(ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, long k, in AdamArgs a)
    {
        float pk = p[k], mk = m[k], vk = v[k];
        VaeMath.Adam(ref pk, g[k], ref mk, ref vk, a);
        p[k] = pk;
        m[k] = mk;
        v[k] = vk;
    }
}

/// <summary>
/// Up to eight tensors of one Adam launch (<see cref="VaeKernels.AdamKernel"/>): the parameter,
/// gradient and moment views of slot k and End_k, the number of elements in slots 0..k. Unused
/// slots repeat the previous end (they hold no elements) and any view.
/// </summary>
internal struct AdamTensors
{
    /// <summary>The number of slots.</summary>
    public const int Slots = 8;

    public ArrayView<float> P0, P1, P2, P3, P4, P5, P6, P7;
    public ArrayView<float> G0, G1, G2, G3, G4, G5, G6, G7;
    public ArrayView<float> M0, M1, M2, M3, M4, M5, M6, M7;
    public ArrayView<float> V0, V1, V2, V3, V4, V5, V6, V7;
    public long End0, End1, End2, End3, End4, End5, End6, End7;

    /// <summary>Fills slot <paramref name="k"/> (host side).</summary>
    public void Set(int k, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, long end)
    {
        switch (k)
        {
            case 0: (P0, G0, M0, V0, End0) = (p, g, m, v, end); break;
            case 1: (P1, G1, M1, V1, End1) = (p, g, m, v, end); break;
            case 2: (P2, G2, M2, V2, End2) = (p, g, m, v, end); break;
            case 3: (P3, G3, M3, V3, End3) = (p, g, m, v, end); break;
            case 4: (P4, G4, M4, V4, End4) = (p, g, m, v, end); break;
            case 5: (P5, G5, M5, V5, End5) = (p, g, m, v, end); break;
            case 6: (P6, G6, M6, V6, End6) = (p, g, m, v, end); break;
            case 7: (P7, G7, M7, V7, End7) = (p, g, m, v, end); break;
            default: throw new ArgumentOutOfRangeException(nameof(k));
        }
    }
}
