using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>
/// The sizes and settings of a batched information-bottleneck run: |X|, |Y|, |T| slots, and the
/// float32 thresholds of one stage of the annealing (see <see cref="IbMath"/>).
/// </summary>
internal struct IbShape
{
    /// <summary>|X|.</summary>
    public int Nx;

    /// <summary>|Y|.</summary>
    public int Ny;

    /// <summary>|T| slots.</summary>
    public int N;

    /// <summary>Iterations stop when no p(t|x) moves by more than this.</summary>
    public float Tolerance;

    /// <summary>Relative size of the split perturbation.</summary>
    public float Perturbation;

    /// <summary>Clusters whose p(y|t) differ by at most this merge.</summary>
    public float MergeTolerance;

    /// <summary>Clusters with p(t) below this are emptied.</summary>
    public float DropThreshold;

    /// <summary>A cluster with a spread at most this is not split.</summary>
    public float SplitSpread;

    /// <summary>Clusters with p(t) above this count as used.</summary>
    public float UsedThreshold;

    /// <summary>Seed of the split perturbations.</summary>
    public ulong Seed;

    /// <summary>The stage (rung) of the annealing: the Philox stream of its split.</summary>
    public ulong Stage;

    /// <summary>Floats of one lane's state: p(t|x), p(t), p(y|t), log p(y|t), one work row of |T|.</summary>
    public readonly long LaneFloats => (long)Nx * N + N + 2L * N * Ny + N;

    /// <summary>Floats of the problem: p(x, y), p(x), p(y|x), log p(y|x).</summary>
    public readonly long ProblemFloats => 3L * Nx * Ny + Nx;
}

/// <summary>
/// What a lane reads and writes: the shared problem, its own state (<see cref="IbShape.LaneFloats"/>
/// floats per lane), the lanes' betas and their flags (<see cref="IbMath.FlagsPerLane"/> ints per lane).
/// One implementation over ILGPU views (kernels), one over arrays (the <c>cpu</c> backend).
/// </summary>
internal interface IIbMemory
{
    /// <summary>Problem value <paramref name="i"/>.</summary>
    float Problem(long i);

    /// <summary>State value <paramref name="i"/>.</summary>
    float Get(long i);

    /// <summary>Sets state value <paramref name="i"/>.</summary>
    void Set(long i, float v);

    /// <summary>The beta of <paramref name="lane"/> at this stage.</summary>
    float Beta(int lane);

    /// <summary>Flag <paramref name="i"/>.</summary>
    int Flag(long i);

    /// <summary>Sets flag <paramref name="i"/>.</summary>
    void SetFlag(long i, int v);
}

/// <summary>
/// One lane (one beta) of the batched information bottleneck, in float32: the same split,
/// self-consistent update and merge as the float64 host path (InfoGpu.Bottleneck), each lane
/// on its own, so that one launch advances every lane. Flags of a lane: active at this stage,
/// done (converged at this stage), iterations at this stage, clusters used.
/// </summary>
internal static class IbMath
{
    /// <summary>Ints of flags per lane.</summary>
    public const int FlagsPerLane = 4;

    /// <summary>Flag: the lane runs this stage.</summary>
    public const int Active = 0;

    /// <summary>Flag: the lane's iterations met the tolerance at this stage.</summary>
    public const int Done = 1;

    /// <summary>Flag: iterations at this stage.</summary>
    public const int Iterations = 2;

    /// <summary>Flag: clusters used after the merge.</summary>
    public const int Used = 3;

    /// <summary>p(t) and p(y|t) of one lane from its encoder.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Marginals<TMem>(TMem m, int lane, IbShape s)
        where TMem : struct, IIbMemory
    {
        int nx = s.Nx, ny = s.Ny, n = s.N;
        long q = lane * s.LaneFloats, pt = q + (long)nx * n, pyt = pt + n;
        long pxy = 0, px = (long)nx * ny;
        for (int t = 0; t < n; t++)
        {
            m.Set(pt + t, 0f);
            for (int y = 0; y < ny; y++)
                m.Set(pyt + t * ny + y, 0f);
        }
        for (int x = 0; x < nx; x++)
        {
            for (int t = 0; t < n; t++)
            {
                float w = m.Get(q + x * n + t);
                if (w == 0f)
                    continue;
                m.Set(pt + t, m.Get(pt + t) + m.Problem(px + x) * w);
                for (int y = 0; y < ny; y++)
                    m.Set(pyt + t * ny + y, m.Get(pyt + t * ny + y) + m.Problem(pxy + x * ny + y) * w);
            }
        }
        for (int t = 0; t < n; t++)
        {
            float p = m.Get(pt + t);
            if (p > 0f)
            {
                float inv = 1f / p;
                for (int y = 0; y < ny; y++)
                    m.Set(pyt + t * ny + y, m.Get(pyt + t * ny + y) * inv);
            }
        }
    }

