using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace InfoGpu.Devices;

/// <summary>
/// One compute device: either the SIMD <c>cpu</c> path or an ILGPU accelerator with its
/// kernels. Every InfoGpu computation runs on one of these. Dispose it when done.
/// </summary>
/// <remarks>
/// <para>
/// Threads: one device may be shared by any number of threads. Every operation on it (the
/// measures, GEMM, the kernels of the trainers and samplers, <see cref="Allocate{T}(long)"/>,
/// <see cref="Synchronize"/>) may be called from several threads at once and gives, bit for
/// bit, what it gives on one thread. On the ILGPU kinds the calls take turns on the device's
/// one queue (a lock held while a call uploads, launches and downloads), so threads add no
/// device throughput there; on <c>cpu</c> they run side by side.
/// </para>
/// <para>
/// What is not safe: two calls that write the same <see cref="DeviceBuffer{T}"/>, or one that
/// writes it while another reads it, at the same time (see <see cref="DeviceBuffer{T}"/>);
/// disposing the device while another thread still uses it. <see cref="Synchronize"/> waits
/// for the work every thread has queued, not only the caller's.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// using var device = ComputeDevice.Open(DeviceKind.Auto);
/// var measures = new InformationMeasures(device);
/// float[] h = measures.Entropy([0.2f, 0.8f, 0.5f, 0.5f], columns: 2, LogBase.Bits);
/// </code>
/// </example>
public sealed class ComputeDevice : IDisposable
{
    private ComputeDevice(DeviceKind kind, IComputeBackend backend, DeviceInfo info, string? note)
    {
        Kind = kind;
        Backend = backend;
        Info = info.Gemm is null ? info with { Gemm = backend.GemmPath } : info;
        FallbackNote = note;
    }

    /// <summary>The resolved kind (never <see cref="DeviceKind.Auto"/>).</summary>
    public DeviceKind Kind { get; }

    /// <summary>What the device is.</summary>
    public DeviceInfo Info { get; }

    /// <summary>When <c>auto</c> fell back past a device that failed to start, why; otherwise null.</summary>
    public string? FallbackNote { get; }

    internal IComputeBackend Backend { get; }

    /// <summary>
    /// What the device has done since it was opened: kernel launches, allocations, host-device
    /// copies with their bytes, device-to-device copies, clears and synchronizations, counted
    /// alike on every backend (see <see cref="DeviceCounters"/>). Subtract two snapshots for the
    /// budget of the work between them; other threads' work on the device counts too.
    /// </summary>
    internal DeviceCounters Counters => Backend.Counters.Snapshot();

    /// <summary>The ILGPU accelerator, for the kinds that have one; null for <c>cpu</c>.</summary>
    internal Accelerator? Accelerator => (Backend as IlgpuBackend)?.Accelerator;

    /// <summary>Opens the device named on the console or in <c>INFOGPU_ACCELERATOR</c> (null: the default).</summary>
    public static ComputeDevice Open(string? kindName) =>
        Open(kindName is null ? DeviceKinds.Default() : DeviceKinds.Parse(kindName));

    /// <summary>
    /// Opens a device of <paramref name="kind"/>. <c>auto</c> tries cuda, then opencl, then
    /// cpu. An absent kind throws <see cref="InfoGpuException"/> naming the kinds present.
    /// </summary>
    public static ComputeDevice Open(DeviceKind kind)
    {
        if (kind == DeviceKind.Auto)
            return OpenAuto();
        return TryOpen(kind) ?? throw Absent(kind);
    }

