using InfoGpu.Kernels;

namespace InfoGpu.Bottleneck;

/// <summary>
/// The information bottleneck (Tishby, Pereira and Bialek, 1999) of a discrete joint
/// distribution p(x, y): encoders p(t|x) that solve min I(X;T) - beta I(T;Y) for a given |T|,
/// found by the self-consistent iterations with deterministic annealing, in float64 on the host.
/// </summary>
/// <remarks>
/// <para>At one beta the iterations repeat, from the current encoder,
/// p(t) = sum_x p(x) p(t|x); p(y|t) = sum_x p(x, y) p(t|x) / p(t);
/// p(t|x) = p(t) exp(-beta KL(p(y|x) || p(y|t))) / Z(x, beta) (a log-sum-exp over t),
/// until no p(t|x) moves by more than <see cref="InformationBottleneckOptions.Tolerance"/>.</para>
/// <para>Deterministic annealing (see <see cref="InformationBottleneckOptions"/>): start near beta = 0
/// with one cluster; at each rung of a geometric ladder of betas split every used cluster in two
/// with a seeded perturbation, iterate, and merge the clusters whose p(y|t) coincide. The clusters
/// split apart where beta passes a critical value of the problem. Each requested beta branches off
/// the last rung below it, so every point lies on one annealed path.</para>
/// <para>Static and free of shared state: safe to call from several threads at once.</para>
/// </remarks>
public static partial class InformationBottleneck
{
    /// <summary>Clusters with p(t) below this are emptied after each beta (their slots become free for splits).</summary>
    internal const double DropThreshold = 1e-15;

    /// <summary>
    /// Solves the bottleneck of the <paramref name="sizeX"/> x <paramref name="sizeY"/> joint table
    /// <paramref name="joint"/> (row-major, rows are X; finite, non-negative, not all zero; divided by
    /// its sum, so counts are fine) at every beta of <paramref name="options"/>.
    /// </summary>
    /// <returns>I(X;Y), H(X) and one point per beta, in increasing beta (nats).</returns>
    /// <exception cref="InfoGpuException">A bad table or option: the message names it.</exception>
    public static InformationBottleneckResult Solve(ReadOnlySpan<double> joint, int sizeX, int sizeY, InformationBottleneckOptions options)
    {
        var problem = IbProblem.From(joint, sizeX, sizeY);
        int clusters = CheckOptions(options, sizeX);
        var betas = options.Betas.Order().ToArray();
        var points = new InformationBottleneckPoint[betas.Length];
        var state = new IbState(problem, clusters);
        int next = 0;
        for (int k = 0; next < betas.Length; k++)
        {
            double rung = Rung(options, k);
            while (next < betas.Length && betas[next] <= rung)
            {
                points[next] = state.Clone().Step(betas[next], (ulong)k, options);
                next++;
            }
            if (next < betas.Length)
                state.Step(rung, (ulong)k, options);
        }
        return new InformationBottleneckResult(sizeX, sizeY, clusters, problem.InformationXY, problem.EntropyX, points, "double");
    }

    /// <summary>
    /// I(X;T) and I(T;Y) in nats of the encoder <paramref name="encoder"/> (|X| rows of
    /// <paramref name="clusters"/> entries, each row a distribution) on the joint table.
    /// </summary>
    /// <exception cref="InfoGpuException">A bad table, or an encoder of the wrong size or with a row that is not a distribution.</exception>
    public static (double InformationXT, double InformationTY) Evaluate(ReadOnlySpan<double> joint, int sizeX, int sizeY, ReadOnlySpan<double> encoder, int clusters)
    {
        var problem = IbProblem.From(joint, sizeX, sizeY);
        if (clusters < 1 || encoder.Length != (long)sizeX * clusters)
            throw new InfoGpuException($"encoder: {encoder.Length} values do not make {sizeX} rows of {clusters} clusters");
        for (int x = 0; x < sizeX; x++)
        {
            double sum = 0;
            for (int t = 0; t < clusters; t++)
            {
                double v = encoder[x * clusters + t];
                if (!double.IsFinite(v) || v < 0)
                    throw new InfoGpuException($"encoder: row {x + 1}, cluster {t + 1} is {v}; give probabilities in [0, 1]");
                sum += v;
            }
            if (Math.Abs(sum - 1) > 1e-9)
                throw new InfoGpuException($"encoder: row {x + 1} sums to {sum}, not 1");
        }
        var state = new IbState(problem, clusters);
        encoder.CopyTo(state.Q);
        state.Marginals();
        return (state.InformationXT(), state.InformationTY());
    }

