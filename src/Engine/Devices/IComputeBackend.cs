using InfoGpu.Kernels;

namespace InfoGpu.Devices;

/// <summary>
/// The operations every backend implements; algorithms are written once against these.
/// Spans are host memory: each call uploads, runs and downloads, and returns when the
/// result is in <c>destination</c> (it synchronizes with the device). Operations on
/// <see cref="DeviceBuffer{T}"/>s queue their work and return without synchronizing (the
/// <c>cpu</c> backend runs them in place before it returns).
/// </summary>
/// <remarks>
/// Implementations are safe to call from several threads at once on one device: each call
/// gives what it gives on one thread, provided that no two calls write, or one writes and
/// another reads, the same device buffer at the same time.
/// </remarks>
internal partial interface IComputeBackend : IDisposable
{
    /// <summary>What this backend has launched, allocated, copied and waited for (see <see cref="DeviceCounters"/>).</summary>
    DeviceCounterSet Counters { get; }

    /// <summary>Zeroed storage of <paramref name="length"/> elements for a <see cref="DeviceBuffer{T}"/>.</summary>
    IBufferStorage<T> Allocate<T>(long length)
        where T : unmanaged;

    /// <summary>
    /// destination[destinationOffset..] = source[sourceOffset..] for <paramref name="count"/>
    /// elements, on the device (queued; no host copy, no synchronization). Ranges already
    /// checked; the two buffers are distinct.
    /// </summary>
    void CopyBuffer<T>(DeviceBuffer<T> source, long sourceOffset, DeviceBuffer<T> destination, long destinationOffset, long count)
        where T : unmanaged;

    /// <summary>Waits until every operation queued on the device has finished.</summary>
    void Synchronize();

    /// <summary>dst[dstOffset..] (count x cols) = rows order[start..start + count) of src: a mini-batch in the epoch's order (RBM and VAE training).</summary>
    void GatherRows(DeviceBuffer<float> src, DeviceBuffer<int> order, DeviceBuffer<float> dst, int start, int count, int cols, long dstOffset);

    /// <summary>result[r] = scale * sum_j term(p[r, j], q[r, j]).</summary>
    void RowReduce<TTerm>(ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm;

    /// <summary>
    /// result[r] = scale * sum_j term(p[r, j], q[r, j]) for rows r &lt; <paramref name="rows"/>
    /// of device buffers: the same kernel, and so the same bits, as the span form on this
    /// backend. Queues the work and returns (no upload, download or synchronization). Rows are
    /// not checked; the caller has checked the lengths and that result overlaps neither input.
    /// </summary>
    void RowReduce<TTerm>(DeviceBuffer<float> p, DeviceBuffer<float> q, DeviceBuffer<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm;

    /// <summary>
    /// <see cref="RowReduce{TTerm}(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, float, TTerm)"/> after checking that every row of p (and of q when
    /// <paramref name="checkQ"/>) is a distribution within <paramref name="tolerance"/>; false,
    /// with the results incomplete, when a row is not. The cpu backend does both in one pass.
    /// </summary>
    bool CheckedRowReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term, bool checkQ, double tolerance)
        where TTerm : struct, IRowTerm;

    /// <summary>Per-row losses from logits (<see cref="LogitMath"/> modes).</summary>
    void LogitLoss(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> losses, int rows, int cols, float epsilon, int mode);

    /// <summary>Row-wise softmax, or log-softmax.</summary>
    void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int cols, bool logOutput);

    /// <summary>For each nx-by-ny table: H(X), H(Y), H(X,Y) times scale, three floats per table.</summary>
    void JointEntropies(ReadOnlySpan<float> tables, Span<float> result, int count, int nx, int ny, float scale);

    /// <summary>counts[x_i * ny + y_i] += 1 for every sample; counts is nx * ny and is overwritten.</summary>
    void JointCounts(ReadOnlySpan<int> x, ReadOnlySpan<int> y, Span<int> counts, int nx, int ny);

    /// <summary>result[i] = -scale ln p[i].</summary>
    void SelfInformation(ReadOnlySpan<float> p, Span<float> result, float scale);
}
