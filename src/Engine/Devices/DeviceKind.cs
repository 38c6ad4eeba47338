namespace InfoGpu.Devices;

/// <summary>The kinds of compute device InfoGpu runs on.</summary>
public enum DeviceKind
{
    /// <summary>cuda, then opencl, then cpu: whichever is present first.</summary>
    Auto,

    /// <summary>Hand-vectorized C# (SIMD and threads): the fast path without a GPU.</summary>
    Cpu,

    /// <summary>The ILGPU kernels on ILGPU's CPU accelerator: for testing the GPU kernels without a GPU.</summary>
    IlgpuCpu,

    /// <summary>ILGPU kernels compiled to PTX on an NVIDIA GPU.</summary>
    Cuda,

    /// <summary>ILGPU kernels compiled to OpenCL C (needs OpenCL 2.0's generic address space).</summary>
    OpenCL,
}

/// <summary>Names of the device kinds as the console and the environment spell them.</summary>
public static class DeviceKinds
{
    /// <summary>The environment variable that sets the default kind.</summary>
    public const string EnvironmentVariable = "INFOGPU_ACCELERATOR";

    /// <summary>Every accepted name, in the order <c>auto</c> tries them after itself.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "cuda", "opencl", "cpu", "ilgpu-cpu"];

    /// <summary>The console name of a kind.</summary>
    public static string Name(DeviceKind kind) => kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        DeviceKind.IlgpuCpu => "ilgpu-cpu",
        DeviceKind.Cuda => "cuda",
        DeviceKind.OpenCL => "opencl",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a console name; throws with the list of valid names when unknown.</summary>
    public static DeviceKind Parse(string name)
    {
        if (TryParse(name, out var kind))
            return kind;
        throw new InfoGpuException(
            $"unknown accelerator '{name}': use one of {string.Join(", ", Names)}");
    }

    /// <summary>Parses a console name (<c>auto</c>, <c>cuda</c>, <c>opencl</c>, <c>cpu</c>, <c>ilgpu-cpu</c>; case and surrounding spaces ignored).</summary>
    /// <param name="name">The name, or null.</param>
    /// <param name="kind">The kind when the name is known; <see cref="DeviceKind.Auto"/> otherwise.</param>
    /// <returns>False for null or an unknown name.</returns>
    public static bool TryParse(string? name, out DeviceKind kind)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "auto": kind = DeviceKind.Auto; return true;
            case "cpu": kind = DeviceKind.Cpu; return true;
            case "ilgpu-cpu": kind = DeviceKind.IlgpuCpu; return true;
            case "cuda": kind = DeviceKind.Cuda; return true;
            case "opencl": kind = DeviceKind.OpenCL; return true;
            default: kind = DeviceKind.Auto; return false;
        }
    }

    /// <summary>The default kind: <c>INFOGPU_ACCELERATOR</c> when set, else <c>auto</c>.</summary>
    public static DeviceKind Default()
    {
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(env))
            return DeviceKind.Auto;
        if (TryParse(env, out var kind))
            return kind;
        throw new InfoGpuException(
            $"{EnvironmentVariable}='{env}' is not an accelerator: use one of {string.Join(", ", Names)}");
    }
}
