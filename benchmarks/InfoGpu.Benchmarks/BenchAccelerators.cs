using InfoGpu.Devices;

namespace InfoGpu.Benchmarks;

/// <summary>The accelerators every kernel benchmark runs on: cpu, ilgpu-cpu (small sizes), and cuda/opencl when present.</summary>
internal static class BenchAccelerators
{
    public static IEnumerable<string> All()
    {
        yield return "cpu";
        yield return "ilgpu-cpu";
        foreach (var d in ComputeDevice.Available())
        {
            if (d.Kind is "cuda" or "opencl")
                yield return d.Kind;
        }
    }
}
