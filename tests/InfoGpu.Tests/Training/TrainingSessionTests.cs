using InfoGpu.Boltzmann;
using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Training;
using InfoGpu.Variational;

namespace InfoGpu.Tests.Training;

/// <summary>The session's own duties (checkpoints, history, cancellation, progress, the divergence guard) and the trainer contract every model keeps.</summary>
public class TrainingSessionTests
{
    /// <summary>Figures of the counting trainer: the epoch, its seconds, and the parameter after it.</summary>
    private sealed record CountMetrics(int Epoch, double Seconds, double Value) : IEpochMetrics<CountMetrics>
    {
        public static IReadOnlyList<string> ColumnNames { get; } = ["epoch", "seconds", "value"];

        public static CountMetrics FromColumns(ReadOnlySpan<double> v) => new((int)v[0], v[1], v[2]);

        public double[] ToColumns() => [Epoch, Seconds, Value];
    }

    /// <summary>A trainer whose one parameter counts its steps (x += 1 per step), so every figure is known exactly.</summary>
    private sealed class CountingTrainer(int stepsPerEpoch) : ITrainer<CountMetrics>
    {
        public float X;
        public float Poison = 0;

        public string ModelName => "counter";

        public int Epoch { get; private set; }

        public int StepInEpoch { get; private set; }

        public long Step { get; private set; }

        public int StepsPerEpoch => stepsPerEpoch;

        public int Epochs { get; set; } = 3;

        public double LearningRate { get; set; } = 1;

        public void TrainStep()
        {
            if (StepInEpoch >= StepsPerEpoch)
                throw new InvalidOperationException("epoch done");
            X += 1 + Poison;
            StepInEpoch++;
            Step++;
        }

        public CountMetrics EndEpoch()
        {
            if (StepInEpoch < StepsPerEpoch)
                throw new InvalidOperationException("steps remain");
            StepInEpoch = 0;
            Epoch++;
            return new CountMetrics(Epoch, 0.5, X);
        }

        public TensorSet SaveState()
        {
            var set = new TensorSet();
            set.Add("x", new[] { X }, 1);
            set.Add("counters", new long[] { Epoch, StepInEpoch, Step }, 3);
            set.Metadata["format"] = "counter-1";
            return set;
        }

        public static CountingTrainer Resume(TensorSet set, int stepsPerEpoch)
        {
            var c = set.GetInt64("counters");
            return new CountingTrainer(stepsPerEpoch) { X = set.GetFloat("x")[0], Epoch = (int)c[0], StepInEpoch = (int)c[1], Step = c[2] };
        }

        public void Dispose()
        {
        }
    }

    private static TensorSet ReadCounter(string dir) => TrainingSession.ReadCheckpoint(dir, "counter-1", "a counter", "the test");

    [Fact]
    public void CheckpointsEveryNStepsAndAtEpochEndsKeepTheHistoryAndWriteTheCsv()
    {
        string dir = TestPaths.TempDir();
        var saved = new List<long>();
        var trainer = new CountingTrainer(5);
        var session = new TrainingSession<CountMetrics>(trainer, new TrainingSessionOptions { Directory = dir, CheckpointEvery = 3, Epochs = 2 });
        var seen = new List<int>();
        session.EpochCompleted += m =>
        {
            seen.Add(m.Epoch);
            saved.Add(ReadCounter(dir).GetInt64("counters")[2]);
        };
        Assert.Equal(TrainingStop.Completed, session.Run());
        Assert.Equal([1, 2], seen);
        // The checkpoint is written before the callback: it holds the epoch just completed.
        Assert.Equal([5L, 10L], saved);
        Assert.Equal(2, trainer.Epochs);
        Assert.Equal([5f, 10f], session.History.Select(m => (float)m.Value));
        Assert.Equal(["epoch,seconds,value", "1,0.5,5", "2,0.5,10"], File.ReadAllLines(Path.Combine(dir, "metrics.csv")));
        var set = ReadCounter(dir);
        Assert.Equal("epoch,seconds,value", set.GetMetadata("history_columns"));
        Assert.Equal([1, 0.5, 5, 2, 0.5, 10], set.GetDouble("history"));
    }