    /// <summary>Rung <paramref name="k"/> of the annealing ladder.</summary>
    internal static double Rung(InformationBottleneckOptions o, int k) => o.AnnealingStart * Math.Pow(o.AnnealingRatio, k);

    /// <summary>Checks the options against a table of <paramref name="sizeX"/> rows; returns |T|.</summary>
    internal static int CheckOptions(InformationBottleneckOptions o, int sizeX)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Betas is null || o.Betas.Count == 0)
            throw new InfoGpuException("information bottleneck: give at least one beta");
        if (o.Betas.Count > InformationBottleneckOptions.MaxBetas)
            throw new InfoGpuException($"information bottleneck: {o.Betas.Count} betas; give at most {InformationBottleneckOptions.MaxBetas}");
        foreach (double b in o.Betas)
        {
            if (!(b > 0) || !(b <= InformationBottleneckOptions.MaxBeta))
                throw new InfoGpuException($"information bottleneck: beta {b} is out of range; each beta must be positive and at most {InformationBottleneckOptions.MaxBeta:G}");
        }
        int clusters = o.Clusters ?? Math.Min(sizeX, InformationBottleneckOptions.MaxClusters);
        if (clusters < 1 || clusters > InformationBottleneckOptions.MaxClusters)
            throw new InfoGpuException($"information bottleneck: {clusters} clusters; give 1 to {InformationBottleneckOptions.MaxClusters}");
        if (!(o.AnnealingStart > 0) || !double.IsFinite(o.AnnealingStart))
            throw new InfoGpuException($"information bottleneck: the annealing start {o.AnnealingStart} must be a positive number");
        if (!(o.AnnealingRatio > 1) || !(o.AnnealingRatio <= 10))
            throw new InfoGpuException($"information bottleneck: the annealing ratio {o.AnnealingRatio} must be above 1 and at most 10");
        if (!(o.Perturbation > 0) || !(o.Perturbation < 1))
            throw new InfoGpuException($"information bottleneck: the perturbation {o.Perturbation} must lie in (0, 1)");
        if (!(o.Tolerance > 0) || !double.IsFinite(o.Tolerance))
            throw new InfoGpuException($"information bottleneck: the tolerance {o.Tolerance} must be a positive number");
        if (o.MaxIterations < 1)
            throw new InfoGpuException($"information bottleneck: max iterations {o.MaxIterations} must be at least 1");
        if (!(o.MergeTolerance >= 0) || !(o.UsedThreshold >= 0) || !double.IsFinite(o.MergeTolerance) || !double.IsFinite(o.UsedThreshold))
            throw new InfoGpuException("information bottleneck: the merge tolerance and the used-cluster threshold must be non-negative numbers");
        return clusters;
    }
}

/// <summary>A checked, normalized joint table and what the iterations need of it.</summary>
internal sealed class IbProblem
{
    private IbProblem(int nx, int ny)
    {
        SizeX = nx;
        SizeY = ny;
        Pxy = new double[nx * ny];
        Px = new double[nx];
        Py = new double[ny];
        PyGivenX = new double[nx * ny];
        LogPyGivenX = new double[nx * ny];
    }

    public int SizeX { get; }

    public int SizeY { get; }

    /// <summary>p(x, y), summing to 1.</summary>
    public double[] Pxy { get; }

    public double[] Px { get; }

    public double[] Py { get; }

    /// <summary>p(y|x); a row of zeros where p(x) = 0.</summary>
    public double[] PyGivenX { get; }

    /// <summary>log p(y|x) where positive, else 0 (never used: those terms are skipped).</summary>
    public double[] LogPyGivenX { get; }

    public double EntropyX { get; private set; }

    public double InformationXY { get; private set; }

