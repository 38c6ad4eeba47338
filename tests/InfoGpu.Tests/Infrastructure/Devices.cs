using InfoGpu.Devices;

namespace InfoGpu.Tests.Infrastructure;

/// <summary>
/// Devices shared by the whole test run (opening an ILGPU context costs about half a second).
/// A device is safe to share between threads (<c>ThreadSafetyTests</c> checks it); tests still
/// take the lock of the device they use through <see cref="Use{T}"/>, so that the CPU
/// accelerator's simulated kernels of parallel test classes do not queue behind one another.
/// </summary>
/// <remarks>
/// With the environment variable <c>INFOGPU_TEST_CUDA=1</c> every test over <see cref="Kinds"/>
/// also runs on <c>cuda</c>, and each of those fails, naming the reason, when no CUDA device
/// opens (never a silent skip: the variable says a GPU is expected).
/// </remarks>
internal static class TestDevices
{
    /// <summary>The environment variable that adds <c>cuda</c> to <see cref="Kinds"/>.</summary>
    public const string CudaVariable = "INFOGPU_TEST_CUDA";

    private static readonly Lazy<ComputeDevice> CpuDevice = new(() => ComputeDevice.Open(DeviceKind.Cpu));
    private static readonly Lazy<ComputeDevice> IlgpuCpuDevice = new(() => ComputeDevice.Open(DeviceKind.IlgpuCpu));
    private static readonly Lazy<(ComputeDevice? Device, string? Why)> CudaDevice = new(() => TryOpen(DeviceKind.Cuda));

    private static readonly Lazy<ComputeDevice> SimulatedGpuDevice = new(() => ComputeDevice.OpenSimulatedGpu(32, 32));

    /// <summary>
    /// Group sizes at which the group-parallel kernels are tested on the simulated GPU: the
    /// degenerate 1 and 2 (fewer lanes than a column tile), one warp (a column tile with one
    /// row lane), and the 256 and 1024 of real GPUs (8 and 32 row lanes). Every power of two
    /// up to 1024 takes the code paths of one of these; 16, the CPU accelerator's default, is
    /// what the other ilgpu-cpu tests use.
    /// </summary>
    public static TheoryData<int> GroupSizes => new() { 1, 2, 32, 256, 1024 };

    /// <summary>
    /// Runs <paramref name="body"/> on an <c>ilgpu-cpu</c> device shaped like an NVIDIA GPU (warps
    /// of 32, groups up to 1024 threads) whose row and column kernels use groups of
    /// <paramref name="groupSize"/> threads, holding the device's lock.
    /// </summary>
    public static T UseSimulatedGpu<T>(int groupSize, Func<ComputeDevice, T> body)
    {
        var device = SimulatedGpuDevice.Value;
        lock (device)
        {
            ((IlgpuBackend)device.Backend).SetGroupSize(groupSize);
            return body(device);
        }
    }

    /// <summary>Whether <see cref="CudaVariable"/> asks for the CUDA device (1 or true).</summary>
    public static bool CudaRequested => Environment.GetEnvironmentVariable(CudaVariable) is "1" or "true" or "TRUE" or "True";

    /// <summary>
    /// Kinds every test machine has: the SIMD path and the ILGPU kernels on the CPU accelerator;
    /// and <c>cuda</c> when <see cref="CudaRequested"/>.
    /// </summary>
    public static TheoryData<string> Kinds
    {
        get
        {
            var kinds = new TheoryData<string> { "cpu", "ilgpu-cpu" };
            if (CudaRequested)
                kinds.Add("cuda");
            return kinds;
        }
    }

    public static ComputeDevice Get(string kind) => kind switch
    {
        "cpu" => CpuDevice.Value,
        "ilgpu-cpu" => IlgpuCpuDevice.Value,
        "cuda" => CudaDevice.Value.Device ?? throw new InvalidOperationException(
            $"no CUDA device opened{(CudaRequested ? $" although {CudaVariable} is set" : "")}: {CudaDevice.Value.Why}"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The CUDA device when this machine has one, else null (tests then skip with a reason).</summary>
    public static ComputeDevice? Cuda => CudaDevice.Value.Device;

    /// <summary>Why the CUDA device did not open (null when it did).</summary>
    public static string? CudaAbsence => CudaDevice.Value.Why;

    /// <summary>Runs <paramref name="body"/> holding the device's lock.</summary>
    public static T Use<T>(string kind, Func<ComputeDevice, T> body)
    {
        var device = Get(kind);
        lock (device)
            return body(device);
    }

    private static (ComputeDevice?, string?) TryOpen(DeviceKind kind)
    {
        try
        {
            return (ComputeDevice.Open(kind), null);
        }
        catch (InfoGpuException e)
        {
            return (null, e.Message);
        }
    }
}
