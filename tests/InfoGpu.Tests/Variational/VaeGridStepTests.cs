using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Distributed;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Tests.Training;
using InfoGpu.Training;
using InfoGpu.Variational;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Variational;

/// <summary>
/// The fused grid step of VAEs (<see cref="ModelGrid{TMetrics}"/> with VAE trainers that agree on
/// shape, data, binarization and batch): M models that differ in seed, learning rate, beta and
/// check interval, stopped in the middle by a checkpoint and resumed, end with the bits of each
/// model trained alone on the same device (the reference is the single-model trainer, run step by
/// step), and their epoch figures are the same numbers; a step's launch count does not depend on M;
/// grids that cannot fuse fall back to the per-model loop.
/// </summary>
public class VaeGridStepTests(ITestOutputHelper output)
{
    private const int Input = 64, Hidden = 24, Latent = 3, Rows = 210, Batch = 40, Epochs = 2;

    // 210 images make 6 steps an epoch (the last one of 10 images); the grid stops after step 8 (epoch 2, step 2).
    private const int StopAt = 8;

    private static readonly Dataset Data = new(Images(Rows, 7), Images(30, 8), "synthetic 8x8 grey levels");

    /// <summary>Grey levels in [0, 1] with a column-dependent mean (so binarization and the decoder have something to learn).</summary>
    private static ImageSet Images(int count, ulong seed)
    {
        var x = new float[count * Input];
        for (int i = 0; i < x.Length; i++)
            x[i] = Math.Min(1f, Philox.Uniform(seed, 0, (ulong)i) * (0.3f + (i % Input) / (float)Input));
        return new ImageSet(x, count, 8, 8, null, "synthetic");
    }

    /// <summary>Three models of one grid: seeds, learning rates, betas and check intervals all differ.</summary>
    private static VaeTrainerOptions[] Models(bool binarize = false)
    {
        var common = new VaeTrainerOptions { BatchSize = Batch, Epochs = Epochs, Hidden = Hidden, Latent = Latent, Binarize = binarize };
        return
        [
            common with { Seed = 3, LearningRate = 1e-3, Beta = 1, CheckEvery = 5 },
            common with { Seed = 4, LearningRate = 3e-3, Beta = 0.5, CheckEvery = 3 },
            common with { Seed = 5, LearningRate = 5e-4, Beta = 2, CheckEvery = 100 },
        ];
    }

    private static VaeTrainer New(ComputeDevice d, VaeTrainerOptions o, DataParallel? parallel = null) =>
        new(d, Vae.Create(Input, o.Hidden, o.Latent, o.Seed), Data, o, parallel);