    /// <summary>The largest table accepted (entries).</summary>
    public const long MaxEntries = 1 << 24;

    public static IbProblem From(ReadOnlySpan<double> joint, int nx, int ny)
    {
        if (nx < 1 || ny < 1 || (long)nx * ny != joint.Length)
            throw new InfoGpuException($"joint table: {joint.Length} values do not make a {nx}x{ny} table");
        if (joint.Length > MaxEntries)
            throw new InfoGpuException($"joint table: {nx}x{ny} is too large; give at most {MaxEntries} entries");
        double total = 0;
        for (int i = 0; i < joint.Length; i++)
        {
            double v = joint[i];
            if (!double.IsFinite(v) || v < 0)
                throw new InfoGpuException($"joint table: row {i / ny + 1}, column {i % ny + 1} is {v}; give finite, non-negative numbers");
            total += v;
        }
        if (!(total > 0) || !double.IsFinite(total))
            throw new InfoGpuException(total > 0 ? "joint table: the entries sum to infinity; scale them down" : "joint table: every entry is zero; give at least one positive entry");
        var p = new IbProblem(nx, ny);
        for (int i = 0; i < joint.Length; i++)
            p.Pxy[i] = joint[i] / total;
        for (int x = 0; x < nx; x++)
        {
            for (int y = 0; y < ny; y++)
            {
                p.Px[x] += p.Pxy[x * ny + y];
                p.Py[y] += p.Pxy[x * ny + y];
            }
        }
        double hx = 0, hy = 0, hxy = 0;
        for (int x = 0; x < nx; x++)
        {
            hx -= XLogX(p.Px[x]);
            for (int y = 0; y < ny; y++)
            {
                double v = p.Pxy[x * ny + y];
                hxy -= XLogX(v);
                if (p.Px[x] > 0 && v > 0)
                {
                    p.PyGivenX[x * ny + y] = v / p.Px[x];
                    p.LogPyGivenX[x * ny + y] = Math.Log(v / p.Px[x]);
                }
            }
        }
        for (int y = 0; y < ny; y++)
            hy -= XLogX(p.Py[y]);
        p.EntropyX = hx;
        p.InformationXY = Math.Max(0, hx + hy - hxy);
        return p;
    }

    private static double XLogX(double v) => v > 0 ? v * Math.Log(v) : 0;
}

/// <summary>The encoder of one annealed path and the marginals that follow from it (float64).</summary>
internal sealed class IbState
{
    private readonly IbProblem problem;
    private readonly int n;
    private readonly double[] logPyt;
    private readonly double[] logits;

    public IbState(IbProblem problem, int clusters)
    {
        this.problem = problem;
        n = clusters;
        Q = new double[problem.SizeX * clusters];
        Pt = new double[clusters];
        Pyt = new double[clusters * problem.SizeY];
        logPyt = new double[clusters * problem.SizeY];
        logits = new double[clusters];
        for (int x = 0; x < problem.SizeX; x++)
            Q[x * n] = 1;
    }

    /// <summary>p(t|x), |X| rows of |T|.</summary>
    public double[] Q { get; }

    public double[] Pt { get; }

    /// <summary>p(y|t), |T| rows of |Y| (zeros for an empty cluster).</summary>
    public double[] Pyt { get; }

    public IbState Clone()
    {
        var c = new IbState(problem, n);
        Q.CopyTo(c.Q, 0);
        return c;
    }

    /// <summary>Split, iterate to convergence at <paramref name="beta"/>, merge; the point this gives.</summary>
    public InformationBottleneckPoint Step(double beta, ulong stage, InformationBottleneckOptions o)
    {
        Split(stage, o);
        int iterations = 0;
        bool converged = false;
        while (iterations < o.MaxIterations)
        {
            double delta = Update(beta);
            iterations++;
            if (delta <= o.Tolerance)
            {
                converged = true;
                break;
            }
        }
        Merge(o.MergeTolerance);
        int used = 0;
        for (int t = 0; t < n; t++)
        {
            if (Pt[t] > o.UsedThreshold)
                used++;
        }
        return new InformationBottleneckPoint(beta, InformationXT(), InformationTY(), used, iterations, converged, (double[])Q.Clone());
    }

