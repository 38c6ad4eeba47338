using InfoGpu.Devices;
using InfoGpu.Evaluation;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Variational;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Devices;

/// <summary>
/// The device budget of a training step and of an AIS temperature, read from the backend's
/// counters (<see cref="ComputeDevice.Counters"/>): inside a step there are only launches (and,
/// for the VAE, two copies on the device), no host copy, no synchronization, no allocation.
/// The same numbers on <c>cpu</c> (one launch per kernel call) and <c>ilgpu-cpu</c>; README.md
/// states them (Backends). Each test prints what it measured (dotnet test --logger
/// "console;verbosity=detailed").
/// </summary>
/// <remarks>
/// The devices are this class's own, not the shared test devices: tests of other classes
/// running at the same time would add their work to a shared device's counters.
/// </remarks>
public class DeviceBudgetTests(ITestOutputHelper output)
{
    // CD-1 step: gather 1, positive half-sweep 1 GEMM (sigmoid + draws fused), h -> v 1 GEMM,
    // v -> h 1 GEMM, column statistics 2, gradient 1 GEMM, the update 1 (c, b, q and W in one launch).
    private const int RbmCd1StepLaunches = 8;

    // PCD-1 step: the same count (the chains' first v -> h shares the positive phase's GEMM).
    private const int RbmPcd1StepLaunches = 8;

    // VAE step: gather 1, encoder 2 GEMMs, reparameterization 1, decoder 2 GEMMs, cross-entropy 1,
    // KL 1, backward 12 (7 GEMMs, 2 column sums, 2 ReLU backward, 1 reparameterization
    // backward), Adam 1 (all eight tensors in one launch); plus 2 copies on the device (the
    // batch's losses into the epoch's loss buffer).
    private const int VaeStepLaunches = 21;
    private const int VaeStepDeviceCopies = 2;

    // AIS temperature: v W + c 1 GEMM, weights and hidden draws 1, visible half-sweep 1 GEMM.
    private const int AisTemperatureLaunches = 3;

    // On cuda with cuBLAS a GEMM whose epilogue does more than scale (a bias, an activation, a
    // draw) is two launches, cublasSgemm and the epilogue kernel; everywhere else the epilogue is
    // fused into the one GEMM launch. Such GEMMs per step: RBM CD-1 and PCD-1 3 (the three
    // half-sweeps; the gradient only scales), VAE 4 (the forward layers; the backward GEMMs only
    // scale), AIS temperature 2.
    private const int RbmEpilogueGemms = 3;
    private const int VaeEpilogueGemms = 4;
    private const int AisEpilogueGemms = 2;

    private static readonly Dictionary<string, Lazy<ComputeDevice>> Own = new()
    {
        ["cpu"] = new(() => ComputeDevice.Open(DeviceKind.Cpu)),
        ["ilgpu-cpu"] = new(() => ComputeDevice.Open(DeviceKind.IlgpuCpu)),
        ["cuda"] = new(() => ComputeDevice.Open(DeviceKind.Cuda)),
    };

    /// <summary>cpu and ilgpu-cpu; and cuda with INFOGPU_TEST_CUDA=1 (a device of this class's own, so other tests' work does not count).</summary>
    public static TheoryData<string> Kinds
    {
        get
        {
            var kinds = new TheoryData<string> { "cpu", "ilgpu-cpu" };
            if (TestDevices.CudaRequested)
                kinds.Add("cuda");
            return kinds;
        }
    }

    private static ComputeDevice Device(string kind) => Own[kind].Value;

    /// <summary>Launches of a step with <paramref name="epilogueGemms"/> GEMMs that have a real epilogue: one more each where cuBLAS runs them.</summary>
    private static int Launches(ComputeDevice device, int fused, int epilogueGemms) =>
        fused + (device.Info.Gemm is string g && g.StartsWith("cublas", StringComparison.Ordinal) ? epilogueGemms : 0);

    /// <summary>The counters of the work <paramref name="body"/> does on <paramref name="device"/>.</summary>
    private DeviceCounters Measure(ComputeDevice device, string what, Action body)
    {
        var before = device.Counters;
        body();
        var used = device.Counters - before;
        output.WriteLine($"{device.Info.Kind} {what}: {used}");
        return used;
    }

