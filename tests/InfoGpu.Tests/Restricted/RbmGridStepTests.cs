using InfoGpu.Checkpoints;
using InfoGpu.Devices;
using InfoGpu.Distributed;
using InfoGpu.Kernels;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Tests.Training;
using InfoGpu.Training;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Restricted;

/// <summary>
/// The fused grid step of RBMs (<see cref="ModelGrid{TMetrics}"/> with RBM trainers that agree on
/// shape, data, batch, sampler, K and chains): M models that differ in seed, learning rate, weight
/// decay, final momentum and sparsity, stopped in the middle by a checkpoint and resumed, end
/// with the bits of each model trained alone on the same device (the reference is the
/// single-model trainer, run step by step), and their epoch monitors agree exactly; a step's
/// launch count does not depend on M; grids that cannot fuse fall back to the per-model loop.
/// </summary>
public class RbmGridStepTests(ITestOutputHelper output)
{
    private const int Visible = 64, Hidden = 16, Rows = 250, Batch = 20, Epochs = 2;

    // 250 images make 13 steps an epoch (the last one of 10 images); the grid stops after step 17 (epoch 2, step 4).
    private const int StopAt = 17;

    private static readonly float[] Train = Binary(Rows * Visible, 7, 0.4f);
    private static readonly float[] Test = Binary(30 * Visible, 8, 0.4f);

