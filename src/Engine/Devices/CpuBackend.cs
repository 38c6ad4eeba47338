using System.Runtime.Intrinsics;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Devices;

/// <summary>The <c>cpu</c> backend: SIMD C# kernels on the calling process's threads.</summary>
/// <remarks>
/// Holds no state but its counters (<see cref="DeviceCounterSet"/>, interlocked), and its
/// kernels (src/Kernels/Cpu) keep none between calls: their scratch arrays are made per call
/// or rented from the shared array pool, which is thread-safe. So any number of threads may
/// call it at once. Every kernel call counts as one launch.
/// </remarks>
internal sealed partial class CpuBackend : IComputeBackend
{
    public static DeviceInfo Describe() => new(
        "cpu",
        $"{Environment.ProcessorCount}-core x86-64 SIMD ({SimdBits()}-bit)",
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
        SimdBits() / 32,
        Environment.ProcessorCount,
        SimdBits(),
        Environment.ProcessorCount);

    private static int SimdBits() =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 32;

    public void RowReduce<TTerm>(ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        Counters.Launch();
        CpuRowKernels.RowReduce(p, q, result, rows, cols, scale, term);
    }

    public void RowReduce<TTerm>(DeviceBuffer<float> p, DeviceBuffer<float> q, DeviceBuffer<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        Counters.Launch();
        CpuRowKernels.RowReduce(p.Span[..(rows * cols)], q.Span[..(rows * cols)], result.Span[..rows], rows, cols, scale, term);
    }

    public bool CheckedRowReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term, bool checkQ, double tolerance)
        where TTerm : struct, IRowTerm
    {
        Counters.Launch();
        return CpuRowKernels.CheckedRowReduce(p, q, result, rows, cols, scale, term, checkQ, tolerance);
    }

    public void LogitLoss(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> losses, int rows, int cols, float epsilon, int mode)
    {
        Counters.Launch();
        CpuRowKernels.LogitLoss(logits, targets, losses, rows, cols, epsilon, mode);
    }

    public void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int cols, bool logOutput)
    {
        Counters.Launch();
        CpuRowKernels.Softmax(x, y, rows, cols, logOutput);
    }

    public void JointEntropies(ReadOnlySpan<float> tables, Span<float> result, int count, int nx, int ny, float scale)
    {
        Counters.Launch();
        CpuTableKernels.JointEntropies(tables, result, count, nx, ny, scale);
    }

    public void JointCounts(ReadOnlySpan<int> x, ReadOnlySpan<int> y, Span<int> counts, int nx, int ny)
    {
        Counters.Launch();
        CpuTableKernels.JointCounts(x, y, counts, ny);
    }

    public void SelfInformation(ReadOnlySpan<float> p, Span<float> result, float scale)
    {
        Counters.Launch();
        CpuTableKernels.SelfInformation(p, result, scale);
    }

    public void GatherRows(DeviceBuffer<float> src, DeviceBuffer<int> order, DeviceBuffer<float> dst, int start, int count, int cols, long dstOffset)
    {
        Counters.Launch();
        CpuRowKernels.GatherRows(src.Span, order.Span, dst.Span, start, count, cols, dstOffset);
    }

    public DeviceCounterSet Counters { get; } = new();

    public IBufferStorage<T> Allocate<T>(long length)
        where T : unmanaged => new HostStorage<T>(Counters, length);

    public void CopyBuffer<T>(DeviceBuffer<T> source, long sourceOffset, DeviceBuffer<T> destination, long destinationOffset, long count)
        where T : unmanaged
    {
        if (count == 0)
            return;
        Counters.DeviceCopy(count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        Array.Copy(source.HostArray!, sourceOffset, destination.HostArray!, destinationOffset, count);
    }

    /// <summary>Nothing to wait for: every cpu call returns when its work is done (counted all the same, as on the ILGPU kinds).</summary>
    public void Synchronize() => Counters.Synchronization();

    public void Dispose()
    {
    }
}
