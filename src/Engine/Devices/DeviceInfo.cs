namespace InfoGpu.Devices;

/// <summary>What a device is: reported by <c>infogpu devices</c>.</summary>
/// <param name="Kind">Console name of the kind (cpu, ilgpu-cpu, cuda, opencl).</param>
/// <param name="Name">The device's own name.</param>
/// <param name="MemoryBytes">Device memory (for cpu: the memory available to the process).</param>
/// <param name="WarpSize">Threads per warp (for cpu: float lanes per SIMD register).</param>
/// <param name="MaxGroupSize">Largest group (for cpu: the worker threads).</param>
/// <param name="SimdWidthBits">cpu only: the widest hardware-accelerated vector, in bits.</param>
/// <param name="Cores">cpu only: logical cores.</param>
/// <param name="Gemm">What runs a GEMM on the device, in words (e.g. cuBLAS with its version, or the hand-written kernel and why); null where not asked.</param>
public sealed record DeviceInfo(
    string Kind,
    string Name,
    long MemoryBytes,
    int WarpSize,
    int MaxGroupSize,
    int? SimdWidthBits = null,
    int? Cores = null,
    string? Gemm = null);
