using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Devices;

/// <summary>
/// The memory behind a <see cref="DeviceBuffer{T}"/>, made and owned by the backend of its
/// device: a managed array for <c>cpu</c>, an ILGPU buffer for the ILGPU kinds. A buffer's
/// copies and clears go through its storage, so they take the backend's queue lock where
/// there is one.
/// </summary>
internal interface IBufferStorage<T> : IDisposable
    where T : unmanaged
{
    /// <summary>Copies <paramref name="source"/> to elements from <paramref name="offset"/> (range already checked).</summary>
    void Write(ReadOnlySpan<T> source, long offset);

    /// <summary>Waits for the device's queued work, then copies elements from <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    void Read(Span<T> destination, long offset);

    /// <summary>Sets every element to zero.</summary>
    void Clear();
}

/// <summary>
/// A <c>cpu</c> buffer: a managed array the SIMD kernels use in place. Its allocation, copies
/// and clears are counted as the ILGPU storage counts them (a read as a download and a
/// synchronization), so that budgets hold on both.
/// </summary>
internal sealed class HostStorage<T> : IBufferStorage<T>
    where T : unmanaged
{
    private readonly DeviceCounterSet counters;

    public HostStorage(DeviceCounterSet counters, long length)
    {
        this.counters = counters;
        Array = new T[length];
        counters.Allocation(length * Unsafe.SizeOf<T>());
    }

    public T[] Array { get; }

    public void Write(ReadOnlySpan<T> source, long offset)
    {
        if (source.Length == 0)
            return;
        counters.Upload((long)source.Length * Unsafe.SizeOf<T>());
        source.CopyTo(Array.AsSpan((int)offset));
    }

    public void Read(Span<T> destination, long offset)
    {
        if (destination.Length == 0)
            return;
        counters.Synchronization();
        counters.Download((long)destination.Length * Unsafe.SizeOf<T>());
        Array.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public void Clear()
    {
        counters.Clear();
        System.Array.Clear(Array);
    }

    public void Dispose()
    {
        // The array is left to the garbage collector.
    }
}

/// <summary>An ILGPU buffer of at least one element on the backend's accelerator; copies hold the backend's queue lock.</summary>
internal sealed class IlgpuStorage<T> : IBufferStorage<T>
    where T : unmanaged
{
    private readonly IlgpuBackend backend;
    private MemoryBuffer1D<T, Stride1D.Dense>? buffer;

    public IlgpuStorage(IlgpuBackend backend, long length)
    {
        this.backend = backend;
        using var scope = backend.Enter();
        buffer = backend.Accelerator.Allocate1D<T>(Math.Max(length, 1));
        buffer.MemSetToZero();
        backend.Accelerator.Synchronize();
        backend.Counters.Allocation(buffer.LengthInBytes);
        backend.Counters.Synchronization();
    }

    /// <summary>The whole buffer as an ILGPU view.</summary>
    public ArrayView<T> View => (buffer ?? throw new ObjectDisposedException("DeviceBuffer")).View;

    // ILGPU's CopyFromCPU/CopyToCPU(ref T, length) take a raw pointer to the ref without
    // pinning it: pin the host memory, or a GC that moves the array during the copy leaves the
    // data in the array's old place.
    public unsafe void Write(ReadOnlySpan<T> source, long offset)
    {
        if (source.Length == 0)
            return;
        using var scope = backend.Enter();
        backend.Counters.Upload((long)source.Length * Unsafe.SizeOf<T>());
        fixed (T* pinned = source)
            View.SubView(offset, source.Length).CopyFromCPU(ref *pinned, source.Length);
    }

    public unsafe void Read(Span<T> destination, long offset)
    {
        if (destination.Length == 0)
            return;
        using var scope = backend.Enter();
        backend.Accelerator.Synchronize();
        backend.Counters.Synchronization();
        backend.Counters.Download((long)destination.Length * Unsafe.SizeOf<T>());
        fixed (T* pinned = destination)
            View.SubView(offset, destination.Length).CopyToCPU(ref *pinned, destination.Length);
    }

    public void Clear()
    {
        using var scope = backend.Enter();
        backend.Counters.Clear();
        View.MemSetToZero();
    }

    public void Dispose()
    {
        if (buffer is null)
            return;
        using var scope = backend.Enter();
        buffer.Dispose();
        buffer = null;
    }
}
