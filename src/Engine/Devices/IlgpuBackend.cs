using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

/// <summary>
/// The ILGPU backends (<c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c>): one accelerator, its
/// kernels loaded once on first use, and growable scratch buffers reused from call to call.
/// The operations on host spans synchronize before they return; those on device buffers only
/// queue their kernel.
/// </summary>
/// <remarks>
/// <para>
/// Safe to call from several threads. Every operation holds <see cref="queue"/>, the lock of
/// the device's one queue (ILGPU's default stream), from its first upload or launch to its
/// last download, and binds the accelerator to the calling thread (CUDA launches need the
/// context current on the thread). The lock guards everything in this class that changes after
/// construction: the scratch buffers (a call uploads into them, launches and downloads from
/// them, so two calls must not interleave), the kernels loaded on first use (the lazily set
/// fields and <see cref="rowReduceKernels"/>), and <c>gemmDummy</c>. It also keeps launches
/// apart, which OpenCL needs (setting the arguments of a kernel object and enqueueing it is
/// not atomic there) and the CPU accelerator does anyway (it runs one kernel at a time).
/// </para>
/// <para>
/// Why a lock rather than scratch allocated per call: the device runs one queue, so a second
/// thread gains little from enqueueing while the first one's kernel runs, whereas per-call
/// buffers cost an allocation and a free per buffer per call (on CUDA a free synchronizes the
/// device). Measured on <c>ilgpu-cpu</c> ("A device shared by threads" in
/// benchmarks/RESULTS.md; 2-core machine under load): whole entropy calls cost the same both
/// ways within the noise, for 1, 2 and 8 threads (the simulated kernel dominates, and the CPU
/// accelerator runs one kernel at a time), while the scratch handling alone (lock and reused
/// buffers against allocate, copy and free) took 2.7-3.1 against 8.8-17 microseconds at
/// 37 x 29 (one outlier run aside) and 0.29-0.37 against 4.6-5.7 milliseconds at 1000 x 784.
/// The lock is needed anyway for the kernels loaded on first use and for OpenCL launches.
/// </para>
/// </remarks>
internal sealed partial class IlgpuBackend : IComputeBackend
{
    private readonly Context context;

    /// <summary>The lock of the device queue: held by every operation (see the remarks of the class).</summary>
    private readonly Lock queue = new();
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, long>? gatherKernel;

    private readonly Dictionary<Type, Delegate> rowReduceKernels = [];
    private readonly Dictionary<string, MemoryBuffer> scratch = [];
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float, int> logitLossKernel;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> softmaxKernel;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float> jointEntropiesKernel;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> jointCountKernel;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, float> selfInformationKernel;