    private static void OnlyLaunches(DeviceCounters c, long launches, long deviceCopies = 0, long deviceCopiedBytes = 0)
    {
        Assert.Equal(new DeviceCounters(launches, 0, 0, 0, 0, 0, 0, deviceCopies, deviceCopiedBytes, 0, 0), c);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void BuffersCountTheirAllocationCopiesClearsAndWaits(string kind)
    {
        var device = Device(kind);
        DeviceBuffer<float>? buffer = null;
        var made = Measure(device, "allocate 10 floats", () => buffer = device.Allocate<float>(10));
        using var b = buffer!;
        Assert.Equal(1, made.Allocations);
        Assert.Equal(40, made.AllocatedBytes);
        Assert.Equal(0, made.Launches + made.HostCopies);
        var up = Measure(device, "upload 7 floats", () => b.CopyFrom(new float[7], 2));
        Assert.Equal(new DeviceCounters(0, 0, 0, 1, 28, 0, 0, 0, 0, 0, 0), up);
        var down = Measure(device, "download 10 floats", () => b.ToArray());
        Assert.Equal(new DeviceCounters(0, 0, 0, 0, 0, 1, 40, 0, 0, 0, 1), down);
        var clear = Measure(device, "clear", b.Clear);
        Assert.Equal(new DeviceCounters(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0), clear);
        var sync = Measure(device, "synchronize", device.Synchronize);
        Assert.Equal(new DeviceCounters(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), sync);
        using var other = device.Allocate<float>(10);
        var copy = Measure(device, "device copy of 3 floats", () => device.Backend.CopyBuffer(b, 1, other, 4, 3));
        Assert.Equal(new DeviceCounters(0, 0, 0, 0, 0, 0, 0, 1, 12, 0, 0), copy);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void CountingIsExactWithThreadsSharingTheDevice(string kind)
    {
        var device = Device(kind);
        using var b = device.Allocate<float>(4);
        var used = Measure(device, "8 threads x 100 uploads and downloads", () =>
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
            {
                var host = new float[4];
                for (int i = 0; i < 100; i++)
                {
                    b.CopyFrom(host);
                    b.CopyTo(host);
                }
            }));
        Assert.Equal(new DeviceCounters(0, 0, 0, 800, 800 * 16, 800, 800 * 16, 0, 0, 0, 800), used);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RbmStepBudget(string kind)
    {
        const int nv = 12, nh = 6, rows = 60, batch = 20;
        var device = Device(kind);
        var data = Binary(rows * nv, 7);
        foreach (var (sampler, fused) in new[] { (RbmSamplerKind.Cd, RbmCd1StepLaunches), (RbmSamplerKind.Pcd, RbmPcd1StepLaunches) })
        {
            int launches = Launches(device, fused, RbmEpilogueGemms);
            var options = new RbmTrainerOptions { Sampler = sampler, K = 1, BatchSize = batch, CheckEvery = 3, MonitorRows = 10, AllBitsRows = 0, Seed = 5 };
            using var t = new RbmTrainer(device, Rbm.Initialize(nv, nh, 3), data, [], options);
            // Step 1 opens the epoch: it uploads the epoch's order once.
            var first = Measure(device, $"RBM {sampler}-1 first step of an epoch", t.TrainStep);
            Assert.Equal(new DeviceCounters(launches, 0, 0, 1, rows * sizeof(int), 0, 0, 0, 0, 0, 0), first);
            // Step 2: the budget of a step.
            OnlyLaunches(Measure(device, $"RBM {sampler}-1 step", t.TrainStep), launches);
            // Step 3 is a multiple of CheckEvery: W, b and c are read and checked for NaN.
            var check = Measure(device, $"RBM {sampler}-1 step that checks the parameters", t.TrainStep);
            Assert.Equal(new DeviceCounters(launches, 0, 0, 0, 0, 3, (nv * nh + nv + nh) * sizeof(float), 0, 0, 0, 3), check);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void VaeStepBudget(string kind)
    {
        const int input = 12, rows = 50, batch = 10;
        var device = Device(kind);
        var images = Binary(rows * input, 11);
        var options = new VaeTrainerOptions { BatchSize = batch, Hidden = 6, Latent = 2, Seed = 3, CheckEvery = 3 };
        using var t = new VaeTrainer(device, Vae.Create(input, 6, 2, 3), images, [], options);
        long copied = 2 * batch * sizeof(float);
        int vaeLaunches = Launches(device, VaeStepLaunches, VaeEpilogueGemms);
        // Step 1: the epoch's order is uploaded, and the trainer's first step reads its loss.
        var first = Measure(device, "VAE first step", t.TrainStep);
        Assert.Equal(new DeviceCounters(vaeLaunches, 0, 0, 1, rows * sizeof(int), 1, copied, VaeStepDeviceCopies, copied, 0, 1), first);
        // Step 2: the budget of a step.
        OnlyLaunches(Measure(device, "VAE step", t.TrainStep), vaeLaunches, VaeStepDeviceCopies, copied);
        // Step 3 is a multiple of CheckEvery: the losses of steps 2 and 3 are read in one copy.
        var check = Measure(device, "VAE step that reads the loss", t.TrainStep);
        Assert.Equal(new DeviceCounters(vaeLaunches, 0, 0, 0, 0, 1, 2 * copied, VaeStepDeviceCopies, copied, 0, 1), check);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AisTemperatureBudget(string kind)
    {
        const int nv = 10, nh = 5;
        var device = Device(kind);
        var w = Uniform(nv * nh, 1, 0.2f);
        var b = Uniform(nv, 2, 0.5f);
        var c = Uniform(nh, 3, 0.5f);
        var baseBias = Uniform(nv, 4, 0.5f);
        DeviceCounters Run(int betas) => Measure(device, $"AIS with {betas} temperatures", () =>
            AnnealedImportanceSampling.EstimateLogPartition(device, w, b, c, baseBias, new AisOptions(Runs: 4, Betas: betas, Seed: 2)));
        var shortRun = Run(10);
        var longRun = Run(30);
        // The 20 more temperatures of the longer run cost launches only: uploads, downloads and
        // allocations are made once per estimate.
        var perTwenty = longRun - shortRun;
        output.WriteLine($"{device.Info.Kind} 20 AIS temperatures: {perTwenty}");
        OnlyLaunches(perTwenty, 20 * Launches(device, AisTemperatureLaunches, AisEpilogueGemms));
    }

    private static float[] Binary(int n, ulong seed)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = Philox.Uniform(seed, 0, (ulong)i) < 0.4f ? 1f : 0f;
        return x;
    }

    private static float[] Uniform(int n, ulong seed, float scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = scale * (2 * Philox.Uniform(seed, 0, (ulong)i) - 1);
        return x;
    }

    /// <summary>Kinds crossed with grid sizes, for the grid's half-sweeps.</summary>
    public static TheoryData<string, int> KindsAndModels
    {
        get
        {
            var data = new TheoryData<string, int>();
            var kinds = new List<string> { "cpu", "ilgpu-cpu" };
            if (TestDevices.CudaRequested)
                kinds.Add("cuda");
            foreach (string kind in kinds)
            {
                foreach (int models in new[] { 1, 4, 16 })
                    data.Add(kind, models);
            }
            return data;
        }
    }

    // The three half-sweep GEMMs of a CD-1 step (v -> h with draws, h -> v with draws, v -> h)
    // for a grid of M models with stacked parameters, one Gemm.MultiplyBatched each: 3 launches
    // whatever M (the batched product never goes through cuBLAS, so no epilogue launch either).
    private const int GridHalfSweepLaunches = 3;

    [Theory]
    [MemberData(nameof(KindsAndModels))]
    public void AGridsHalfSweepsCostTheLaunchesOfOneModel(string kind, int models)
    {
        var device = Device(kind);
        const int rows = 9, nv = 13, nh = 7;
        using var v = device.Allocate<float>((long)models * rows * nv);
        using var h = device.Allocate<float>((long)models * rows * nh);
        using var hs = device.Allocate<float>((long)models * rows * nh);
        using var vp = device.Allocate<float>((long)models * rows * nv);
        using var w = device.Allocate<float>((long)models * nv * nh);
        using var b = device.Allocate<float>((long)models * nv);
        using var c = device.Allocate<float>((long)models * nh);
        using var seeds = device.Allocate<ulong>(models);
        v.CopyFrom(Uniform(models * rows * nv, 1, 1));
        w.CopyFrom(Uniform(models * nv * nh, 2, 0.1f));
        seeds.CopyFrom([.. Enumerable.Range(1, models).Select(i => (ulong)i)]);
        var toHidden = new GemmBatch { Count = models, AStride = rows * nv, BStride = nv * nh, CStride = rows * nh, BiasStride = nh, SamplesStride = rows * nh, Seeds = seeds };
        var toVisible = toHidden with { AStride = rows * nh, CStride = rows * nv, BiasStride = nv, SamplesStride = rows * nv };
        void Step()
        {
            InfoGpu.LinearAlgebra.Gemm.MultiplyBatched(GemmLayout.NN, (v, rows, nv), (w, nv, nh), (h, rows, nh), new GemmEpilogue { Bias = c, Activation = GemmActivation.Sigmoid, Samples = hs, Stream = 41 }, toHidden);
            InfoGpu.LinearAlgebra.Gemm.MultiplyBatched(GemmLayout.NT, (hs, rows, nh), (w, nv, nh), (vp, rows, nv), new GemmEpilogue { Bias = b, Activation = GemmActivation.Sigmoid, Samples = v, Stream = 41, SampleOffset = rows * nh }, toVisible);
            InfoGpu.LinearAlgebra.Gemm.MultiplyBatched(GemmLayout.NN, (v, rows, nv), (w, nv, nh), (h, rows, nh), new GemmEpilogue { Bias = c, Activation = GemmActivation.Sigmoid }, toHidden with { SamplesStride = 0 });
        }

        Step(); // loads the kernels
        device.Synchronize();
        var used = Measure(device, $"grid of {models}: three half-sweeps", Step);
        OnlyLaunches(used, GridHalfSweepLaunches);
    }
}