    [Fact]
    public void CancellationCheckpointsTheUnfinishedEpochAndAResumedSessionFinishesTheRun()
    {
        string dir = TestPaths.TempDir();
        using var cancel = new CancellationTokenSource();
        var trainer = new CountingTrainer(4);
        var reports = new List<TrainingProgress>();
        var progress = new Recorder(p =>
        {
            reports.Add(p);
            if (p.Step == 6)
                cancel.Cancel();
        });
        var session = new TrainingSession<CountMetrics>(trainer, new TrainingSessionOptions { Directory = dir, Epochs = 3, Progress = progress, ProgressEvery = 1 });
        Assert.Equal(TrainingStop.Cancelled, session.Run(cancel.Token));
        Assert.Equal((1, 2, 6L), (trainer.Epoch, trainer.StepInEpoch, trainer.Step));
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), reports.Select(r => r.Step));
        Assert.Equal(new TrainingProgress(2, 3, 2, 4, 6, reports[^1].Seconds), reports[^1]);
        Assert.Equal(0.5, reports[^1].Fraction);

        var set = ReadCounter(dir);
        var resumed = CountingTrainer.Resume(set, 4);
        var again = new TrainingSession<CountMetrics>(resumed, new TrainingSessionOptions { Directory = dir, Epochs = 3 }, set);
        Assert.Single(again.History);
        Assert.Equal(TrainingStop.Completed, again.Run());
        Assert.Equal([1, 2, 3], again.History.Select(m => m.Epoch));
        Assert.Equal([2, 3], again.NewEpochs.Select(m => m.Epoch));
        Assert.Equal(12f, resumed.X);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);
    }

    [Fact]
    public void ADivergenceBeforeAnyCheckpointSaysNoneWasWritten()
    {
        string dir = TestPaths.TempDir();
        var trainer = new CountingTrainer(2) { Poison = float.NaN };
        var session = new TrainingSession<CountMetrics>(trainer, new TrainingSessionOptions { Directory = dir, Epochs = 3 });
        var e = Assert.Throws<TrainingDivergedException>(() => session.Run());
        Assert.EndsWith("; no checkpoint was written before it", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("kept", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, TrainingSession.CheckpointFile)));
    }

    [Fact]
    public void ANonFiniteStateIsNeverWrittenAndTheLastGoodCheckpointStays()
    {
        string dir = TestPaths.TempDir();
        var trainer = new CountingTrainer(2);
        var session = new TrainingSession<CountMetrics>(trainer, new TrainingSessionOptions { Directory = dir, Epochs = 3 });
        session.EpochCompleted += m =>
        {
            if (m.Epoch == 1)
                trainer.Poison = float.PositiveInfinity;
        };
        var e = Assert.Throws<TrainingDivergedException>(() => session.Run());
        Assert.Contains("'x' holds 1 NaN or infinite values", e.Message, StringComparison.Ordinal);
        Assert.Contains($"the last good checkpoint, from step 2, is kept in {Path.Combine(dir, TrainingSession.CheckpointFile)}", e.Message, StringComparison.Ordinal);
        var set = ReadCounter(dir);
        Assert.Equal(2f, set.GetFloat("x")[0]);
        Assert.Equal(2L, set.GetInt64("counters")[2]);
    }

    [Fact]
    public void CheckpointsOfTheEarlierLayoutBringTheirHistoryFromTheCsv()
    {
        string dir = TestPaths.TempDir();
        var trainer = new CountingTrainer(2);
        new TrainingSession<CountMetrics>(trainer, new TrainingSessionOptions { Directory = dir, Epochs = 2 }).Run();
        // The earlier layout: no history in the checkpoint, the figures only in metrics.csv.
        var set = ReadCounter(dir);
        var old = new TensorSet();
        foreach (var (name, t) in set.Tensors.Where(t => t.Key != "history"))
            old.Add(name, t);
        old.Metadata["format"] = "counter-1";
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), old);
        File.WriteAllLines(Path.Combine(dir, "metrics.csv"), ["epoch,seconds,value", "1,0.25,2", "2,0.25,4", "3,0.25,6"]);
        var read = ReadCounter(dir);
        var session = new TrainingSession<CountMetrics>(CountingTrainer.Resume(read, 2), new TrainingSessionOptions(), read);
        // Rows past the checkpoint's epoch (a later run's leftovers) are dropped.
        Assert.Equal([new CountMetrics(1, 0.25, 2), new CountMetrics(2, 0.25, 4)], session.History);
    }

    [Fact]
    public void ANewRunDoesNotReplaceAnEarlierOneUnlessAskedAndTwoRunsNeverShareAFolder()
    {
        string dir = TestPaths.TempDir();
        new TrainingSession<CountMetrics>(new CountingTrainer(2), new TrainingSessionOptions { Directory = dir, Epochs = 1 }).Run();
        var e = Assert.Throws<InfoGpuException>(() => new TrainingSession<CountMetrics>(new CountingTrainer(2), new TrainingSessionOptions { Directory = dir, Epochs = 1 }));
        Assert.Contains("already holds a run", e.Message, StringComparison.Ordinal);
        Assert.Contains($"--resume {dir}", e.Message, StringComparison.Ordinal);
        var replaced = new CountingTrainer(3);
        new TrainingSession<CountMetrics>(replaced, new TrainingSessionOptions { Directory = dir, Epochs = 1, Overwrite = true }).Run();
        Assert.Equal(3L, ReadCounter(dir).GetInt64("counters")[2]);

        // While one session runs (here: inside its epoch callback), a second one on the folder is refused.
        string shared = TestPaths.TempDir();
        var first = new TrainingSession<CountMetrics>(new CountingTrainer(2), new TrainingSessionOptions { Directory = shared, Epochs = 2 });
        InfoGpuException? refused = null;
        first.EpochCompleted += m =>
        {
            if (m.Epoch == 1)
                refused = Assert.Throws<InfoGpuException>(() => new TrainingSession<CountMetrics>(new CountingTrainer(2), new TrainingSessionOptions { Directory = shared, Epochs = 5, Overwrite = true }).Run());
        };
        Assert.Equal(TrainingStop.Completed, first.Run());
        Assert.NotNull(refused);
        Assert.Contains("another run is writing to", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"(process {Environment.ProcessId} on ", refused.Message, StringComparison.Ordinal); // names the holder
        Assert.Equal(4L, ReadCounter(shared).GetInt64("counters")[2]);
        Assert.False(File.Exists(Path.Combine(shared, TrainingSession.LockFile)), "the lock file outlived the run");
        Assert.False(File.Exists(Path.Combine(shared, TrainingSession.LockFile + ".owner")), "the lock's owner note outlived the run");
    }

    [Fact]
    public void BadSessionSettingsAndAMissingCheckpointAreOneLineErrors()
    {
        var t = new CountingTrainer(2);
        Assert.Throws<InfoGpuException>(() => new TrainingSession<CountMetrics>(t, new TrainingSessionOptions { CheckpointEvery = 5 }));
        Assert.Throws<InfoGpuException>(() => new TrainingSession<CountMetrics>(t, new TrainingSessionOptions { Epochs = -1 }));
        string dir = TestPaths.TempDir();
        var e = Assert.Throws<InfoGpuException>(() => ReadCounter(dir));
        Assert.Contains("no model.safetensors there", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    private sealed class Recorder(Action<TrainingProgress> on) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => on(value);
    }

    public static TheoryData<string> Models => new() { "rbm-cd", "rbm-pcd", "vae", "bm" };

    /// <summary>
    /// Every trainer keeps the contract the session relies on: a step past the epoch's end and an
    /// early EndEpoch are refused, and Resume(SaveState()) mid-epoch gives back the same state,
    /// whose next step equals the original trainer's next step.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void EveryTrainerKeepsTheContract(string model)
    {
        TestDevices.Use("cpu", d =>
        {
            var (make, resume) = Build(d, model);
            using var t = make();
            Assert.Throws<InvalidOperationException>(() => t.EndEpochUntyped());
            while (t.Trainer.StepInEpoch < t.Trainer.StepsPerEpoch)
                t.Trainer.TrainStep();
            Assert.Throws<InvalidOperationException>(() => t.Trainer.TrainStep());
            t.EndEpochUntyped();
            Assert.Equal(1, t.Trainer.Epoch);
            t.Trainer.TrainStep();
            var state = t.Trainer.SaveState();
            using var r = resume(state);
            Assert.Equal((1, 1, t.Trainer.Step), (r.Trainer.Epoch, r.Trainer.StepInEpoch, r.Trainer.Step));
            AssertSame(state, r.Trainer.SaveState(), model + " after resume");
            t.Trainer.TrainStep();
            r.Trainer.TrainStep();
            AssertSame(t.Trainer.SaveState(), r.Trainer.SaveState(), model + " one step after resume");
            return 0;
        });
    }

    private static void AssertSame(TensorSet a, TensorSet b, string what)
    {
        Assert.Equal(a.Tensors.Keys.Order(StringComparer.Ordinal), b.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in a.Tensors)
        {
            if (name is "partial" or "partial_seconds")
                continue; // wall-clock seconds of the unfinished epoch
            Assert.True(t.Data.AsSpan().SequenceEqual(b.Tensors[name].Data), $"{what}: tensor {name} differs");
        }
    }

    /// <summary>A trainer of any metrics type, with its EndEpoch.</summary>
    private sealed class AnyTrainer(ITrainer trainer, Action endEpoch) : IDisposable
    {
        public ITrainer Trainer => trainer;

        public void EndEpochUntyped() => endEpoch();

        public void Dispose() => trainer.Dispose();
    }

    private static (Func<AnyTrainer> Make, Func<TensorSet, AnyTrainer> Resume) Build(InfoGpu.Devices.ComputeDevice d, string model)
    {
        static AnyTrainer Wrap<T>(ITrainer<T> t)
            where T : IEpochMetrics<T> => new(t, () => t.EndEpoch());
        switch (model)
        {
            case "vae":
            {
                var data = FashionMnist.LoadEmbedded(120);
                var o = new VaeTrainerOptions { BatchSize = 50, Hidden = 16, Latent = 3, Seed = 3 };
                return (() => Wrap(new VaeTrainer(d, Vae.Create(784, 16, 3, 3), data, o)), s => Wrap(VaeTrainer.Resume(d, s, data)));
            }
            case "bm":
            {
                var data = BarsAndStripes.Generate(3);
                var o = new BoltzmannTrainingOptions { BurnIn = 2, Samples = 2, NegativeChains = 17, BatchSize = 4, Seed = 3 };
                static BoltzmannMachine Machine()
                {
                    var m = new BoltzmannMachine(9, 2);
                    m.InitializeRandom(3, 0.1);
                    return m;
                }

                return (() => Wrap(new BoltzmannTrainer(d, Machine(), data, o)), s => Wrap(BoltzmannTrainer.Resume(d, s, data)));
            }
            default:
            {
                var ds = FashionMnist.LoadEmbedded(150);
                var train = ds.Train.Binarized().Images;
                var test = ds.Test.Binarized().Images.AsSpan(0, 20 * 784).ToArray();
                var o = new RbmTrainerOptions { Sampler = model == "rbm-pcd" ? RbmSamplerKind.Pcd : RbmSamplerKind.Cd, BatchSize = 40, Seed = 3, AllBitsRows = 0 };
                return (() => Wrap(new RbmTrainer(d, Rbm.Initialize(784, 12, 3), train, test, o)), s => Wrap(RbmTrainer.Resume(d, s, train, test)));
            }
        }
    }
}
