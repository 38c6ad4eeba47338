using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>Philox fills: element i of the output is draw (offset + i) of the stream, whatever the launch shape.</summary>
internal static class RandomKernels
{
    /// <summary>output[i] = Philox.Uniform(seed, stream, offset + i), in (0, 1).</summary>
    public static void UniformKernel(Index1D i, ArrayView<float> output, ulong seed, ulong stream, long offset) =>
        output[i] = Philox.Uniform(seed, stream, (ulong)(offset + i));

    /// <summary>output[i] = Philox.Normal(seed, stream, offset + i), standard normal.</summary>
    public static void NormalKernel(Index1D i, ArrayView<float> output, ulong seed, ulong stream, long offset) =>
        output[i] = Philox.Normal(seed, stream, (ulong)(offset + i));
}