    /// <summary>
    /// The grid runs fused to step <see cref="StopAt"/>, checkpoints every model there (cancelled
    /// between two steps), and a grid resumed from those checkpoints runs fused to the end: the
    /// checkpoints hold the bits of each model alone at that step, the final states the bits of
    /// each model alone at the end, and every epoch's losses are the same numbers.
    /// </summary>
    [Theory]
    [InlineData("cpu", false)]
    [InlineData("cpu", true)]
    [InlineData("ilgpu-cpu", false)]
    public void FusedGridGivesTheBitsOfEachModelAlone(string kind, bool binarize)
    {
        var settings = Models(binarize);
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-vae-grid-step-{kind}-{binarize}-{Environment.ProcessId}");
        try
        {
            TestDevices.Use(kind, d =>
            {
                var alone = settings.Select(o => Alone(d, o)).ToArray();
                var metrics = FusedGridKit.StopAndResumeFused<VaeEpochMetrics>(
                    root,
                    settings.Length,
                    StopAt,
                    i => New(d, settings[i]),
                    c => VaeTrainer.Resume(d, c, Data),
                    i => alone[i].AtStop,
                    i => alone[i].AtEnd,
                    SameBits,
                    kind);
                for (int i = 0; i < settings.Length; i++)
                    SameLosses(alone[i].Epochs, metrics[i], $"{kind}: model {i}");
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
    /// The stepping policy: <see cref="GridStepping.Auto"/> fuses only where a launch costs (not on
    /// the CPU kinds), <see cref="GridStepping.OneByOne"/> never, <see cref="GridStepping.Fused"/>
    /// whenever the trainers allow; each runs to the same bits.
    /// </summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AutoSteppingFusesOnlyWhereALaunchCosts(string kind)
    {
        TestDevices.Use(kind, d =>
        {
            var settings = Models();
            TensorSet[]? reference = null;
            foreach (var (stepping, fused, reason) in new[]
            {
                (GridStepping.Fused, true, (string?)null),
                (GridStepping.Auto, false, $"on {kind} a launch costs nothing"),
                (GridStepping.OneByOne, false, "asked for one model after another"),
            })
            {
                var trainers = settings.Select(o => New(d, o)).ToList();
                try
                {
                    var grid = FusedGridKit.Grid<VaeEpochMetrics>(trainers, stepping);
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
                            SameBits(reference[i], states[i], $"{stepping} model {i}");
                }
                finally
                {
                    trainers.ForEach(t => t.Dispose());
                }
            }
            return 0;
        });
    }

    /// <summary>
    /// Grids that cannot share launches (another latent size, another binarization, another batch
    /// size, a model whose batches are split over two shards) say why, step model after model, and
    /// still give each model's bits alone.
    /// </summary>
    [Fact]
    public void GridsThatCannotFuseFallBackAndStillMatch()
    {
        TestDevices.Use("cpu", d =>
        {
            var parallel = new DataParallel?[] { null, null, null };
            var settings = Models();
            settings[1] = settings[1] with { Latent = 4 };
            Check(d, settings, parallel, "model 1 is 64-24-4, not 64-24-3");

            settings = Models();
            settings[2] = settings[2] with { Binarize = true };
            Check(d, settings, parallel, "model 2 binarizes the images differently");

            settings = Models();
            settings[1] = settings[1] with { BatchSize = 35 }; // 6 steps an epoch too (a grid's models share their steps)
            Check(d, settings, parallel, "model 1 has another batch size");

            settings = Models();
            parallel[2] = new DataParallel(Cluster.Single, 2);
            Check(d, settings, parallel, "model 2 splits its batches over 2 shards");
            return 0;
        });

        static void Check(ComputeDevice d, VaeTrainerOptions[] settings, DataParallel?[] parallel, string reason)
        {
            var alone = settings.Select((o, i) => Alone(d, o, parallel[i])).ToArray();
            var trainers = settings.Select((o, i) => New(d, o, parallel[i])).ToList();
            try
            {
                var grid = FusedGridKit.Grid<VaeEpochMetrics>(trainers, GridStepping.Fused);
                Assert.False(grid.Fused);
                Assert.Contains(reason, grid.NotFusedReason, StringComparison.Ordinal);
                Assert.Equal(TrainingStop.Completed, grid.Run());
                Assert.Equal(0, grid.FusedStepCount);
                for (int i = 0; i < settings.Length; i++)
                    SameBits(alone[i].AtEnd, trainers[i].SaveState(), $"unfused model {i}");
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
            var settings = Models().Select(o => o with { CheckEvery = 1 }).ToArray();
            settings[1] = settings[1] with { LearningRate = 1e38 };
            output.WriteLine(FusedGridKit.DivergesLikeAlone<VaeEpochMetrics>(
                New(d, settings[1]),
                [.. settings.Select(o => New(d, o))]));
            return 0;
        });
    }

    /// <summary>
    /// On <c>ilgpu-cpu</c> shaped like an NVIDIA GPU, with the row and column kernels' groups of 1,
    /// 32 and 256 threads, so that the batched reductions run their model dimension beside groups of
    /// those shapes, at odd sizes (37 inputs, 40 hidden units: two column tiles, the second partial;
    /// 5 latent dimensions; 23 rows in batches of 10): a fused epoch of three models gives each model's bits alone.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(256)]
    public void OnASimulatedGpuTheFusedStepGivesEachModelsBitsAlone(int groupSize)
    {
        const int d = 37, h = 40, l = 5, rows = 23;
        var images = new float[rows * d];
        for (int i = 0; i < images.Length; i++)
            images[i] = Philox.Uniform(12, 0, (ulong)i);
        TestDevices.UseSimulatedGpu(groupSize, device =>
        {
            var settings = Models().Select(o => o with { Hidden = h, Latent = l, BatchSize = 10, CheckEvery = 2 }).ToArray();
            FusedGridKit.FusedEpochGivesTheBitsAlone(
                settings.Length,
                i => new VaeTrainer(device, Vae.Create(d, h, l, settings[i].Seed), images, [], settings[i]),
                $"simulated GPU, groups of {groupSize}",
                PartialSecondsUncompared);
            return 0;
        });
    }

    // A fused VAE step: the batched gather 1; forward 4 batched GEMMs (bias and ReLU fused), the
    // reparameterization 1, cross-entropy 1, KL 1; backward 7 batched GEMMs, 2 column sums, 2 ReLU
    // backwards, the gradient through z 1; Adam 1: 21 launches, as one model's step (which also
    // makes 2 device copies of its rows' losses, written in place here), for any number of models.
    private const int FusedStepLaunches = 21;

    /// <summary>
    /// On a device of this class's own (other tests' work would count): a fused step of M = 1 and
    /// M = 4 models is the same 21 launches (as one model's own step); the first step of an epoch uploads the M orders and the
    /// M models' Adam step sizes for the epoch's steps, and reads each model's losses (each model's first check), a step in the
    /// middle only launches, and a step where one model's check is due reads that model's losses.
    /// </summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AFusedStepIsTheSameLaunchesForOneOrFourModels(string kind)
    {
        var device = FusedGridKit.Own[kind].Value;
        var options = new VaeTrainerOptions { BatchSize = Batch, Hidden = Hidden, Latent = Latent, CheckEvery = 3 };
        // Warm up: the first batched launches on an ILGPU device load their kernels.
        using (var warm = New(device, options with { Seed = 9 }))
        using (var steps = FusedGridKit.Fuse([warm]))
            steps.Step();
        using (var t = New(device, options with { Seed = 9 }))
        {
            t.TrainStep();
            var alone = Measure(device, "step of one model alone, in the middle of an epoch", t.TrainStep);
            Assert.Equal(new DeviceCounters(FusedStepLaunches, 0, 0, 0, 0, 0, 0, 2, 2 * Batch * sizeof(float), 0, 0), alone);
        }
        foreach (int m in new[] { 1, 4 })
        {
            var trainers = Enumerable.Range(0, m).Select(i => New(device, options with { Seed = (ulong)i + 1, LearningRate = 1e-3 * (i + 1), Beta = 1 + i })).ToList();
            try
            {
                using var fused = FusedGridKit.Fuse(trainers);
                var first = Measure(device, $"fused step of {m} models, first of an epoch", fused.Step);
                Assert.Equal(new DeviceCounters(FusedStepLaunches, 0, 0, 2, m * ((Rows * sizeof(int)) + (trainers[0].StepsPerEpoch * sizeof(float))), m, m * 2 * Batch * sizeof(float), 0, 0, 0, m), first);
                var middle = Measure(device, $"fused step of {m} models", fused.Step);
                Assert.Equal(new DeviceCounters(FusedStepLaunches, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), middle);
                var check = Measure(device, $"fused step of {m} models that reads the losses", fused.Step);
                Assert.Equal(new DeviceCounters(FusedStepLaunches, 0, 0, 0, 0, m, m * 2 * 2 * Batch * sizeof(float), 0, 0, 0, m), check);
                Assert.All(trainers, t => Assert.Equal(3, t.Step));
            }
            finally
            {
                trainers.ForEach(t => t.Dispose());
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

    /// <summary>One model trained alone, step by step: its state at <see cref="StopAt"/> and at the end, and its epochs' figures.</summary>
    private static (TensorSet AtStop, TensorSet AtEnd, List<VaeEpochMetrics> Epochs) Alone(ComputeDevice d, VaeTrainerOptions o, DataParallel? parallel = null)
    {
        using var t = New(d, o, parallel);
        TensorSet? atStop = null;
        var epochs = new List<VaeEpochMetrics>();
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

    /// <summary>Every tensor to the bit, but of "partial" (loss, seconds) only the loss: the seconds are wall time.</summary>
    // "partial" holds the unfinished epoch's loss sum and its seconds: the seconds are a timing.
    private static void SameBits(TensorSet expected, TensorSet actual, string what) =>
        FusedGridKit.SameBits(expected, actual, what, PartialSecondsUncompared);

    /// <summary>Of the "partial" tensor (the unfinished epoch's loss and seconds), only the loss: the seconds are a clock's.</summary>
    private static int? PartialSecondsUncompared(string name) => name == "partial" ? sizeof(double) : null;

    private static void SameLosses(List<VaeEpochMetrics> expected, List<VaeEpochMetrics> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int e = 0; e < expected.Count; e++)
        {
            var (x, y) = (expected[e], actual[e]);
            Assert.True(
                x.Epoch == y.Epoch && x.TrainLoss.Equals(y.TrainLoss) && x.TestLoss.Equals(y.TestLoss) && x.TestReconstruction.Equals(y.TestReconstruction) && x.TestKl.Equals(y.TestKl),
                $"{what}: epoch {x.Epoch}'s losses differ: alone {x}, in the grid {y}");
        }
    }

}