    /// <summary>One self-consistent update of an active lane that has not converged; counts the iteration and marks convergence.</summary>
    public static void Update<TMem>(TMem m, int lane, IbShape s)
        where TMem : struct, IIbMemory
    {
        long f = (long)lane * FlagsPerLane;
        if (m.Flag(f + Active) == 0 || m.Flag(f + Done) != 0)
            return;
        Marginals(m, lane, s);
        int nx = s.Nx, ny = s.Ny, n = s.N;
        long q = lane * s.LaneFloats, pt = q + (long)nx * n, pyt = pt + n, logPyt = pyt + (long)n * ny, work = logPyt + (long)n * ny;
        long pygx = (long)nx * ny + nx, logPygx = pygx + (long)nx * ny;
        float beta = m.Beta(lane);
        for (int i = 0; i < n * ny; i++)
        {
            float v = m.Get(pyt + i);
            m.Set(logPyt + i, v > 0f ? AccurateMath.Log(v) : float.NegativeInfinity);
        }
        float delta = 0f;
        for (int x = 0; x < nx; x++)
        {
            float max = float.NegativeInfinity;
            for (int t = 0; t < n; t++)
            {
                float p = m.Get(pt + t);
                float l = float.NegativeInfinity;
                if (p > 0f)
                {
                    float kl = 0f;
                    for (int y = 0; y < ny; y++)
                    {
                        float c = m.Problem(pygx + x * ny + y);
                        if (c > 0f)
                            kl += c * (m.Problem(logPygx + x * ny + y) - m.Get(logPyt + t * ny + y));
                    }
                    l = AccurateMath.Log(p) - beta * (kl > 0f ? kl : 0f);
                }
                m.Set(work + t, l);
                if (l > max)
                    max = l;
            }
            if (max == float.NegativeInfinity)
                continue;
            float sum = 0f;
            for (int t = 0; t < n; t++)
                sum += AccurateMath.Exp(m.Get(work + t) - max);
            for (int t = 0; t < n; t++)
            {
                float v = AccurateMath.Exp(m.Get(work + t) - max) / sum;
                float d = v - m.Get(q + x * n + t);
                d = d < 0f ? -d : d;
                if (d > delta)
                    delta = d;
                m.Set(q + x * n + t, v);
            }
        }
        m.SetFlag(f + Iterations, m.Flag(f + Iterations) + 1);
        if (delta <= s.Tolerance)
            m.SetFlag(f + Done, 1);
    }

