using System.Runtime.InteropServices;

namespace InfoGpu.Devices;

/// <summary>
/// A cheap look, before ILGPU is loaded, for whether a GPU kind can be present at all: its driver
/// library loads, and for OpenCL its loader finds at least one platform. <c>auto</c> asks it first,
/// so that a machine without GPU drivers (most CPU runs) does not pay for ILGPU's start-up (about
/// 80 ms of a short command; benchmarks/RESULTS.md). A kind it cannot rule out is opened by ILGPU as
/// before, which has the last word. Thread-safe (stateless; the loader calls are).
/// </summary>
internal static class DriverProbe
{
    private const int OpenClSuccess = 0;

    /// <summary>False when no CUDA driver library can be loaded (so ILGPU would find no CUDA device).</summary>
    public static bool MayHaveCuda() => TryLoadAny(CudaLibraries(), out var handle) && Free(handle);

    /// <summary>False when no OpenCL loader can be loaded, or it finds no platform (so ILGPU would find no OpenCL device).</summary>
    public static unsafe bool MayHaveOpenCL()
    {
        if (!TryLoadAny(OpenClLibraries(), out var handle))
            return false;
        try
        {
            if (!NativeLibrary.TryGetExport(handle, "clGetPlatformIDs", out var address))
                return true;
            // cl_int clGetPlatformIDs(cl_uint num_entries, cl_platform_id* platforms, cl_uint* num_platforms)
            var getPlatformIds = (delegate* unmanaged<uint, IntPtr*, uint*, int>)address;
            uint count = 0;
            int status = getPlatformIds(0, null, &count);
            return status == OpenClSuccess && count > 0;
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }

    private static string[] CudaLibraries() =>
        OperatingSystem.IsWindows() ? ["nvcuda.dll"]
        : OperatingSystem.IsLinux() ? ["libcuda.so.1", "libcuda.so"]
        : [];

    private static string[] OpenClLibraries() =>
        OperatingSystem.IsWindows() ? ["OpenCL.dll"]
        : OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"]
        : ["libOpenCL.so.1", "libOpenCL.so"];

    private static bool TryLoadAny(string[] names, out IntPtr handle)
    {
        foreach (string name in names)
        {
            if (NativeLibrary.TryLoad(name, out handle))
                return true;
        }
        handle = IntPtr.Zero;
        return false;
    }

    private static bool Free(IntPtr handle)
    {
        NativeLibrary.Free(handle);
        return true;
    }
}
