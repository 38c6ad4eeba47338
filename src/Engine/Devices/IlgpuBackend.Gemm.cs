using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels.Gpu;
using InfoGpu.LinearAlgebra;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>? gemmKernel;
    private MemoryBuffer1D<float, Stride1D.Dense>? gemmDummy;

    /// <summary>Tile edge of the GEMM kernel (16 on GPUs; 4 on the CPU accelerator, which simulates every thread); 0 for that default.</summary>
    /// <remarks>Set once, when the backend is made: every launch reads it, from any thread.</remarks>
    public int GemmTile { get; init; }

    public void Gemm(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue)
    {
        using var scope = Enter();
        if (m <= 0 || n <= 0)
            return;
        gemmKernel ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.GemmKernel);
        gemmDummy ??= Accelerator.Allocate1D<float>(1);
        int t = GemmTile > 0 ? GemmTile : Accelerator.AcceleratorType == AcceleratorType.CPU ? 4 : 16;
        var args = new GemmArgs
        {
            M = m,
            N = n,
            K = k,
            Layout = (int)layout.ToKernel(),
            Activation = (int)epilogue.Activation.ToKernel(),
            Tile = t,
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
        var dummy = gemmDummy.View;
        var config = new KernelConfig(
            new Index2D((n + t - 1) / t, (m + t - 1) / t),
            new Index2D(t, t),
            SharedMemoryConfig.RequestDynamic<float>(2 * t * t));
        Counters.Launch();
        gemmKernel(config, a.View, b.View, c.View, epilogue.Bias?.View ?? dummy, epilogue.Bias2?.View ?? dummy, epilogue.Samples?.View ?? dummy, args);
    }
}
