using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InfoGpu.Devices;
using InfoGpu.LinearAlgebra;
using InfoGpu.Random;

namespace InfoGpu.Benchmarks.LinearAlgebra;

/// <summary>
/// The GEMM variants with and without their fused epilogues, at the shapes the models use
/// (RBM batch 100 x 784 x 500, VAE batch 128 x 784 x 400), a square one, and an awkward one.
/// GFLOP/s counts 2 m n k. "HalfSweep" is the RBM's visible-to-hidden step: sigmoid and
/// Bernoulli sampling fused into the product.
/// </summary>
[Config(typeof(Config))]
public class GemmBenchmarks
{
    private ComputeDevice device = null!;
    private DeviceBuffer<float> a = null!, b = null!, c = null!, bias = null!, samples = null!;

    [ParamsSource(nameof(Accelerators))]
    public string Accelerator { get; set; } = "cpu";

    [Params("100x500x784", "128x400x784", "37x517x301", "1024x1024x1024")]
    public string Shape { get; set; } = "100x500x784";

    [Params(GemmLayout.NN, GemmLayout.NT, GemmLayout.TN)]
    public GemmLayout Layout { get; set; }

    private int M => int.Parse(Shape.Split('x')[0], System.Globalization.CultureInfo.InvariantCulture);

    private int N => int.Parse(Shape.Split('x')[1], System.Globalization.CultureInfo.InvariantCulture);

    private int K => int.Parse(Shape.Split('x')[2], System.Globalization.CultureInfo.InvariantCulture);

    public static IEnumerable<string> Accelerators() => BenchAccelerators.All();

    [GlobalSetup]
    public void Setup()
    {
        if (Accelerator == "ilgpu-cpu" && Shape != "37x517x301")
            throw new InvalidOperationException("ilgpu-cpu is a simulator: the awkward small shape only (this case is skipped)");
        device = ComputeDevice.Open(Accelerator);
        a = device.Allocate<float>((long)M * K);
        b = device.Allocate<float>((long)K * N);
        c = device.Allocate<float>((long)M * N);
        samples = device.Allocate<float>((long)M * N);
        bias = device.Allocate<float>(N);
        RandomFill.Uniform(a, 1, 1);
        RandomFill.Uniform(b, 1, 2);
        RandomFill.Normal(bias, 1, 3);
        Plain();
        HalfSweep();
        device.Synchronize();
    }

    private MatrixView AView => Layout == GemmLayout.TN ? new(a, K, M) : new(a, M, K);

    private MatrixView BView => Layout == GemmLayout.NT ? new(b, N, K) : new(b, K, N);

    [Benchmark(Baseline = true)]
    public void Plain()
    {
        Gemm.Multiply(Layout, AView, BView, (c, M, N), GemmEpilogue.None);
        device.Synchronize();
    }

    [Benchmark]
    public void BiasRelu()
    {
        Gemm.Multiply(Layout, AView, BView, (c, M, N), new GemmEpilogue { Bias = bias, Activation = GemmActivation.Relu });
        device.Synchronize();
    }

    [Benchmark]
    public void HalfSweep()
    {
        Gemm.Multiply(Layout, AView, BView, (c, M, N), new GemmEpilogue { Bias = bias, Activation = GemmActivation.Sigmoid, Samples = samples, Seed = 1, Stream = 2 });
        device.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a?.Dispose();
        b?.Dispose();
        c?.Dispose();
        bias?.Dispose();
        samples?.Dispose();
        device?.Dispose();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new ThroughputColumn("GFLOP/s", (p, _) =>
            {
                var s = ((string)p["Shape"]).Split('x').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                return 2 * s[0] * s[1] * s[2];
            }));
        }
    }
}
