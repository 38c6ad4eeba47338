namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>buffer[i] = Philox uniform number (offset + i) of (seed, stream), in (0, 1).</summary>
    void FillUniform(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset);

    /// <summary>buffer[i] = Philox standard normal number (offset + i) of (seed, stream).</summary>
    void FillNormal(DeviceBuffer<float> buffer, ulong seed, ulong stream, long offset);
}
