using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

/// <summary>
/// The ILGPU backends (<c>cuda</c>, <c>opencl</c>, <c>ilgpu-cpu</c>): one accelerator, its
/// kernels loaded once on first use, and growable scratch buffers reused from call to call.
/// Every public operation synchronizes before it returns.
/// </summary>
internal sealed partial class IlgpuBackend : IComputeBackend
{
    private readonly Context context;
    private readonly Dictionary<Type, Delegate> rowReduceKernels = [];
    private readonly Dictionary<string, MemoryBuffer> scratch = [];
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float, int> logitLossKernel;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> softmaxKernel;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float> jointEntropiesKernel;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> jointCountKernel;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, float> selfInformationKernel;

    public IlgpuBackend(Context context, Accelerator accelerator, DeviceInfo info)
    {
        this.context = context;
        Accelerator = accelerator;
        Info = info;
        // A power of two for the tree reductions; the CPU accelerator simulates every thread,
        // so it gets small groups.
        int cap = accelerator.AcceleratorType == AcceleratorType.CPU ? 16 : 256;
        RowGroupSize = (int)Math.Min(cap, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)accelerator.MaxNumThreadsPerGroup + 1) / 2);
        logitLossKernel = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float, int>(RowKernels.LogitLossKernel);
        softmaxKernel = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(RowKernels.SoftmaxKernel);
        jointEntropiesKernel = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, float>(TableKernels.JointEntropiesKernel);
        jointCountKernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>(TableKernels.JointCountKernel);
        selfInformationKernel = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(TableKernels.SelfInformationKernel);
    }

    public Accelerator Accelerator { get; }

    public DeviceInfo Info { get; }

    /// <summary>Threads per group of the row kernels (a power of two).</summary>
    public int RowGroupSize { get; }

    private KernelConfig RowConfig(int rows) =>
        new(new Index1D(rows), new Index1D(RowGroupSize), SharedMemoryConfig.RequestDynamic<float>(RowGroupSize));

    public void RowReduce<TTerm>(ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term)
        where TTerm : struct, IRowTerm
    {
        if (rows == 0)
            return;
        if (!rowReduceKernels.TryGetValue(typeof(TTerm), out var kernel))
        {
            kernel = Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, TTerm>(
                RowKernels.RowReduceKernel);
            rowReduceKernels[typeof(TTerm)] = kernel;
        }
        var launch = (Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, TTerm>)kernel;
        var dp = Upload("p", p);
        var dq = Upload("q", q);
        var dr = Scratch<float>("r", rows);
        launch(RowConfig(rows), dp, dq, dr, cols, scale, term);
        Download(dr, result);
    }

    public bool CheckedRowReduce<TTerm>(
        ReadOnlySpan<float> p, ReadOnlySpan<float> q, Span<float> result, int rows, int cols, float scale, TTerm term, bool checkQ, double tolerance)
        where TTerm : struct, IRowTerm
    {
        // The rows are on the host before the upload: check them there, then reduce on the device.
        if (!Measures.Distributions.AllRowsValid(p, cols, tolerance) || (checkQ && !Measures.Distributions.AllRowsValid(q, cols, tolerance)))
            return false;
        RowReduce(p, q, result, rows, cols, scale, term);
        return true;
    }

    public void LogitLoss(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> losses, int rows, int cols, float epsilon, int mode)
    {
        if (rows == 0)
            return;
        var dx = Upload("p", logits);
        var dt = Upload("t", targets);
        var dl = Scratch<float>("r", rows);
        logitLossKernel(RowConfig(rows), dx, dt, dl, cols, epsilon, mode);
        Download(dl, losses);
    }

    public void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int cols, bool logOutput)
    {
        if (rows == 0)
            return;
        var dx = Upload("p", x);
        var dy = Scratch<float>("q", x.Length);
        softmaxKernel(RowConfig(rows), dx, dy, cols, logOutput ? 1 : 0);
        Download(dy, y);
    }

    public void JointEntropies(ReadOnlySpan<float> tables, Span<float> result, int count, int nx, int ny, float scale)
    {
        if (count == 0)
            return;
        var dt = Upload("p", tables);
        var dr = Scratch<float>("r", 3 * count);
        jointEntropiesKernel(RowConfig(count), dt, dr, nx, ny, scale);
        Download(dr, result);
    }

    public void JointCounts(ReadOnlySpan<int> x, ReadOnlySpan<int> y, Span<int> counts, int nx, int ny)
    {
        var dx = Upload("t", x);
        var dy = Upload("u", y);
        var dc = Scratch<int>("c", nx * ny);
        dc.MemSetToZero();
        if (x.Length > 0)
            jointCountKernel(x.Length, dx, dy, dc, ny);
        Download(dc, counts);
    }

    public void SelfInformation(ReadOnlySpan<float> p, Span<float> result, float scale)
    {
        if (p.Length == 0)
            return;
        var dp = Upload("p", p);
        var dr = Scratch<float>("r", p.Length);
        selfInformationKernel(p.Length, dp, dr, scale);
        Download(dr, result);
    }

    /// <summary>A view of at least <paramref name="length"/> elements in the named scratch slot (grown on demand).</summary>
    private ArrayView<T> Scratch<T>(string slot, long length)
        where T : unmanaged
    {
        string key = slot + ":" + typeof(T).Name;
        long need = Math.Max(length, 1);
        if (!scratch.TryGetValue(key, out var buffer) || buffer.Length < need)
        {
            buffer?.Dispose();
            buffer = Accelerator.Allocate1D<T>(need);
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
            fixed (T* pinned = data)
                view.SubView(0, data.Length).CopyFromCPU(ref *pinned, data.Length);
        }
        return view;
    }

    private unsafe void Download<T>(ArrayView<T> view, Span<T> destination)
        where T : unmanaged
    {
        Accelerator.Synchronize();
        if (destination.Length > 0)
        {
            fixed (T* pinned = destination)
                view.SubView(0, destination.Length).CopyToCPU(ref *pinned, destination.Length);
        }
    }

    public void Dispose()
    {
        foreach (var buffer in scratch.Values)
            buffer.Dispose();
        scratch.Clear();
        gemmDummy?.Dispose();
        Accelerator.Dispose();
        context.Dispose();
    }
}
