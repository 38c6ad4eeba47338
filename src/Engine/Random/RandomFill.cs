using InfoGpu.Devices;

namespace InfoGpu.Random;

/// <summary>
/// Fills device buffers from the counter-based Philox4x32-10 generator. Element i of a fill
/// is draw (offset + i) of the stream (seed, stream): the same numbers on every backend.
/// </summary>
public static class RandomFill
{
    /// <summary>Uniform numbers in the open interval (0, 1).</summary>
    public static void Uniform(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset = 0) =>
        buffer.Device.Backend.FillUniform(buffer, seed, stream, offset);

    /// <summary>Standard normal numbers (Box-Muller).</summary>
    public static void Normal(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset = 0) =>
        buffer.Device.Backend.FillNormal(buffer, seed, stream, offset);
}
