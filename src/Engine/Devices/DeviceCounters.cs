using System.Globalization;

namespace InfoGpu.Devices;

/// <summary>
/// What a device has done since it was opened: a snapshot of its backend's counters
/// (<see cref="ComputeDevice.Counters"/>). Subtract two snapshots to get what happened between
/// them, e.g. the launch, copy and synchronization budget of one training step.
/// </summary>
/// <remarks>
/// <para>
/// Counted the same way on every backend: a kernel launch is one queued kernel on the ILGPU
/// kinds and one kernel call on <c>cpu</c> (whose "device" is host memory: its copies are
/// array copies, its synchronizations no-ops, but they are counted where the ILGPU kinds count
/// theirs, so that a budget holds on both).
/// </para>
/// <list type="bullet">
/// <item><see cref="Launches"/>: kernels queued (ILGPU) or run (cpu); GEMMs included.</item>
/// <item><see cref="Allocations"/>, <see cref="AllocatedBytes"/>: device buffers made (<see cref="ComputeDevice.Allocate{T}(long)"/>) and, on ILGPU, scratch buffers grown.</item>
/// <item><see cref="Uploads"/>, <see cref="UploadedBytes"/>: host-to-device copies (<see cref="DeviceBuffer{T}.CopyFrom"/>, the uploads of the operations on host spans).</item>
/// <item><see cref="Downloads"/>, <see cref="DownloadedBytes"/>: device-to-host copies (<see cref="DeviceBuffer{T}.CopyTo"/>, <see cref="DeviceBuffer{T}.ToArray"/>, the results of the operations on host spans).</item>
/// <item><see cref="DeviceCopies"/>, <see cref="DeviceCopiedBytes"/>: copies from one device buffer to another (they stay on the device).</item>
/// <item><see cref="Clears"/>: buffers set to zero on the device (<see cref="DeviceBuffer{T}.Clear"/>).</item>
/// <item><see cref="Synchronizations"/>: waits for the device's queue: <see cref="ComputeDevice.Synchronize"/>, every download (a copy to the host waits for the queued work first) and, on ILGPU, every allocation (it zeroes the buffer and waits).</item>
/// </list>
/// </remarks>
internal readonly record struct DeviceCounters(
    long Launches,
    long Allocations,
    long AllocatedBytes,
    long Uploads,
    long UploadedBytes,
    long Downloads,
    long DownloadedBytes,
    long DeviceCopies,
    long DeviceCopiedBytes,
    long Clears,
    long Synchronizations)
{
    /// <summary>Host-device copies in either direction.</summary>
    public long HostCopies => Uploads + Downloads;

    /// <summary>What happened between snapshot <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static DeviceCounters operator -(DeviceCounters after, DeviceCounters before) => new(
        after.Launches - before.Launches,
        after.Allocations - before.Allocations,
        after.AllocatedBytes - before.AllocatedBytes,
        after.Uploads - before.Uploads,
        after.UploadedBytes - before.UploadedBytes,
        after.Downloads - before.Downloads,
        after.DownloadedBytes - before.DownloadedBytes,
        after.DeviceCopies - before.DeviceCopies,
        after.DeviceCopiedBytes - before.DeviceCopiedBytes,
        after.Clears - before.Clears,
        after.Synchronizations - before.Synchronizations);

    /// <summary>One line, e.g. "10 launches, 0 allocations (0 B), 0 uploads (0 B), 0 downloads (0 B), 0 device copies (0 B), 0 clears, 0 synchronizations".</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Launches} launches, {Allocations} allocations ({AllocatedBytes} B), {Uploads} uploads ({UploadedBytes} B), {Downloads} downloads ({DownloadedBytes} B), {DeviceCopies} device copies ({DeviceCopiedBytes} B), {Clears} clears, {Synchronizations} synchronizations");
}

/// <summary>
/// The running counters of one backend: each event is one <see cref="Interlocked"/> add, so
/// counting is cheap and exact when several threads share the device.
/// </summary>
internal sealed class DeviceCounterSet
{
    private long launches, allocations, allocatedBytes, uploads, uploadedBytes, downloads, downloadedBytes, deviceCopies, deviceCopiedBytes, clears, synchronizations;

    public void Launch() => Interlocked.Increment(ref launches);

    public void Allocation(long bytes)
    {
        Interlocked.Increment(ref allocations);
        Interlocked.Add(ref allocatedBytes, bytes);
    }

    public void Upload(long bytes)
    {
        Interlocked.Increment(ref uploads);
        Interlocked.Add(ref uploadedBytes, bytes);
    }

    public void Download(long bytes)
    {
        Interlocked.Increment(ref downloads);
        Interlocked.Add(ref downloadedBytes, bytes);
    }

    public void DeviceCopy(long bytes)
    {
        Interlocked.Increment(ref deviceCopies);
        Interlocked.Add(ref deviceCopiedBytes, bytes);
    }

    public void Clear() => Interlocked.Increment(ref clears);

    public void Synchronization() => Interlocked.Increment(ref synchronizations);

    /// <summary>The counters now (each read atomically; a snapshot taken while other threads count may mix their events' halves, e.g. a copy without its bytes).</summary>
    public DeviceCounters Snapshot() => new(
        Interlocked.Read(ref launches),
        Interlocked.Read(ref allocations),
        Interlocked.Read(ref allocatedBytes),
        Interlocked.Read(ref uploads),
        Interlocked.Read(ref uploadedBytes),
        Interlocked.Read(ref downloads),
        Interlocked.Read(ref downloadedBytes),
        Interlocked.Read(ref deviceCopies),
        Interlocked.Read(ref deviceCopiedBytes),
        Interlocked.Read(ref clears),
        Interlocked.Read(ref synchronizations));
}