    /// <summary>p(t) and p(y|t) from the encoder.</summary>
    public void Marginals()
    {
        int nx = problem.SizeX, ny = problem.SizeY;
        Array.Clear(Pt);
        Array.Clear(Pyt);
        for (int x = 0; x < nx; x++)
        {
            for (int t = 0; t < n; t++)
            {
                double w = Q[x * n + t];
                if (w == 0)
                    continue;
                Pt[t] += problem.Px[x] * w;
                for (int y = 0; y < ny; y++)
                    Pyt[t * ny + y] += problem.Pxy[x * ny + y] * w;
            }
        }
        for (int t = 0; t < n; t++)
        {
            if (Pt[t] > 0)
            {
                for (int y = 0; y < ny; y++)
                    Pyt[t * ny + y] /= Pt[t];
            }
        }
    }

    /// <summary>One self-consistent update of p(t|x) at <paramref name="beta"/>; returns the largest change.</summary>
    private double Update(double beta)
    {
        int nx = problem.SizeX, ny = problem.SizeY;
        Marginals();
        for (int i = 0; i < logPyt.Length; i++)
            logPyt[i] = Pyt[i] > 0 ? Math.Log(Pyt[i]) : double.NegativeInfinity;
        double delta = 0;
        for (int x = 0; x < nx; x++)
        {
            double max = double.NegativeInfinity;
            for (int t = 0; t < n; t++)
            {
                if (!(Pt[t] > 0))
                {
                    logits[t] = double.NegativeInfinity;
                    continue;
                }
                // KL(p(y|x) || p(y|t)), +inf where p(y|t) = 0 < p(y|x).
                double kl = 0;
                for (int y = 0; y < ny; y++)
                {
                    double p = problem.PyGivenX[x * ny + y];
                    if (p > 0)
                        kl += p * (problem.LogPyGivenX[x * ny + y] - logPyt[t * ny + y]);
                }
                double l = Math.Log(Pt[t]) - beta * Math.Max(0, kl);
                logits[t] = l;
                if (l > max)
                    max = l;
            }
            if (double.IsNegativeInfinity(max))
                continue; // no cluster can hold this x (cannot happen with exact arithmetic): keep its row
            double sum = 0;
            for (int t = 0; t < n; t++)
                sum += Math.Exp(logits[t] - max);
            for (int t = 0; t < n; t++)
            {
                double v = Math.Exp(logits[t] - max) / sum;
                delta = Math.Max(delta, Math.Abs(v - Q[x * n + t]));
                Q[x * n + t] = v;
            }
        }
        return delta;
    }

    /// <summary>
    /// Duplicates used clusters into the free slots, the mass of each x shared (1 + e)/2 and (1 - e)/2
    /// with a seeded e. When the free slots are fewer than the used clusters, the clusters whose
    /// members differ most (largest sum_x p(x) p(t|x) KL(p(y|x) || p(y|t))) split first; a cluster
    /// whose members agree on p(y|x) gains nothing by a split and keeps its slot.
    /// </summary>
    private void Split(ulong stage, InformationBottleneckOptions o)
    {
        int nx = problem.SizeX, ny = problem.SizeY;
        Marginals();
        var spread = new List<(double Spread, int Cluster)>();
        int used = 0;
        for (int t = 0; t < n; t++)
        {
            if (!(Pt[t] > 0))
                continue;
            used++;
            double s = 0;
            for (int x = 0; x < nx; x++)
            {
                double w = problem.Px[x] * Q[x * n + t];
                if (w == 0)
                    continue;
                for (int y = 0; y < ny; y++)
                {
                    double p = problem.PyGivenX[x * ny + y];
                    if (p > 0)
                        s += w * p * (problem.LogPyGivenX[x * ny + y] - Math.Log(Pyt[t * ny + y]));
                }
            }
            spread.Add((s, t));
        }
        // Largest spread first; ties in cluster order, so the choice is the same on every machine.
        spread.Sort((a, b) => a.Spread != b.Spread ? b.Spread.CompareTo(a.Spread) : a.Cluster.CompareTo(b.Cluster));
        int f = used; // used clusters are first (Merge compacts them)
        for (int i = 0; i < spread.Count && f < n; i++)
        {
            if (!(spread[i].Spread > SplitSpread))
                break;
            int t = spread[i].Cluster;
            for (int x = 0; x < nx; x++)
            {
                double e = o.Perturbation * (2.0 * Philox.Uniform(o.Seed, stage, (ulong)(x * n + t)) - 1.0);
                double a = Q[x * n + t];
                Q[x * n + f] = a * 0.5 * (1 + e);
                Q[x * n + t] = a * 0.5 * (1 - e);
            }
            f++;
        }
    }