    /// <param name="context">The ILGPU context, owned (disposed with the backend).</param>
    /// <param name="accelerator">The accelerator, owned.</param>
    /// <param name="info">What the device is.</param>
    /// <param name="rowGroupSize">
    /// Threads per group of the row kernels, a power of two; 0 for the default (256 on GPUs,
    /// 16 on the CPU accelerator, which simulates every thread). Tests give the CPU accelerator
    /// a GPU's groups to run the kernels at the shapes a GPU runs them.
    /// </param>
    public IlgpuBackend(Context context, Accelerator accelerator, DeviceInfo info, int rowGroupSize = 0)
    {
        this.context = context;
        Accelerator = accelerator;
        Info = info;
        // A power of two for the tree reductions; the CPU accelerator simulates every thread,
        // so it gets small groups.
        int cap = accelerator.AcceleratorType == AcceleratorType.CPU ? 16 : 256;
        RowGroupSize = rowGroupSize > 0
            ? rowGroupSize
            : (int)Math.Min(cap, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)accelerator.MaxNumThreadsPerGroup + 1) / 2);
        logitLossKernel = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float, int>(RowKernels.LogitLossKernel);
        softmaxKernel = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(RowKernels.SoftmaxKernel);
        jointEntropiesKernel = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, float>(TableKernels.JointEntropiesKernel);
        jointCountKernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>(TableKernels.JointCountKernel);
        selfInformationKernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(TableKernels.SelfInformationKernel);
        // The GEMM's stand-in for absent epilogue buffers, made here rather than at the first
        // GEMM so that no step allocates (see DeviceCounters).
        gemmDummy = accelerator.Allocate1D<float>(1);
        Counters.Allocation(gemmDummy.LengthInBytes);
    }

    public Accelerator Accelerator { get; }

    /// <summary>Launches, allocations, copies and synchronizations (counted where they happen: the launch sites, the scratch and copy helpers, <see cref="IlgpuStorage{T}"/>).</summary>
    public DeviceCounterSet Counters { get; } = new();

    public DeviceInfo Info { get; }

    /// <summary>Threads per group of the row kernels (a power of two).</summary>
    public int RowGroupSize { get; private set; }

    /// <summary>
    /// Takes the queue lock and binds the accelerator to this thread; dispose the scope (a
    /// <c>using</c>) to release the lock. Every public operation starts with it.
    /// </summary>
    internal Lock.Scope Enter()
    {
        var scope = queue.EnterScope();
        Accelerator.Bind();
        return scope;
    }

    public void GatherRows(DeviceBuffer<float> src, DeviceBuffer<int> order, DeviceBuffer<float> dst, int start, int count, int cols, long dstOffset)
    {
        using var scope = Enter();
        gatherKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, long>(RowKernels.GatherRowsKernel);
        if (count > 0 && cols > 0)
        {
            Counters.Launch();
            gatherKernel(count * cols, src.View, order.View, dst.View, start, cols, dstOffset);
        }
    }

    public IBufferStorage<T> Allocate<T>(long length)
        where T : unmanaged => new IlgpuStorage<T>(this, length);

    public void CopyBuffer<T>(DeviceBuffer<T> source, long sourceOffset, DeviceBuffer<T> destination, long destinationOffset, long count)
        where T : unmanaged
    {
        if (count == 0)
            return;
        using var scope = Enter();
        Counters.DeviceCopy(count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        source.View.SubView(sourceOffset, count).CopyTo(destination.View.SubView(destinationOffset, count));
    }

    public void Synchronize()
    {
        using var scope = Enter();
        Counters.Synchronization();
        Accelerator.Synchronize();
    }

    private KernelConfig RowConfig(int rows) =>
        new(new Index1D(rows), new Index1D(RowGroupSize), SharedMemoryConfig.RequestDynamic<float>(RowGroupSize));

    public void RowReduce<TTerm>(ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        if (rows == 0)
            return;
        using var scope = Enter();
        var dp = Upload("p", p);
        var dq = Upload("q", q);
        var dr = Scratch<float>("r", rows);
        LaunchRowReduce(dp, dq, dr, rows, cols, scale, term);
        Download(dr, result);
    }

    public void RowReduce<TTerm>(DeviceBuffer<float> p, DeviceBuffer<float> q, DeviceBuffer<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        if (rows == 0)
            return;
        using var scope = Enter();
        LaunchRowReduce(p.View, q.View, result.View, rows, cols, scale, term);
    }

    /// <summary>Queues the row-reduce kernel of <typeparamref name="TTerm"/> (loaded on first use); the caller holds the lock.</summary>
    private void LaunchRowReduce<TTerm>(ArrayView<float> p, ArrayView<float> q, ArrayView<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        if (!rowReduceKernels.TryGetValue(typeof(TTerm), out var kernel))
        {
            kernel = Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, TTerm>(
                RowKernels.RowReduceKernel);
            rowReduceKernels[typeof(TTerm)] = kernel;
        }
        var launch = (Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, TTerm>)kernel;
        Counters.Launch();
        launch(RowConfig(rows), p, q, result, cols, scale, term);
    }

    public bool CheckedRowReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term, bool checkQ, double tolerance)
        where TTerm : struct, IRowTerm
    {
        // The rows are on the host before the upload: check them there (without the lock), then
        // reduce on the device.
        if (!CpuRowKernels.AllRowsValid(p, cols, tolerance) || (checkQ && !CpuRowKernels.AllRowsValid(q, cols, tolerance)))
            return false;
        RowReduce(p, q, result, rows, cols, scale, term);
        return true;
    }

    public void LogitLoss(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> losses, int rows, int cols, float epsilon, int mode)
    {
        if (rows == 0)
            return;
        using var scope = Enter();
        var dx = Upload("p", logits);
        var dt = Upload("t", targets);
        var dl = Scratch<float>("r", rows);
        Counters.Launch();
        logitLossKernel(RowConfig(rows), dx, dt, dl, cols, epsilon, mode);
        Download(dl, losses);
    }

    public void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int cols, bool logOutput)
    {
        if (rows == 0)
            return;
        using var scope = Enter();
        var dx = Upload("p", x);
        var dy = Scratch<float>("q", x.Length);
        Counters.Launch();
        softmaxKernel(RowConfig(rows), dx, dy, cols, logOutput ? 1 : 0);
        Download(dy, y);
    }

    public void JointEntropies(ReadOnlySpan<float> tables, Span<float> result, int count, int nx, int ny, float scale)
    {
        if (count == 0)
            return;
        using var scope = Enter();
        var dt = Upload("p", tables);
        var dr = Scratch<float>("r", 3 * count);
        Counters.Launch();
        jointEntropiesKernel(RowConfig(count), dt, dr, nx, ny, scale);
        Download(dr, result);
    }

    public void JointCounts(ReadOnlySpan<int> x, ReadOnlySpan<int> y, Span<int> counts, int nx, int ny)
    {
        using var scope = Enter();
        var dx = Upload("t", x);
        var dy = Upload("u", y);
        var dc = Scratch<int>("c", nx * ny);
        Counters.Clear();
        dc.MemSetToZero();
        if (x.Length > 0)
        {
            Counters.Launch();
            jointCountKernel(x.Length, dx, dy, dc, ny);
        }
        Download(dc, counts);
    }

    public void SelfInformation(ReadOnlySpan<float> p, Span<float> result, float scale)
    {
        if (p.Length == 0)
            return;
        using var scope = Enter();
        var dp = Upload("p", p);
        var dr = Scratch<float>("r", p.Length);
        Counters.Launch();
        selfInformationKernel(p.Length, dp, dr, scale);
        Download(dr, result);
    }

    /// <summary>A view of at least <paramref name="length"/> elements in the named scratch slot (grown on demand); the caller holds the lock.</summary>
    private ArrayView<T> Scratch<T>(string slot, long length)
        where T : unmanaged
    {
        System.Diagnostics.Debug.Assert(queue.IsHeldByCurrentThread, "scratch buffers are used under the queue lock only");
        string key = slot + ":" + typeof(T).Name;
        long need = Math.Max(length, 1);
        if (!scratch.TryGetValue(key, out var buffer) || buffer.Length < need)
        {
            buffer?.Dispose();
            buffer = Accelerator.Allocate1D<T>(need);
            Counters.Allocation(buffer.LengthInBytes);
            scratch[key] = buffer;
        }
        return ((MemoryBuffer1D<T, Stride1D.Dense>)buffer).View.SubView(0, need);
    }

    // ILGPU's CopyFromCPU/CopyToCPU(ref T, length) take a raw pointer to the ref without
    // pinning it (Unsafe.AsPointer): pin the host memory, or a GC that moves the array during
    // the copy leaves the data in the array's old place (a result of zeros, a corrupt heap).
    private unsafe ArrayView<T> Upload<T>(string slot, ReadOnlySpan<T> data)
        where T : unmanaged
    {
        var view = Scratch<T>(slot, data.Length);
        if (data.Length > 0)
        {
            Counters.Upload((long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
            fixed (T* pinned = data)
                view.SubView(0, data.Length).CopyFromCPU(ref *pinned, data.Length);
        }
        return view;
    }

    private unsafe void Download<T>(ArrayView<T> view, Span<T> destination)
        where T : unmanaged
    {
        Accelerator.Synchronize();
        Counters.Synchronization();
        if (destination.Length > 0)
        {
            Counters.Download((long)destination.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
            fixed (T* pinned = destination)
                view.SubView(0, destination.Length).CopyToCPU(ref *pinned, destination.Length);
        }
    }

    public void Dispose()
    {
        using var scope = Enter();
        foreach (var buffer in scratch.Values)
            buffer.Dispose();
        scratch.Clear();
        gemmSeedDummy?.Dispose();
        gemmDummy?.Dispose();
        cublas?.Dispose();
        Accelerator.Dispose();
        context.Dispose();
    }
}