    private static float[] Binary(int n, ulong seed, float p)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = Philox.Uniform(seed, 0, (ulong)i) < p * (1 + (i % Visible) / (float)Visible) ? 1f : 0f;
        return x;
    }

    /// <summary>Three models of one grid: seeds, learning rates, weight decays, final momenta, check intervals and sparsity all differ.</summary>
    private static RbmTrainerOptions[] Models(RbmSamplerKind sampler, int k, bool restart = false)
    {
        var common = new RbmTrainerOptions
        {
            Sampler = sampler,
            K = k,
            Chains = sampler == RbmSamplerKind.Pcd ? 12 : 0,
            RestartChains = restart,
            BatchSize = Batch,
            Epochs = Epochs,
            MomentumSwitchEpochs = 1,
            MonitorRows = 30,
            AllBitsRows = 5,
        };
        return
        [
            common with { Seed = 3, LearningRate = 0.05, WeightDecay = 1e-4, FinalMomentum = 0.9, CheckEvery = 5 },
            common with { Seed = 4, LearningRate = 0.1, WeightDecay = 0, FinalMomentum = 0.8, CheckEvery = 3 },
            common with { Seed = 5, LearningRate = 0.02, WeightDecay = 5e-4, FinalMomentum = 0.7, CheckEvery = 100, SparsityTarget = 0.1, SparsityCost = 0.05 },
        ];
    }

    public static TheoryData<string, RbmSamplerKind, int, bool> Cases
    {
        get
        {
            var data = new TheoryData<string, RbmSamplerKind, int, bool>();
            foreach (var kind in new[] { "cpu", "ilgpu-cpu" })
            {
                data.Add(kind, RbmSamplerKind.Cd, 1, false);
                data.Add(kind, RbmSamplerKind.Cd, 3, false);
                data.Add(kind, RbmSamplerKind.Pcd, 2, false);
                data.Add(kind, RbmSamplerKind.Pcd, 1, true);
            }
            return data;
        }
    }

    /// <summary>
    /// The grid runs fused to step <see cref="StopAt"/>, checkpoints every model there (cancelled
    /// between two steps), and a grid resumed from those checkpoints runs fused to the end: the
    /// checkpoints hold the bits of each model alone at that step, the final states the bits of
    /// each model alone at the end, and every epoch's monitors are the same numbers.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void FusedGridGivesTheBitsOfEachModelAlone(string kind, RbmSamplerKind sampler, int k, bool restart)
    {
        var settings = Models(sampler, k, restart);
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-grid-step-{kind}-{sampler}{k}{restart}-{Environment.ProcessId}");
        try
        {
            TestDevices.Use(kind, d =>
            {
                var alone = settings.Select(o => Alone(d, o)).ToArray();
                var metrics = FusedGridKit.StopAndResumeFused<RbmEpochMetrics>(
                    root,
                    settings.Length,
                    StopAt,
                    i => new RbmTrainer(d, Rbm.Initialize(Visible, Hidden, settings[i].Seed), Train, Test, settings[i]),
                    c => RbmTrainer.Resume(d, c, Train, Test),
                    i => alone[i].AtStop,
                    i => alone[i].AtEnd,
                    (e, a, w) => FusedGridKit.SameBits(e, a, w),
                    $"{kind} {sampler}-{k}");
                for (int i = 0; i < settings.Length; i++)
                    SameMonitors(alone[i].Epochs, metrics[i], $"{kind} {sampler}-{k}: model {i}");
                return 0;
            });
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// A grid driven step by step (<see cref="ModelGrid{TMetrics}.TrainStep"/>, <see cref="ModelGrid{TMetrics}.EndEpoch"/>,
    /// then <see cref="ModelGrid{TMetrics}.Dispose"/> to write the stacks back) gives the bits of
    /// <see cref="ModelGrid{TMetrics}.Run"/>, and refuses a step past the epoch's end or an early end.
    /// </summary>
    [Fact]
    public void AGridDrivenStepByStepGivesTheBitsOfRun()
    {
        TestDevices.Use("cpu", d =>
        {
            var settings = Models(RbmSamplerKind.Pcd, 2);
            TensorSet[] States(bool driven)
            {
                var trainers = settings.Select(o => new RbmTrainer(d, Rbm.Initialize(Visible, Hidden, o.Seed), Train, Test, o)).ToList();
                try
                {
                    var sessions = trainers.Select(t => new TrainingSession<RbmEpochMetrics>(t, new TrainingSessionOptions())).ToList();
                    using var grid = new ModelGrid<RbmEpochMetrics>(sessions, ["m0", "m1", "m2"], GridStepping.Fused);
                    if (!driven)
                    {
                        Assert.Equal(TrainingStop.Completed, grid.Run());
                    }
                    else
                    {
                        for (int e = 0; e < trainers[0].Epochs; e++)
                        {
                            Assert.Throws<InvalidOperationException>(() => grid.EndEpoch());
                            while (trainers[0].StepInEpoch < trainers[0].StepsPerEpoch)
                                grid.TrainStep();
                            Assert.Throws<InvalidOperationException>(() => grid.TrainStep());
                            var metrics = grid.EndEpoch();
                            Assert.Equal(3, metrics.Count);
                            Assert.All(metrics, m => Assert.Equal(e + 1, m.Epoch));
                        }
                        Assert.True(grid.FusedStepCount > 0);
                    }
                    grid.Dispose();
                    return [.. trainers.Select(t => t.SaveState())];
                }
                finally
                {
                    foreach (var t in trainers)
                        t.Dispose();
                }
            }
            var run = States(false);
            var driven = States(true);
            for (int i = 0; i < run.Length; i++)
                FusedGridKit.SameBits(run[i], driven[i], $"driven model {i}");
            return 0;
        });
    }

    /// <summary>
    /// The stepping policy: <see cref="GridStepping.Auto"/> fuses only where a launch costs (not on
    /// the CPU kinds, where the per-model loop measured as fast or faster), <see cref="GridStepping.OneByOne"/>
    /// never, <see cref="GridStepping.Fused"/> whenever the trainers allow; each runs to the same bits.
    /// </summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AutoSteppingFusesOnlyWhereALaunchCosts(string kind)
    {
        TestDevices.Use(kind, d =>
        {
            var settings = Models(RbmSamplerKind.Cd, 1);
            TensorSet[]? reference = null;
            foreach (var (stepping, fused, reason) in new[]
            {
                (GridStepping.Fused, true, (string?)null),
                (GridStepping.Auto, false, $"on {kind} a launch costs nothing"),
                (GridStepping.OneByOne, false, "asked for one model after another"),
            })
            {
                var trainers = settings.Select(o => new RbmTrainer(d, Rbm.Initialize(Visible, Hidden, o.Seed), Train, Test, o)).ToList();
                try
                {
                    var grid = FusedGridKit.Grid<RbmEpochMetrics>(trainers, stepping);
                    Assert.Equal(fused, grid.Fused);
                    if (reason is not null)
                        Assert.Contains(reason, grid.NotFusedReason, StringComparison.Ordinal);
                    Assert.Equal(TrainingStop.Completed, grid.Run());
                    Assert.Equal(fused, grid.FusedStepCount > 0);
                    var states = trainers.Select(t => t.SaveState()).ToArray();
                    if (reference is null)
                        reference = states;
                    else
                        for (int i = 0; i < states.Length; i++)
                            FusedGridKit.SameBits(reference[i], states[i], $"{stepping} model {i}");
                }
                finally
                {
                    foreach (var t in trainers)
                        t.Dispose();
                }
            }
            return 0;
        });
    }

    /// <summary>
    /// Grids that cannot share launches (another K for one model; a model whose batches are split
    /// over two shards) say why, step model after model, and still give each model's bits alone.
    /// </summary>
    [Fact]
    public void GridsThatCannotFuseFallBackAndStillMatch()
    {
        TestDevices.Use("cpu", d =>
        {
            var settings = Models(RbmSamplerKind.Cd, 1);
            settings[1] = settings[1] with { K = 2 };
            var parallel = new DataParallel?[] { null, null, null };
            Check(d, settings, parallel, "has another sampler, K or chain count");

            settings = Models(RbmSamplerKind.Pcd, 1);
            parallel[2] = new DataParallel(Cluster.Single, 2);
            Check(d, settings, parallel, "splits its batches over 2 shards");
            return 0;
        });

        static void Check(ComputeDevice d, RbmTrainerOptions[] settings, DataParallel?[] parallel, string reason)
        {
            var alone = settings.Select((o, i) => Alone(d, o, parallel[i])).ToArray();
            var trainers = settings.Select((o, i) => new RbmTrainer(d, Rbm.Initialize(Visible, Hidden, o.Seed), Train, Test, o, parallel[i])).ToList();
            try
            {
                var grid = FusedGridKit.Grid<RbmEpochMetrics>(trainers, GridStepping.Fused);
                Assert.False(grid.Fused);
                Assert.Contains(reason, grid.NotFusedReason, StringComparison.Ordinal);
                Assert.Equal(TrainingStop.Completed, grid.Run());
                Assert.Equal(0, grid.FusedStepCount);
                for (int i = 0; i < settings.Length; i++)
                    FusedGridKit.SameBits(alone[i].AtEnd, trainers[i].SaveState(), $"unfused model {i}");
            }
            finally
            {
                trainers.ForEach(t => t.Dispose());
            }
        }
    }

    /// <summary>A model that diverges inside a fused grid is named, with the message its own trainer gives alone.</summary>
    [Fact]
    public void ADivergingModelIsNamedWithItsOwnMessage()
    {
        TestDevices.Use("cpu", d =>
        {
            var settings = Models(RbmSamplerKind.Cd, 1).Select(o => o with { CheckEvery = 1 }).ToArray();
            settings[1] = settings[1] with { LearningRate = 1e38 };
            FusedGridKit.DivergesLikeAlone<RbmEpochMetrics>(
                new RbmTrainer(d, Rbm.Initialize(Visible, Hidden, settings[1].Seed), Train, Test, settings[1]),
                [.. settings.Select(o => new RbmTrainer(d, Rbm.Initialize(Visible, Hidden, o.Seed), Train, Test, o))]);
            return 0;
        });
    }

    /// <summary>
    /// On <c>ilgpu-cpu</c> shaped like an NVIDIA GPU, with the row and column kernels' groups of
    /// 1 (fewer lanes than a column tile), 32 (one row lane) and 256 (8 row lanes, a real GPU's
    /// size; 1024 takes the same paths and 90 s of the simulator), so that the batched column
    /// statistics and update run their model dimension beside groups of those shapes, at odd sizes (37 visible, 40 hidden: two column tiles, the second partial): a
    /// fused step of three models (CD-1 and PCD-2, one with sparsity) gives each model's bits alone.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(256)]
    public void OnASimulatedGpuTheFusedStepGivesEachModelsBitsAlone(int groupSize)
    {
        const int nv = 37, nh = 40, rows = 50;
        var data = Binary(rows * nv, 12, 0.4f);
        TestDevices.UseSimulatedGpu(groupSize, d =>
        {
            foreach (var (sampler, k) in new[] { (RbmSamplerKind.Cd, 1), (RbmSamplerKind.Pcd, 2) })
            {
                var settings = Models(sampler, k).Select(o => o with { MonitorRows = 10, AllBitsRows = 0, CheckEvery = 2 }).ToArray();
                FusedGridKit.FusedEpochGivesTheBitsAlone(
                    settings.Length,
                    i => new RbmTrainer(d, Rbm.Initialize(nv, nh, settings[i].Seed), data, [], settings[i]),
                    $"simulated GPU, groups of {groupSize}, {sampler}-{k}");
            }
            return 0;
        });
    }

    // A fused CD-1 or PCD-1 grid step: the batched gather 1, the three half-sweeps 3 batched GEMMs
    // (sigmoid + draws fused; not cuBLAS on cuda either), column statistics 2, the gradient 1
    // batched TN GEMM, the update 1: 8 launches, as one model's step, for any number of models.
    private const int FusedStepLaunches = 8;

    /// <summary>
    /// On a device of this class's own (other tests' work would count): a fused step of M = 1 and
    /// M = 4 models is the same 8 launches; the first step of an epoch uploads the M orders and the
    /// M coefficient sets, a step in the middle only launches, and a step that checks the
    /// parameters reads the three stacked buffers once.
    /// </summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AFusedStepIsTheSameLaunchesForOneOrFourModels(string kind)
    {
        var device = FusedGridKit.Own[kind].Value;
        int coefficientBytes = System.Runtime.CompilerServices.Unsafe.SizeOf<RbmUpdateArgs>();
        // Warm up: the first batched GEMM on an ILGPU device loads its kernel and makes a one-value seed placeholder.
        using (var warm = new RbmTrainer(device, Rbm.Initialize(Visible, Hidden, 9), Train, [], new RbmTrainerOptions { BatchSize = Batch, MonitorRows = 10, AllBitsRows = 0 }))
        using (var steps = FusedGridKit.Fuse([warm]))
            steps.Step();
        foreach (var sampler in new[] { RbmSamplerKind.Cd, RbmSamplerKind.Pcd })
        {
            foreach (int m in new[] { 1, 4 })
            {
                var options = new RbmTrainerOptions { Sampler = sampler, K = 1, Chains = 10, BatchSize = Batch, CheckEvery = 3, MonitorRows = 10, AllBitsRows = 0 };
                var trainers = Enumerable.Range(0, m).Select(i => new RbmTrainer(device, Rbm.Initialize(Visible, Hidden, (ulong)i + 1), Train, [], options with { Seed = (ulong)i + 1, LearningRate = 0.01 * (i + 1) })).ToList();
                try
                {
                    using var fused = FusedGridKit.Fuse(trainers);
                    var first = Measure(device, $"{sampler}-1 fused step of {m} models, first of an epoch", fused.Step);
                    Assert.Equal(new DeviceCounters(FusedStepLaunches, 0, 0, 2, m * ((Rows * sizeof(int)) + coefficientBytes), 0, 0, 0, 0, 0, 0), first);
                    var middle = Measure(device, $"{sampler}-1 fused step of {m} models", fused.Step);
                    Assert.Equal(new DeviceCounters(FusedStepLaunches, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), middle);
                    var check = Measure(device, $"{sampler}-1 fused step of {m} models that checks the parameters", fused.Step);
                    Assert.Equal(new DeviceCounters(FusedStepLaunches, 0, 0, 0, 0, 3, m * ((Visible * Hidden) + Visible + Hidden) * sizeof(float), 0, 0, 0, 3), check);
                    Assert.All(trainers, t => Assert.Equal(3, t.Step));
                }
                finally
                {
                    trainers.ForEach(t => t.Dispose());
                }
            }
        }
    }

    private DeviceCounters Measure(ComputeDevice device, string what, Action body)
    {
        var before = device.Counters;
        body();
        var used = device.Counters - before;
        output.WriteLine($"{device.Info.Kind} {what}: {used}");
        return used;
    }

    /// <summary>One model trained alone, step by step: its state at <see cref="StopAt"/> and at the end, and its epochs' monitors.</summary>
    private static (TensorSet AtStop, TensorSet AtEnd, List<RbmEpochMetrics> Epochs) Alone(ComputeDevice d, RbmTrainerOptions o, DataParallel? parallel = null)
    {
        using var t = new RbmTrainer(d, Rbm.Initialize(Visible, Hidden, o.Seed), Train, Test, o, parallel);
        TensorSet? atStop = null;
        var epochs = new List<RbmEpochMetrics>();
        for (int e = 0; e < Epochs; e++)
        {
            for (int s = 0; s < t.StepsPerEpoch; s++)
            {
                t.TrainStep();
                if (t.Step == StopAt)
                    atStop = t.SaveState();
            }
            epochs.Add(t.EndEpoch());
        }
        return (atStop!, t.SaveState(), epochs);
    }

    private static void SameMonitors(List<RbmEpochMetrics> expected, List<RbmEpochMetrics> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int e = 0; e < expected.Count; e++)
        {
            var (x, y) = (expected[e], actual[e]);
            Assert.True(
                x.Epoch == y.Epoch && x.Momentum.Equals(y.Momentum) && x.ReconstructionError.Equals(y.ReconstructionError) && x.PseudoLogLikelihood.Equals(y.PseudoLogLikelihood)
                && x.PseudoLogLikelihoodAllBits.Equals(y.PseudoLogLikelihoodAllBits) && x.FreeEnergyGap.Equals(y.FreeEnergyGap),
                $"{what}: epoch {x.Epoch}'s monitors differ: alone {x}, in the grid {y}");
        }
    }

}
