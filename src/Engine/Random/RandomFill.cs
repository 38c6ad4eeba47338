using InfoGpu.Devices;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Random;

/// <summary>
/// Fills device buffers from the counter-based Philox4x32-10 generator. Element i of a fill
/// is draw (offset + i) of the stream (seed, stream): the same numbers on every backend, and
/// in host memory through the <see cref="Span{T}"/> overloads.
/// </summary>
public static class RandomFill
{
    /// <summary>Uniform numbers in the open interval (0, 1).</summary>
    public static void Uniform(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset = 0) =>
        buffer.Device.Backend.FillUniform(buffer, seed, stream, offset);

    /// <summary>Standard normal numbers (Box-Muller).</summary>
    public static void Normal(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset = 0) =>
        buffer.Device.Backend.FillNormal(buffer, seed, stream, offset);

    /// <summary>Uniform numbers in the open interval (0, 1) into host memory: exactly the numbers a device fill of the same (seed, stream, offset) gives.</summary>
    public static void Uniform(Span<float> values, ulong seed, ulong stream, long offset = 0) =>
        CpuRandomKernels.Uniform(values, seed, stream, offset);

    /// <summary>Standard normal numbers (Box-Muller) into host memory: the numbers the cpu device's fill of the same (seed, stream, offset) gives (a GPU's sin, cos and log may differ in the last bits).</summary>
    public static void Normal(Span<float> values, ulong seed, ulong stream, long offset = 0) =>
        CpuRandomKernels.Normal(values, seed, stream, offset);
}
