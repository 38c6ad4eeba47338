using InfoGpu.Kernels;

namespace InfoGpu.Devices;

/// <summary>
/// The device state of a batched information-bottleneck run: every lane (one beta) with its
/// encoder and marginals, advanced together, one launch per split, update or merge. Not
/// thread-safe: one run drives it (the backend's own lock still guards each call).
/// </summary>
internal interface IIbLanes : IDisposable
{
    /// <summary>Starts a stage: each lane's beta, and its flags (active, done, iterations, used) as given.</summary>
    void BeginStage(ReadOnlySpan<float> betas, ReadOnlySpan<int> flags);

    /// <summary>Splits the used clusters of every active lane (one launch).</summary>
    void Split(IbShape shape);

    /// <summary>One self-consistent update of every active, unconverged lane (one launch).</summary>
    void Update(IbShape shape);

    /// <summary>Merges the coinciding clusters of every active lane (one launch).</summary>
    void Merge(IbShape shape);

    /// <summary>Copies lane <paramref name="from"/>'s state over lane <paramref name="to"/>'s, on the device.</summary>
    void CopyLane(int from, int to);

    /// <summary>Copies the flags to the host (synchronizes).</summary>
    void ReadFlags(Span<int> flags);

    /// <summary>Copies every lane's state to the host (synchronizes).</summary>
    void ReadState(Span<float> state);
}

internal partial interface IComputeBackend
{
    /// <summary>
    /// Allocates the lanes of a batched information bottleneck: the problem (p(x, y), p(x),
    /// p(y|x), log p(y|x); <see cref="IbShape.ProblemFloats"/> floats) uploaded once, and each
    /// lane's state starting as one cluster holding every x.
    /// </summary>
    IIbLanes CreateIbLanes(ReadOnlySpan<float> problem, IbShape shape, int lanes);
}
