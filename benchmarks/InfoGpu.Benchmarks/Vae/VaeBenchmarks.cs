using BenchmarkDotNet.Attributes;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Variational;

namespace InfoGpu.Benchmarks.Vae;

/// <summary>
/// The VAE's pieces at the chapter's sizes (784-400-20, batch 128): the reparameterization,
/// the encoder's first layer forward (one fused GEMM) and backward (dW GEMM + ReLU mask with
/// bias gradient), the loss with its gradient, one Adam step over all parameters, and a whole
/// training step. The cpu path is the baseline; ilgpu-cpu is a simulator and runs only here
/// for completeness at batch 128.
/// </summary>
public class VaeBenchmarks
{
    private ComputeDevice device = null!;
    private VaeNetwork net = null!;
    private DeviceBuffer<float>[] m = [];
    private DeviceBuffer<float>[] v = [];
    private long offset;

    [ParamsSource(nameof(Accelerators))]
    public string Accelerator { get; set; } = "cpu";

    [Params(128)]
    public int Batch { get; set; }

    public static IEnumerable<string> Accelerators() => BenchAccelerators.All();

    [GlobalSetup]
    public void Setup()
    {
        device = ComputeDevice.Open(Accelerator);
        var vae = Variational.Vae.Create(784, 400, 20, 1);
        net = new VaeNetwork(device, vae, Batch, training: true);
        var x = new float[Batch * 784];
        for (int i = 0; i < x.Length; i++)
            x[i] = Philox.Uniform(1, 1, (ulong)i);
        net.X.CopyFrom(x);
        m = vae.Tensors.Select(t => device.Allocate<float>(t.Values.Length)).ToArray();
        v = vae.Tensors.Select(t => device.Allocate<float>(t.Values.Length)).ToArray();
        Step();
    }

    private float Sync(DeviceBuffer<float> b)
    {
        var one = new float[1];
        b.CopyTo(one);
        return one[0];
    }

    [Benchmark(Baseline = true)]
    public float Reparameterize()
    {
        net.Sample(Batch, 1, 1, 21, offset += Batch * 20);
        return Sync(net.Z);
    }

    [Benchmark]
    public float EncoderLayerForward()
    {
        Gemm.Multiply(GemmLayout.NT, (net.X, Batch, 784), (net.Parameters[0], 400, 784), (net.H1, Batch, 400), new GemmEpilogue { Bias = net.Parameters[1], Activation = GemmActivation.Relu });
        return Sync(net.H1);
    }

    [Benchmark]
    public float EncoderLayerBackward()
    {
        device.Backend.VaeReluBackward(net.Dh, net.H1, net.Gradients[1], Batch, 400);
        Gemm.Multiply(GemmLayout.TN, (net.Dh, Batch, 400), (net.X, Batch, 784), (net.Gradients[0], 400, 784), GemmEpilogue.None);
        return Sync(net.Gradients[0]);
    }

    [Benchmark]
    public float LossAndGradient()
    {
        net.Decode(Batch);
        net.Loss(Batch, net.X, 1, gradient: true);
        return Sync(net.Reconstruction);
    }

    [Benchmark]
    public float AdamAllParameters()
    {
        var a = new AdamArgs { OneMinusBeta1 = 0.1f, Beta2 = 0.999f, OneMinusBeta2 = 0.001f, StepSize = 1e-3f, Bias2Sqrt = 0.5f, Epsilon = 1e-8f };
        device.Backend.VaeAdam(net.Parameters, net.Gradients, m, v, a);
        return Sync(net.Parameters[0]);
    }

    [Benchmark]
    public float TrainingStepWithoutAdam() => Step();

    private float Step()
    {
        net.Encode(Batch);
        net.Sample(Batch, 1, 1, 21, offset += Batch * 20);
        net.Decode(Batch);
        net.Loss(Batch, net.X, 1, gradient: true);
        net.ComputeKl(Batch);
        net.Backward(Batch, 1f);
        return Sync(net.Gradients[0]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in m.Concat(v))
            b.Dispose();
        net?.Dispose();
        device?.Dispose();
    }
}
