using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Restricted;
using InfoGpu.Training;

namespace InfoGpu.Benchmarks.Rbm;

/// <summary>
/// RBM half-sweeps (one GEMM with the sigmoid + Bernoulli epilogue) at the Fashion-MNIST shape,
/// batch x 784 x 500: visible -> hidden (NN), hidden -> visible (NT, W not copied), and one whole
/// CD-1 training step. GFLOP/s counts 2 m n k per product. The ILGPU CPU accelerator is a
/// simulator: it runs the smallest batch only.
/// </summary>
[Config(typeof(Config))]
public class HalfSweepBenchmarks
{
    private const int Visible = 784, Hidden = 500;
    private ComputeDevice device = null!;
    private DeviceBuffer<float> v = null!, h = null!, ph = null!, pv = null!, w = null!, b = null!, c = null!;
    private RbmTrainer trainer = null!;
    private long offset;

    [ParamsSource(nameof(Accelerators))]
    public string Accelerator { get; set; } = "cpu";

    [Params(16, 100)]
    public int Batch { get; set; }

    public static IEnumerable<string> Accelerators() => BenchAccelerators.All();

    [GlobalSetup]
    public void Setup()
    {
        if (Accelerator == "ilgpu-cpu" && Batch > 16)
            throw new InvalidOperationException("ilgpu-cpu is a simulator: the small batch only (this case is skipped)");
        device = ComputeDevice.Open(Accelerator);
        v = device.Allocate<float>((long)Batch * Visible);
        pv = device.Allocate<float>((long)Batch * Visible);
        h = device.Allocate<float>((long)Batch * Hidden);
        ph = device.Allocate<float>((long)Batch * Hidden);
        w = device.Allocate<float>((long)Visible * Hidden);
        b = device.Allocate<float>(Visible);
        c = device.Allocate<float>(Hidden);
        var model = InfoGpu.Restricted.Rbm.Initialize(Visible, Hidden, 1);
        w.CopyFrom(model.Weights);
        var bits = new float[Batch * Visible];
        for (int i = 0; i < bits.Length; i++)
            bits[i] = Philox.Uniform(1, 2, (ulong)i) < 0.3f ? 1f : 0f;
        v.CopyFrom(bits);
        var data = new float[Batch * 10 * Visible];
        for (int i = 0; i < data.Length; i++)
            data[i] = Philox.Uniform(1, 3, (ulong)i) < 0.3f ? 1f : 0f;
        trainer = new RbmTrainer(device, model, data, data.AsSpan(0, Visible), new RbmTrainerOptions { BatchSize = Batch, AllBitsRows = 0, CheckEvery = int.MaxValue });
        VisibleToHidden();
        HiddenToVisible();
    }

    [Benchmark(Baseline = true)]
    public float VisibleToHidden()
    {
        Gemm.Multiply(GemmLayout.NN, (v, Batch, Visible), (w, Visible, Hidden), (ph, Batch, Hidden), new GemmEpilogue { Bias = c, Activation = GemmActivation.Sigmoid, Samples = h, Seed = 1, Stream = 2, SampleOffset = offset += Batch * Hidden });
        device.Synchronize();
        return 0f;
    }

    [Benchmark]
    public float HiddenToVisible()
    {
        Gemm.Multiply(GemmLayout.NT, (h, Batch, Hidden), (w, Visible, Hidden), (pv, Batch, Visible), new GemmEpilogue { Bias = b, Activation = GemmActivation.Sigmoid, Samples = v, Seed = 1, Stream = 3, SampleOffset = offset += Batch * Visible });
        device.Synchronize();
        return 0f;
    }

    /// <summary>Ten whole CD-1 steps (one epoch of 10 batches; the monitors run on one image).</summary>
    [Benchmark(OperationsPerInvoke = 10)]
    public double Cd1Step() => trainer.TrainEpoch().Metrics!.Seconds;

    [GlobalCleanup]
    public void Cleanup()
    {
        trainer?.Dispose();
        foreach (var x in new[] { c, b, w, ph, h, pv, v })
            x?.Dispose();
        device?.Dispose();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new ThroughputColumn("GFLOP/s", (a, method) => (method == nameof(Cd1Step) ? 5.0 : 1.0) * 2.0 * (int)a["Batch"] * Visible * Hidden));
        }
    }
}
