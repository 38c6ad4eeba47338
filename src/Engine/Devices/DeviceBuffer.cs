using ILGPU;

namespace InfoGpu.Devices;

/// <summary>
/// A 1-D array that lives on a device, in storage its backend makes and owns (a managed array
/// for the <c>cpu</c> backend, used in place by its kernels; an ILGPU buffer for the others). Training code keeps its
/// parameters, batches and workspaces in these so that a step copies nothing.
/// Made by <see cref="ComputeDevice.Allocate{T}(long)"/>; dispose it before the device.
/// </summary>
/// <remarks>
/// <para>
/// Threads: a buffer is plain memory, with no lock of its own. Safe: several threads reading
/// one buffer at once (as an input of calls, or with <see cref="CopyTo"/>/<see cref="ToArray"/>);
/// threads each using their own buffers on a shared device; writing disjoint ranges with
/// <see cref="CopyFrom"/>.
/// </para>
/// <para>
/// Not safe: two threads writing one buffer at once (two calls with it as output, two
/// overlapping <see cref="CopyFrom"/>s, a <see cref="Clear"/> during a call), or one thread
/// writing it while another reads it; the result is then whichever write lands last, or a
/// mix. Order such uses yourself (one thread, or a lock of yours around them). Calls on device
/// buffers return once their work is queued: a copy to the host waits for the device, so a
/// thread that queues work and then copies its result sees that work done. Do not dispose a
/// buffer that another thread is still using.
/// </para>
/// </remarks>
public sealed class DeviceBuffer<T> : IDisposable
    where T : unmanaged
{
    private IBufferStorage<T>? storage;

    internal DeviceBuffer(ComputeDevice device, long length)
    {
        Device = device;
        Length = length;
        storage = device.Backend.Allocate<T>(length);
    }

    /// <summary>The device that allocated the buffer and on which it can be used.</summary>
    public ComputeDevice Device { get; }

    /// <summary>Number of elements of <typeparamref name="T"/> (may be 0).</summary>
    public long Length { get; }

    private IBufferStorage<T> Storage => storage ?? throw new ObjectDisposedException(nameof(DeviceBuffer<T>), "the buffer was disposed");

    /// <summary>The backing array of a <c>cpu</c> buffer (null on ILGPU devices).</summary>
    internal T[]? HostArray => (Storage as HostStorage<T>)?.Array;

    /// <summary>The elements of a <c>cpu</c> buffer; throws on ILGPU devices.</summary>
    internal Span<T> Span => HostArray ?? throw new InvalidOperationException("not a cpu buffer");

    /// <summary>The ILGPU view of the buffer (length <see cref="Length"/>, at least 1); throws on the cpu backend.</summary>
    internal ArrayView<T> View =>
        (Storage as IlgpuStorage<T> ?? throw new InvalidOperationException("not an ILGPU buffer")).View.SubView(0, Math.Max(Length, 1));

    /// <summary>Copies host data into the buffer from <paramref name="offset"/> on.</summary>
    public void CopyFrom(ReadOnlySpan<T> source, long offset = 0)
    {
        CheckRange(offset, source.Length);
        Storage.Write(source, offset);
    }

    /// <summary>Copies the buffer (from <paramref name="offset"/>) into host memory; waits for the device's queued work first.</summary>
    public void CopyTo(Span<T> destination, long offset = 0)
    {
        CheckRange(offset, destination.Length);
        Storage.Read(destination, offset);
    }

    /// <summary>The whole buffer as a new host array (waits for the device's queued work).</summary>
    public T[] ToArray()
    {
        var result = new T[Length];
        CopyTo(result);
        return result;
    }

    /// <summary>Sets every element to zero.</summary>
    public void Clear() => Storage.Clear();

    private void CheckRange(long offset, int count)
    {
        if (offset < 0 || offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset + count}) is outside a buffer of {Length} elements");
    }

    /// <summary>
    /// Frees the device memory of an ILGPU buffer (calling it again does nothing); a <c>cpu</c>
    /// buffer's array is left to the garbage collector. Do not use the buffer afterwards: its
    /// calls then throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        storage?.Dispose();
        storage = null;
    }
}
