namespace InfoGpu.Devices;

/// <summary>How a backend finds the neighbours of the mutual-information estimators; both give the same counts.</summary>
internal enum NeighborMethod
{
    /// <summary>Every pair of samples: O(n^2) per feature.</summary>
    Brute,

    /// <summary>Each feature sorted once, neighbours by expanding outwards, counts by bisection: O(n log n) per feature.</summary>
    Sorted,
}

internal partial interface IComputeBackend
{
    /// <summary>
    /// Ross's neighbour counts for <paramref name="features"/> features stored feature-major
    /// (values[f * samples + i]), all against the same class labels (codes 0 to
    /// <paramref name="classes"/> - 1): counts[f * samples + i] = samples within the distance of
    /// sample i's k[i]-th neighbour in its class.
    /// See <see cref="Kernels.Cpu.CpuNeighborKernels"/> for the radius convention.
    /// </summary>
    void ClassNeighborCounts(
        ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, Span<int> counts, int features, int samples, NeighborMethod method);

    /// <summary>
    /// KSG neighbour counts for features stored feature-major against one target
    /// <paramref name="y"/>: nx, ny[f * samples + i] = samples within the max-norm k-th neighbour distance in x, in y.
    /// </summary>
    void JointNeighborCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny, int features, int samples, NeighborMethod method);

    /// <summary>
    /// sums[f] = sum over samples i of psi[counts[f * samples + i]] for the counts of
    /// <see cref="ClassNeighborCounts"/>, summed in sample order; on a device the counts do not leave it.
    /// </summary>
    void ClassNeighborDigammaSums(
        ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, int classes, ReadOnlySpan<double> psi, Span<double> sums,
        int features, int samples, NeighborMethod method);

    /// <summary>sums[f] = sum over samples i of psi[nx] + psi[ny] for the counts of <see cref="JointNeighborCounts"/>.</summary>
    void JointNeighborDigammaSums(
        ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples, NeighborMethod method);
}
