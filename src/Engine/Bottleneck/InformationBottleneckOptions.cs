namespace InfoGpu.Bottleneck;

/// <summary>
/// Settings of an information-bottleneck run: the size of the bottleneck, the betas, and the
/// deterministic annealing that reaches them.
/// </summary>
/// <remarks>
/// The annealing path is the ladder of rungs <c>AnnealingStart * AnnealingRatio^k</c>, k = 0, 1, ...:
/// the run starts from one cluster, and at every rung it duplicates each used cluster into a free
/// slot with a small seeded perturbation, iterates the self-consistent equations to convergence
/// and merges the clusters whose p(y|t) coincide. Each requested beta branches off the ladder
/// from the last rung below it, with the same split, iterate and merge. A record: immutable, safe
/// to share between threads.
/// </remarks>
public sealed record InformationBottleneckOptions
{
    /// <summary>The betas of the tradeoff min I(X;T) - beta I(T;Y) to solve (each finite and positive; any order).</summary>
    public required IReadOnlyList<double> Betas { get; init; }

    /// <summary>|T|, the number of cluster slots of the bottleneck variable (1 to <see cref="MaxClusters"/>); null: |X| (at most <see cref="MaxClusters"/>).</summary>
    public int? Clusters { get; init; }

    /// <summary>Seed of the perturbations that split the clusters (Philox; the same run on every machine).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The first rung of the annealing ladder: a beta near 0, where one cluster is the solution (default 0.05).</summary>
    public double AnnealingStart { get; init; } = 0.05;

    /// <summary>The ratio of consecutive rungs of the ladder, above 1 (default 1.1).</summary>
    public double AnnealingRatio { get; init; } = 1.1;

    /// <summary>Relative size of the perturbation that splits a cluster, in (0, 1) (default 0.1).</summary>
    public double Perturbation { get; init; } = 0.1;

    /// <summary>Convergence: the iterations at one beta stop when no p(t|x) changes by more than this (default 1e-10).</summary>
    public double Tolerance { get; init; } = 1e-10;

    /// <summary>The most iterations at one beta (default 2000); a point that reached it says so in <see cref="InformationBottleneckPoint.Converged"/>.</summary>
    public int MaxIterations { get; init; } = 2000;

    /// <summary>Two clusters merge when no p(y|t) of theirs differs by more than this (default 1e-6).</summary>
    public double MergeTolerance { get; init; } = 1e-6;

    /// <summary>A cluster counts in <see cref="InformationBottleneckPoint.ClustersUsed"/> when p(t) exceeds this (default 1e-6).</summary>
    public double UsedThreshold { get; init; } = 1e-6;

    /// <summary>The largest |T| accepted.</summary>
    public const int MaxClusters = 1024;

    /// <summary>The largest beta accepted (beyond it the encoder is deterministic to double precision).</summary>
    public const double MaxBeta = 1e9;

    /// <summary>The most betas in one run.</summary>
    public const int MaxBetas = 10_000;
}