    /// <summary>Opens a device of a concrete kind, or returns null when none is present; throws <see cref="DeviceStartException"/> when one is present but fails to start.</summary>
    private static ComputeDevice? TryOpen(DeviceKind kind) => kind switch
    {
        DeviceKind.Cpu => new ComputeDevice(DeviceKind.Cpu, new CpuBackend(), CpuBackend.Describe(), null),
        DeviceKind.IlgpuCpu => OpenIlgpu(kind, b => b.CPU(), ctx => ctx.GetCPUDevices().Count > 0 ? ctx.GetCPUDevice(0) : null),
        DeviceKind.Cuda => OpenIlgpu(kind, b => b.Cuda(), ctx => ctx.GetCudaDevices().Count > 0 ? ctx.GetCudaDevice(0) : null),
        DeviceKind.OpenCL => OpenIlgpu(kind, b => b.OpenCL(), ctx => ctx.GetCLDevices().Count > 0 ? ctx.GetCLDevice(0) : null),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// An <c>ilgpu-cpu</c> device that simulates a GPU of one multiprocessor with
    /// <paramref name="warpSize"/> threads per warp and groups of up to warpSize x
    /// <paramref name="warpsPerGroup"/> threads (32 x 32: NVIDIA's shape), so that tests can run
    /// the kernels at the group sizes of real GPUs (IlgpuBackend.SetGroupSize).
    /// </summary>
    internal static ComputeDevice OpenSimulatedGpu(int warpSize, int warpsPerGroup) =>
        OpenIlgpu(DeviceKind.IlgpuCpu, b => b.CPU(new CPUDevice(warpSize, warpsPerGroup, 1)), ctx => ctx.GetCPUDevices().Count > 0 ? ctx.GetCPUDevice(0) : null)
        ?? throw new InfoGpuException("the simulated GPU could not be opened");

    private static ComputeDevice OpenAuto()
    {
        var notes = new List<string>();
        foreach (var k in new[] { DeviceKind.Cuda, DeviceKind.OpenCL })
        {
            // No driver, no device: ILGPU (and its start-up) only where one may be present.
            if (!(k == DeviceKind.Cuda ? DriverProbe.MayHaveCuda() : DriverProbe.MayHaveOpenCL()))
                continue;
            try
            {
                if (TryOpen(k) is ComputeDevice device)
                    return notes.Count == 0 ? device : device.WithNote(string.Join("; ", notes));
            }
            catch (DeviceStartException e)
            {
                notes.Add(e.Message);
            }
        }
        var cpu = Open(DeviceKind.Cpu);
        return notes.Count == 0 ? cpu : cpu.WithNote(string.Join("; ", notes) + "; falling back to cpu");
    }

    private ComputeDevice WithNote(string note) => new(Kind, Backend, Info, note);

    /// <summary>Every device present on this machine, one entry per kind found.</summary>
    public static IReadOnlyList<DeviceInfo> Available()
    {
        var list = new List<DeviceInfo> { CpuBackend.Describe() };
        foreach (var kind in new[] { DeviceKind.IlgpuCpu, DeviceKind.Cuda, DeviceKind.OpenCL })
        {
            try
            {
                using var device = TryOpen(kind);
                if (device is not null)
                    list.Add(device.Info);
            }
            catch (DeviceStartException)
            {
                // present but failing: not usable, so not listed
            }
        }
        return list;
    }

    /// <summary>
    /// ILGPU's CPU accelerator shaped like an NVIDIA GPU (warps of 32 threads, as
    /// <see cref="CPUDevice.Nvidia"/>, every thread simulated by a thread of its own) with a GPU's
    /// launch shapes: row kernels in groups of <paramref name="rowGroupSize"/> threads and GEMM
    /// groups of <paramref name="gemmTile"/> x <paramref name="gemmTile"/> threads (16: the GPU's
    /// register-blocked kernel on 64 x 64 blocks; 4: the small one on 16 x 16 blocks). One multiprocessor of
    /// as many warps as the larger group needs (up to 32, the 1024 threads of an NVIDIA group),
    /// so no more threads are made than one group uses. For tests that run the kernels as a GPU
    /// would, with no GPU; its kind is <see cref="DeviceKind.IlgpuCpu"/>.
    /// </summary>
    internal static ComputeDevice OpenNvidiaShapedCpu(int rowGroupSize = 256, int gemmTile = 16)
    {
        const int warp = 32;
        int group = Math.Max(rowGroupSize, gemmTile * gemmTile);
        if (group > 1024 || rowGroupSize < 1 || gemmTile < 1)
            throw new ArgumentOutOfRangeException(nameof(rowGroupSize), "groups of 1 to 1024 threads");
        var device = new CPUDevice(warp, (group + warp - 1) / warp, 1);
        var context = Context.Create(b => b.CPU(device).EnableAlgorithms().Optimize(OptimizationLevel.O1));
        try
        {
            var accelerator = context.GetCPUDevice(0).CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel);
            var info = new DeviceInfo(
                DeviceKinds.Name(DeviceKind.IlgpuCpu),
                $"{accelerator.Name} shaped like an NVIDIA GPU (warp {accelerator.WarpSize}, rows in groups of {rowGroupSize}, GEMM groups {gemmTile}x{gemmTile})",
                GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
                accelerator.WarpSize,
                accelerator.MaxNumThreadsPerGroup);
            return new ComputeDevice(DeviceKind.IlgpuCpu, new IlgpuBackend(context, accelerator, info, rowGroupSize) { GemmTile = gemmTile }, info, null);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private static InfoGpuException Absent(DeviceKind kind)
    {
        var present = Available().Select(d => d.Kind);
        return new InfoGpuException(
            $"accelerator '{DeviceKinds.Name(kind)}' is not present on this machine; present: {string.Join(", ", present)}");
    }

    private static ComputeDevice? OpenIlgpu(DeviceKind kind, Func<Context.Builder, Context.Builder> configure, Func<Context, Device?> pick)
    {
        Context? context = null;
        try
        {
            // EnableAlgorithms maps MathF and group reductions to device intrinsics; without it
            // PTX compilation of MathF.Exp fails while the CPU accelerator hides the mistake.
            context = Context.Create(b => configure(b).EnableAlgorithms().Optimize(OptimizationLevel.O1));
            var device = pick(context);
            // ILGPU substitutes a CPU device when no GPU of the kind qualifies: only accept the
            // device type that was asked for.
            var expected = kind switch
            {
                DeviceKind.Cuda => AcceleratorType.Cuda,
                DeviceKind.OpenCL => AcceleratorType.OpenCL,
                _ => AcceleratorType.CPU,
            };
            if (device is null || device.AcceleratorType != expected)
            {
                context.Dispose();
                return null;
            }
            var accelerator = device is CPUDevice cpu
                ? cpu.CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel)
                : device.CreateAccelerator(context);
            var info = new DeviceInfo(
                DeviceKinds.Name(kind),
                accelerator.Name,
                accelerator.AcceleratorType == AcceleratorType.CPU ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes : accelerator.MemorySize,
                accelerator.WarpSize,
                accelerator.MaxNumThreadsPerGroup);
            return new ComputeDevice(kind, new IlgpuBackend(context, accelerator, info), info, null);
        }
        catch (Exception e) when (e is not InfoGpuException)
        {
            context?.Dispose();
            throw new DeviceStartException(
                $"accelerator '{DeviceKinds.Name(kind)}' failed to start: {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>
    /// Allocates a zeroed buffer of <paramref name="length"/> elements on this device. A size
    /// that cannot fit is refused before allocation, with the bytes needed and available.
    /// </summary>
    public DeviceBuffer<T> Allocate<T>(long length)
        where T : unmanaged
    {
        if (length < 0)
            throw new ArgumentOutOfRangeException(nameof(length), "length must be >= 0");
        long bytes = length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (bytes > Info.MemoryBytes || (Kind == DeviceKind.Cpu && length > Array.MaxLength))
        {
            throw new InfoGpuException(
                $"cannot allocate {bytes:N0} bytes on {Info.Kind} ({Info.Name}): {Info.MemoryBytes:N0} bytes available; use smaller sizes or batches");
        }
        return new DeviceBuffer<T>(this, length);
    }

    /// <summary>Waits until every queued kernel has finished (a no-op on <c>cpu</c>, whose calls return when done).</summary>
    public void Synchronize() => Backend.Synchronize();

    /// <summary>
    /// Releases the device: for the ILGPU kinds its scratch buffers, accelerator and context (a
    /// no-op for <c>cpu</c>). Dispose every <see cref="DeviceBuffer{T}"/> and object that uses
    /// the device first.
    /// </summary>
    public void Dispose() => Backend.Dispose();
}

/// <summary>A device that is present but failed to start (driver or out-of-memory trouble).</summary>
public sealed class DeviceStartException : InfoGpuException
{
    /// <summary>Creates the exception with a one-line message and the driver or runtime error that caused it.</summary>
    public DeviceStartException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with the default message.</summary>
    public DeviceStartException()
    {
    }

    /// <summary>Creates the exception with a one-line message.</summary>
    public DeviceStartException(string message)
        : base(message)
    {
    }
}