    /// <summary>Splits the used clusters of an active lane into its free slots, the most spread first (see the host path).</summary>
    public static void Split<TMem>(TMem m, int lane, IbShape s)
        where TMem : struct, IIbMemory
    {
        if (m.Flag((long)lane * FlagsPerLane + Active) == 0)
            return;
        Marginals(m, lane, s);
        int nx = s.Nx, ny = s.Ny, n = s.N;
        long q = lane * s.LaneFloats, pt = q + (long)nx * n, pyt = pt + n, work = pyt + 2L * n * ny;
        long px = (long)nx * ny, pygx = px + nx, logPygx = pygx + (long)nx * ny;
        int used = 0;
        for (int t = 0; t < n; t++)
        {
            float p = m.Get(pt + t);
            float spread = -1f;
            if (p > 0f)
            {
                used++;
                spread = 0f;
                for (int x = 0; x < nx; x++)
                {
                    float w = m.Problem(px + x) * m.Get(q + x * n + t);
                    if (w == 0f)
                        continue;
                    for (int y = 0; y < ny; y++)
                    {
                        float c = m.Problem(pygx + x * ny + y);
                        if (c > 0f)
                            spread += w * c * (m.Problem(logPygx + x * ny + y) - AccurateMath.Log(m.Get(pyt + t * ny + y)));
                    }
                }
            }
            m.Set(work + t, spread);
        }
        for (int free = used; free < n; free++)
        {
            // The cluster of largest spread not split yet (the lowest index on a tie).
            int best = -1;
            float bestSpread = s.SplitSpread;
            for (int t = 0; t < n; t++)
            {
                float v = m.Get(work + t);
                if (v > bestSpread)
                {
                    best = t;
                    bestSpread = v;
                }
            }
            if (best < 0)
                break;
            m.Set(work + best, -1f);
            for (int x = 0; x < nx; x++)
            {
                float e = s.Perturbation * (2f * Philox.Uniform(s.Seed, s.Stage, (ulong)(x * n + best)) - 1f);
                float a = m.Get(q + x * n + best);
                m.Set(q + x * n + free, a * 0.5f * (1f + e));
                m.Set(q + x * n + best, a * 0.5f * (1f - e));
            }
        }
    }

    /// <summary>Merges coinciding clusters of an active lane, empties negligible ones, moves the used ones first and counts them.</summary>
    public static void Merge<TMem>(TMem m, int lane, IbShape s)
        where TMem : struct, IIbMemory
    {
        long f = (long)lane * FlagsPerLane;
        if (m.Flag(f + Active) == 0)
            return;
        Marginals(m, lane, s);
        int nx = s.Nx, ny = s.Ny, n = s.N;
        long q = lane * s.LaneFloats, pt = q + (long)nx * n, pyt = pt + n;
        for (int t = 0; t < n; t++)
        {
            if (!(m.Get(pt + t) > 0f))
                continue;
            for (int u = t + 1; u < n; u++)
            {
                if (!(m.Get(pt + u) > 0f))
                    continue;
                float diff = 0f;
                for (int y = 0; y < ny; y++)
                {
                    float d = m.Get(pyt + t * ny + y) - m.Get(pyt + u * ny + y);
                    d = d < 0f ? -d : d;
                    if (d > diff)
                        diff = d;
                }
                if (diff > s.MergeTolerance)
                    continue;
                for (int x = 0; x < nx; x++)
                {
                    m.Set(q + x * n + t, m.Get(q + x * n + t) + m.Get(q + x * n + u));
                    m.Set(q + x * n + u, 0f);
                }
                m.Set(pt + t, m.Get(pt + t) + m.Get(pt + u));
                m.Set(pt + u, 0f);
            }
        }
        bool dropped = false;
        for (int t = 0; t < n; t++)
        {
            float p = m.Get(pt + t);
            if (p > 0f && p < s.DropThreshold)
            {
                dropped = true;
                m.Set(pt + t, 0f);
                for (int x = 0; x < nx; x++)
                    m.Set(q + x * n + t, 0f);
            }
        }
        if (dropped)
        {
            for (int x = 0; x < nx; x++)
            {
                float sum = 0f;
                for (int t = 0; t < n; t++)
                    sum += m.Get(q + x * n + t);
                if (sum > 0f)
                {
                    for (int t = 0; t < n; t++)
                        m.Set(q + x * n + t, m.Get(q + x * n + t) / sum);
                }
                else
                {
                    m.Set(q + x * n, 1f);
                }
            }
        }
        int to = 0;
        for (int t = 0; t < n; t++)
        {
            if (!(m.Get(pt + t) > 0f))
                continue;
            if (t != to)
            {
                for (int x = 0; x < nx; x++)
                {
                    m.Set(q + x * n + to, m.Get(q + x * n + t));
                    m.Set(q + x * n + t, 0f);
                }
                m.Set(pt + to, m.Get(pt + t));
                m.Set(pt + t, 0f);
            }
            to++;
        }
        Marginals(m, lane, s);
        int used = 0;
        for (int t = 0; t < n; t++)
        {
            if (m.Get(pt + t) > s.UsedThreshold)
                used++;
        }
        m.SetFlag(f + Used, used);
    }
}
