using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using InfoGpu.Kernels.Gpu;
using InfoGpu.LinearAlgebra;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>? gemmKernel;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>? gemmEpilogueKernel;
    private MemoryBuffer1D<float, Stride1D.Dense>? gemmDummy;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ulong>, GemmArgs, GemmBatchArgs>? gemmBatchedKernel;
    private MemoryBuffer1D<ulong, Stride1D.Dense>? gemmSeedDummy;

    /// <summary>cuBLAS on the accelerator's default stream (the device's one queue); null where the device is not CUDA or the library did not load.</summary>
    private CuBlas<CuBlasPointerModeHandlers.ManualMode>? cublas;

    /// <summary>
    /// Threads per edge of the hand-written GEMM's groups: 16 (the GPU shape, 16 x 16 threads on
    /// 64 x 64 blocks of C, <see cref="GemmTiles16"/>) or 4 (4 x 4 threads on 16 x 16 blocks,
    /// <see cref="GemmTiles4"/>); 0 for the default, 16 on GPUs and 4 on the CPU accelerator,
    /// which simulates every thread.
    /// </summary>
    /// <remarks>Set once, when the backend is made: every launch reads it, from any thread.</remarks>
    public int GemmTile
    {
        get => gemmTile;
        init => gemmTile = value is 0 or 4 or 16 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "GEMM groups of 4 x 4 or 16 x 16 threads (0 for the default)");
    }

    private readonly int gemmTile;

    /// <summary>What runs a device GEMM on this backend, for <c>infogpu devices</c> (set on first use of <see cref="Gemm"/> or <see cref="GemmPath"/>).</summary>
    public string GemmPath
    {
        get
        {
            using var scope = Enter();
            EnsureGemm();
            return gemmPath!;
        }
    }

    private string? gemmPath;

    /// <summary>
    /// Opens cuBLAS on a CUDA accelerator (unless INFOGPU_CUBLAS=0) and says which GEMM runs.
    /// A missing or failing libcublas is not an error: the hand-written GEMM runs instead, and
    /// <see cref="GemmPath"/> says why.
    /// </summary>
    private void EnsureGemm()
    {
        if (gemmPath is not null)
            return;
        string handWritten = $"ilgpu register-blocked ({4 * EffectiveGemmTile()}x{4 * EffectiveGemmTile()} tiles)";
        gemmPath = handWritten;
        if (Accelerator is not CudaAccelerator cuda)
            return;
        if (Environment.GetEnvironmentVariable("INFOGPU_CUBLAS") == "0")
        {
            gemmPath = handWritten + "; cuBLAS off (INFOGPU_CUBLAS=0)";
            return;
        }
        // The newest libcublas that loads (libcublas.so.12, .11, .10 on Linux).
        string? problem = null;
        foreach (var version in Enum.GetValues<ILGPU.Runtime.Cuda.API.CuBlasAPIVersion>().Reverse())
        {
            try
            {
                cublas = new CuBlas<CuBlasPointerModeHandlers.ManualMode>(cuda, version);
                cublas.PointerMode = CuBlasPointerMode.Host;
                gemmPath = $"cublas {cublas.Version} + ilgpu epilogue";
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A missing library (DllNotFoundException), an old one (EntryPointNotFoundException)
                // or a failing cublasCreate (CuBlasException): try the next version, then fall back.
                cublas = null;
                problem ??= e.Message.Split('\n')[0].Trim();
            }
        }
        gemmPath = $"{handWritten}; cuBLAS unavailable ({problem ?? "no libcublas"})";
    }

    private int EffectiveGemmTile() => GemmTile > 0 ? GemmTile : Accelerator.AcceleratorType == AcceleratorType.CPU ? 4 : 16;

    public void Gemm(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue, GemmRoute route)
    {
        using var scope = Enter();
        EnsureGemm();
        bool needsEpilogue = epilogue.Bias is not null || epilogue.Bias2 is not null || epilogue.Samples is not null || epilogue.Activation != GemmActivation.None;
        if (route == GemmRoute.Vendor && cublas is null)
            throw new InfoGpuException($"GemmRoute.Vendor needs cuBLAS on a cuda device; {Info.Kind} runs {gemmPath}");
        if (route == GemmRoute.Vendor && needsEpilogue)
            throw new InfoGpuException("GemmRoute.Vendor runs cuBLAS alone: give it an epilogue of Alpha and Beta only");
        if (m <= 0 || n <= 0)
            return;
        var args = Args(layout, m, n, k, epilogue, aOffset, bOffset, cOffset);
        var dummy = gemmDummy!.View;
        var bias1 = epilogue.Bias?.View ?? dummy;
        var bias2 = epilogue.Bias2?.View ?? dummy;
        var samples = epilogue.Samples?.View ?? dummy;
        // The epilogue kernel indexes C with one int per element: larger results take the fused kernel.
        if (cublas is not null && route != GemmRoute.HandWritten && (!needsEpilogue || (long)m * n <= int.MaxValue))
        {
            VendorGemm(layout, a, aOffset, b, bOffset, c, cOffset, m, n, k, epilogue.Alpha, epilogue.Beta);
            if (!needsEpilogue)
                return;
            gemmEpilogueKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.GemmEpilogueKernel);
            Counters.Launch();
            gemmEpilogueKernel(m * n, c.View, bias1, bias2, samples, args);
            return;
        }
        int t = EffectiveGemmTile();
        if (gemmKernel is null)
        {
            gemmKernel = t == 16
                ? Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.RegisterGemmKernel<GemmTiles16>)
                : Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.RegisterGemmKernel<GemmTiles4>);
        }
        int sharedFloats = t == 16 ? GemmKernels.SharedFloats<GemmTiles16>() : GemmKernels.SharedFloats<GemmTiles4>();
        int block = 4 * t;
        var config = new KernelConfig(
            new Index2D((n + block - 1) / block, (m + block - 1) / block),
            new Index2D(t, t),
            SharedMemoryConfig.RequestDynamic<float>(sharedFloats));
        Counters.Launch();
        gemmKernel(config, a.View, b.View, c.View, bias1, bias2, samples, args);
    }

    /// <summary>
    /// The models of a grid in one launch of the hand-written kernel (a third grid dimension over
    /// the models), on every ILGPU kind, cuda included: each model's result has the bits of the
    /// hand-written kernel run for it alone.
    /// </summary>
    public void GemmBatched(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue, in GemmBatch batch)
    {
        using var scope = Enter();
        EnsureGemm();
        if (m <= 0 || n <= 0 || batch.Count <= 0)
            return;
        var args = Args(layout, m, n, k, epilogue, aOffset, bOffset, cOffset);
        var dummy = gemmDummy!.View;
        if (gemmSeedDummy is null)
        {
            gemmSeedDummy = Accelerator.Allocate1D<ulong>(1);
            Counters.Allocation(gemmSeedDummy.LengthInBytes);
        }
        int t = EffectiveGemmTile();
        gemmBatchedKernel ??= t == 16
            ? Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ulong>, GemmArgs, GemmBatchArgs>(GemmKernels.BatchedGemmKernel<GemmTiles16>)
            : Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<ulong>, GemmArgs, GemmBatchArgs>(GemmKernels.BatchedGemmKernel<GemmTiles4>);
        int sharedFloats = t == 16 ? GemmKernels.SharedFloats<GemmTiles16>() : GemmKernels.SharedFloats<GemmTiles4>();
        int block = 4 * t;
        var config = new KernelConfig(
            new Index3D((n + block - 1) / block, (m + block - 1) / block, batch.Count),
            new Index3D(t, t, 1),
            SharedMemoryConfig.RequestDynamic<float>(sharedFloats));
        var strides = new GemmBatchArgs
        {
            AStride = batch.AStride,
            BStride = batch.BStride,
            CStride = batch.CStride,
            Bias1Stride = batch.BiasStride,
            Bias2Stride = batch.Bias2Stride,
            SamplesStride = batch.SamplesStride,
            HasSeeds = batch.Seeds is null ? 0 : 1,
        };
        Counters.Launch();
        gemmBatchedKernel(config, a.View, b.View, c.View, epilogue.Bias?.View ?? dummy, epilogue.Bias2?.View ?? dummy, epilogue.Samples?.View ?? dummy, batch.Seeds?.View ?? gemmSeedDummy.View, args, strides);
    }

    /// <summary>
    /// C = alpha op(A) op(B) + beta C by cublasSgemm on the device's stream. cuBLAS is
    /// column-major, and a row-major m x n C is a column-major n x m C^T = op(B)^T op(A)^T, so B
    /// goes first: a row-major operand stored r x c is its column-major transpose with leading
    /// dimension c, transposed again where the layout transposes it. The caller holds the lock.
    /// </summary>
    private void VendorGemm(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, float alpha, float beta)
    {
        bool aT = layout == GemmLayout.TN, bT = layout == GemmLayout.NT;
        var opB = bT ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose;
        var opA = aT ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose;
        int ldb = bT ? Math.Max(k, 1) : n;
        int lda = aT ? m : Math.Max(k, 1);
        Counters.Launch();
        cublas!.Gemm(
            opB, opA, n, m, k,
            alpha,
            b.View.SubView(bOffset, b.Length - bOffset), ldb,
            a.View.SubView(aOffset, a.Length - aOffset), lda,
            beta,
            c.View.SubView(cOffset, (long)m * n), n);
    }

    private static GemmArgs Args(GemmLayout layout, int m, int n, int k, in GemmEpilogue epilogue, long aOffset, long bOffset, long cOffset) => new()
    {
        M = m,
        N = n,
        K = k,
        Layout = (int)layout.ToKernel(),
        Activation = (int)epilogue.Activation.ToKernel(),
        HasBias1 = epilogue.Bias is null ? 0 : 1,
        HasBias2 = epilogue.Bias2 is null ? 0 : 1,
        HasSamples = epilogue.Samples is null ? 0 : 1,
        Alpha = epilogue.Alpha,
        Beta = epilogue.Beta,
        Scale1 = epilogue.BiasScale,
        Scale2 = epilogue.Bias2Scale,
        AOffset = aOffset,
        BOffset = bOffset,
        COffset = cOffset,
        SampleOffset = epilogue.SampleOffset,
        Seed = epilogue.Seed,
        Stream = epilogue.Stream,
    };
}