    /// <summary>A cluster whose spread (nats) is at most this holds members with one p(y|x): splitting it is pointless.</summary>
    private const double SplitSpread = 1e-14;

    /// <summary>Merges clusters whose p(y|t) coincide, empties negligible ones, and moves the used clusters to the front.</summary>
    private void Merge(double tolerance)
    {
        int nx = problem.SizeX, ny = problem.SizeY;
        Marginals();
        for (int t = 0; t < n; t++)
        {
            if (!(Pt[t] > 0))
                continue;
            for (int u = t + 1; u < n; u++)
            {
                if (!(Pt[u] > 0))
                    continue;
                double diff = 0;
                for (int y = 0; y < ny; y++)
                    diff = Math.Max(diff, Math.Abs(Pyt[t * ny + y] - Pyt[u * ny + y]));
                if (diff > tolerance)
                    continue;
                for (int x = 0; x < nx; x++)
                {
                    Q[x * n + t] += Q[x * n + u];
                    Q[x * n + u] = 0;
                }
                Pt[t] += Pt[u];
                Pt[u] = 0;
            }
        }
        bool dropped = false;
        for (int t = 0; t < n; t++)
        {
            if (Pt[t] > 0 && Pt[t] < InformationBottleneck.DropThreshold)
            {
                dropped = true;
                Pt[t] = 0;
                for (int x = 0; x < nx; x++)
                    Q[x * n + t] = 0;
            }
        }
        if (dropped)
        {
            for (int x = 0; x < nx; x++)
            {
                double s = 0;
                for (int t = 0; t < n; t++)
                    s += Q[x * n + t];
                if (s > 0)
                {
                    for (int t = 0; t < n; t++)
                        Q[x * n + t] /= s;
                }
                else
                {
                    Q[x * n] = 1; // cannot happen: some cluster above the threshold holds every x of mass
                }
            }
        }
        // Used clusters first, in their order.
        int to = 0;
        for (int t = 0; t < n; t++)
        {
            if (!(Pt[t] > 0))
                continue;
            if (t != to)
            {
                for (int x = 0; x < nx; x++)
                {
                    Q[x * n + to] = Q[x * n + t];
                    Q[x * n + t] = 0;
                }
                Pt[to] = Pt[t];
                Pt[t] = 0;
            }
            to++;
        }
        Marginals();
    }

    /// <summary>I(X;T) = sum_x p(x) sum_t p(t|x) log(p(t|x) / p(t)) (after <see cref="Marginals"/>).</summary>
    public double InformationXT()
    {
        double s = 0;
        for (int x = 0; x < problem.SizeX; x++)
        {
            double px = problem.Px[x];
            if (px == 0)
                continue;
            for (int t = 0; t < n; t++)
            {
                double q = Q[x * n + t];
                if (q > 0 && Pt[t] > 0)
                    s += px * q * Math.Log(q / Pt[t]);
            }
        }
        return Math.Max(0, s);
    }

    /// <summary>I(T;Y) = sum_t p(t) sum_y p(y|t) log(p(y|t) / p(y)) (after <see cref="Marginals"/>).</summary>
    public double InformationTY()
    {
        int ny = problem.SizeY;
        double s = 0;
        for (int t = 0; t < n; t++)
        {
            if (!(Pt[t] > 0))
                continue;
            for (int y = 0; y < ny; y++)
            {
                double v = Pyt[t * ny + y];
                if (v > 0)
                    s += Pt[t] * v * Math.Log(v / problem.Py[y]);
            }
        }
        return Math.Max(0, s);
    }
}
