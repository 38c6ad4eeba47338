using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InfoGpu.Devices;
using InfoGpu.Random;

namespace InfoGpu.Benchmarks.Random;

/// <summary>Philox-4x32-10 fills: uniform and Box-Muller normal floats; GB/s counts the floats written.</summary>
[Config(typeof(Config))]
public class PhiloxBenchmarks
{
    private ComputeDevice device = null!;
    private DeviceBuffer<float> buffer = null!;

    [ParamsSource(nameof(Accelerators))]
    public string Accelerator { get; set; } = "cpu";

    [Params(1_000, 1_000_003, 16_777_216)]
    public int Count { get; set; }

    public static IEnumerable<string> Accelerators() => BenchAccelerators.All();

    [GlobalSetup]
    public void Setup()
    {
        if (Accelerator == "ilgpu-cpu" && Count > 1_000_003)
            throw new InvalidOperationException("ilgpu-cpu is a simulator: small sizes only (this case is skipped)");
        device = ComputeDevice.Open(Accelerator);
        buffer = device.Allocate<float>(Count);
        Uniform();
        Normal();
    }

    [Benchmark(Baseline = true)]
    public void Uniform()
    {
        RandomFill.Uniform(buffer, 1, 2);
        device.Synchronize();
    }

    [Benchmark]
    public void Normal()
    {
        RandomFill.Normal(buffer, 1, 3);
        device.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        buffer?.Dispose();
        device?.Dispose();
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new ThroughputColumn("GB/s", (p, _) => 4.0 * (int)p["Count"]));
    }
}
