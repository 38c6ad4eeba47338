using InfoGpu.Kernels.Cpu;
using InfoGpu.LinearAlgebra;

namespace InfoGpu.Devices;

internal sealed partial class CpuBackend
{
    public string GemmPath => "cpu blocked SIMD";

    public unsafe void Gemm(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue, GemmRoute route)
    {
        if (route == GemmRoute.Vendor)
            throw new InfoGpuException("GemmRoute.Vendor needs cuBLAS on a cuda device; cpu runs its own blocked SIMD GEMM");
        Counters.Launch();
        fixed (float* pa = a.HostArray, pb = b.HostArray, pc = c.HostArray)
        fixed (float* p1 = epilogue.Bias?.HostArray, p2 = epilogue.Bias2?.HostArray, ps = epilogue.Samples?.HostArray)
        {
            var e = new CpuGemmEpilogue
            {
                Alpha = epilogue.Alpha,
                Beta = epilogue.Beta,
                Bias1 = p1,
                Scale1 = epilogue.BiasScale,
                Bias2 = p2,
                Scale2 = epilogue.Bias2Scale,
                Activation = (int)epilogue.Activation.ToKernel(),
                Samples = ps,
                Seed = epilogue.Seed,
                Stream = epilogue.Stream,
                Offset = epilogue.SampleOffset,
            };
            CpuGemmKernels.Multiply(layout.ToKernel(), pa + aOffset, pb + bOffset, pc + cOffset, m, n, k, e);
        }
    }

    /// <summary>One launch's worth of work: the models one after another, each through the same kernel as alone.</summary>
    public unsafe void GemmBatched(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue, in GemmBatch batch)
    {
        Counters.Launch();
        ulong[]? seeds = batch.Seeds?.HostArray;
        fixed (float* pa = a.HostArray, pb = b.HostArray, pc = c.HostArray)
        fixed (float* p1 = epilogue.Bias?.HostArray, p2 = epilogue.Bias2?.HostArray, ps = epilogue.Samples?.HostArray)
        {
            for (int z = 0; z < batch.Count; z++)
            {
                var e = new CpuGemmEpilogue
                {
                    Alpha = epilogue.Alpha,
                    Beta = epilogue.Beta,
                    Bias1 = p1 == null ? null : p1 + (z * batch.BiasStride),
                    Scale1 = epilogue.BiasScale,
                    Bias2 = p2 == null ? null : p2 + (z * batch.Bias2Stride),
                    Scale2 = epilogue.Bias2Scale,
                    Activation = (int)epilogue.Activation.ToKernel(),
                    Samples = ps == null ? null : ps + (z * batch.SamplesStride),
                    Seed = seeds is null ? epilogue.Seed : seeds[z],
                    Stream = epilogue.Stream,
                    Offset = epilogue.SampleOffset,
                };
                CpuGemmKernels.Multiply(layout.ToKernel(), pa + aOffset + (z * batch.AStride), pb + bOffset + (z * batch.BStride), pc + cOffset + (z * batch.CStride), m, n, k, e);
            }
        }
    }
}
