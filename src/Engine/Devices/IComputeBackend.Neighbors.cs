namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>
    /// Ross's neighbour counts by brute force for <paramref name="features"/> features stored
    /// feature-major (values[f * samples + i]), all against the same class labels (codes):
    /// counts[f * samples + i] = samples within the distance of sample i's k[i]-th neighbour in its class.
    /// See <see cref="Kernels.Cpu.CpuNeighborKernels"/> for the radius convention.
    /// </summary>
    void ClassNeighborCounts(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, Span<int> counts, int features, int samples);

    /// <summary>
    /// KSG neighbour counts by brute force for features stored feature-major against one target
    /// <paramref name="y"/>: nx, ny[f * samples + i] = samples within the max-norm k-th neighbour distance in x, in y.
    /// </summary>
    void JointNeighborCounts(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, Span<int> nx, Span<int> ny, int features, int samples);

    /// <summary>
    /// sums[f] = sum over samples i of psi[counts[f * samples + i]] for the counts of
    /// <see cref="ClassNeighborCounts"/>, without the counts leaving the device.
    /// </summary>
    void ClassNeighborDigammaSums(ReadOnlySpan<double> values, ReadOnlySpan<int> labels, ReadOnlySpan<int> k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples);

    /// <summary>sums[f] = sum over samples i of psi[nx] + psi[ny] for the counts of <see cref="JointNeighborCounts"/>.</summary>
    void JointNeighborDigammaSums(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int k, ReadOnlySpan<double> psi, Span<double> sums, int features, int samples);
}
