using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Kernels.Gpu;

namespace InfoGpu.Devices;

internal sealed partial class IlgpuBackend
{
    private Action<Index1D, ArrayView<float>, ulong, ulong, long>? uniformKernel;
    private Action<Index1D, ArrayView<float>, ulong, ulong, long>? normalKernel;

    public void FillUniform(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset)
    {
        using var scope = Enter();
        uniformKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ulong, ulong, long>(RandomKernels.UniformKernel);
        if (buffer.Length > 0)
        {
            Counters.Launch();
            uniformKernel((int)buffer.Length, buffer.View, seed, stream, offset);
        }
    }

    public void FillNormal(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset)
    {
        using var scope = Enter();
        normalKernel ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ulong, ulong, long>(RandomKernels.NormalKernel);
        if (buffer.Length > 0)
        {
            Counters.Launch();
            normalKernel((int)buffer.Length, buffer.View, seed, stream, offset);
        }
    }
}
