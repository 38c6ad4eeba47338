using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Training;

namespace InfoGpu.Tests.Training;

/// <summary>
/// <see cref="ModelGrid{TMetrics}"/>: stopped between two steps it checkpoints every model, and a
/// grid resumed from those checkpoints ends with the bits of a grid run straight through; it
/// refuses models at different places of the run and two models sharing a folder.
/// </summary>
public class ModelGridTests
{
    private static readonly float[] Train = FashionMnist.LoadEmbedded(150).Train.Binarized().Images;
    private static readonly float[] Test = FashionMnist.LoadEmbedded(150).Test.Binarized().Images.AsSpan(0, 20 * 784).ToArray();

    private static RbmTrainerOptions Options(ulong seed, double lr) =>
        new() { Sampler = RbmSamplerKind.Pcd, BatchSize = 40, Seed = seed, LearningRate = lr, AllBitsRows = 0, Epochs = 2 };

    private static readonly (ulong Seed, double Lr)[] Settings = [(3, 0.05), (4, 0.1), (5, 0.02)];

    /// <summary>Cancels when the run reports the given step.</summary>
    private sealed class CancelAt(CancellationTokenSource cts, long step) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Step == step)
                cts.Cancel();
        }
    }

    [Fact]
    public void AStoppedGridResumesToTheBitsOfAStraightRun()
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-model-grid-{Environment.ProcessId}");
        try
        {
            TestDevices.Use("cpu", d =>
            {
                var straight = RunStraight(d);
                var folders = Settings.Select((s, i) => Path.Combine(root, $"m{i}")).ToArray();

                // Stop after step 5 (in the second epoch: 150 images make 4 steps an epoch).
                using var cts = new CancellationTokenSource();
                var first = Settings.Select(s => new RbmTrainer(d, Rbm.Initialize(784, 12, s.Seed), Train, Test, Options(s.Seed, s.Lr))).ToList();
                try
                {
                    var sessions = first.Select((t, i) => new TrainingSession<RbmEpochMetrics>(t, new TrainingSessionOptions { Directory = folders[i], Progress = i == 0 ? new CancelAt(cts, 5) : null, ProgressEvery = 1 })).ToList();
                    var grid = new ModelGrid<RbmEpochMetrics>(sessions, ["m0", "m1", "m2"]);
                    Assert.Equal(TrainingStop.Cancelled, grid.Run(cts.Token));
                    Assert.All(first, t => Assert.Equal(5, t.Step));
                }
                finally
                {
                    first.ForEach(t => t.Dispose());
                }

                var checkpoints = folders.Select(f => SafeTensors.Read(Path.Combine(f, TrainingSession.CheckpointFile))).ToList();
                Assert.All(checkpoints, c => Assert.Equal("5", c.GetMetadata("step")));
                var resumed = checkpoints.Select(c => RbmTrainer.Resume(d, c, Train, Test)).ToList();
                try
                {
                    var sessions = resumed.Select((t, i) => new TrainingSession<RbmEpochMetrics>(t, new TrainingSessionOptions { Directory = folders[i] }, checkpoints[i])).ToList();
                    var grid = new ModelGrid<RbmEpochMetrics>(sessions, ["m0", "m1", "m2"]);
                    var epochs = new List<(int Model, int Epoch)>();
                    grid.EpochCompleted += (m, x) => epochs.Add((m, x.Epoch));
                    Assert.Equal(TrainingStop.Completed, grid.Run());
                    Assert.Equal([(0, 2), (1, 2), (2, 2)], epochs);
                    for (int i = 0; i < Settings.Length; i++)
                    {
                        Assert.Equal(2, sessions[i].History.Count);
                        var state = resumed[i].SaveState();
                        foreach (var (name, t) in straight[i].Tensors)
                            Assert.True(t.Data.AsSpan().SequenceEqual(state.Tensors[name].Data), $"model {i}: tensor {name} differs from the straight run");
                    }
                }
                finally
                {
                    resumed.ForEach(t => t.Dispose());
                }
                return 0;
            });
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    private static List<TensorSet> RunStraight(ComputeDevice d)
    {
        var trainers = Settings.Select(s => new RbmTrainer(d, Rbm.Initialize(784, 12, s.Seed), Train, Test, Options(s.Seed, s.Lr))).ToList();
        try
        {
            var grid = new ModelGrid<RbmEpochMetrics>([.. trainers.Select(t => new TrainingSession<RbmEpochMetrics>(t, new TrainingSessionOptions()))], ["m0", "m1", "m2"]);
            Assert.Equal(TrainingStop.Completed, grid.Run());
            return [.. trainers.Select(t => t.SaveState())];
        }
        finally
        {
            trainers.ForEach(t => t.Dispose());
        }
    }

    [Fact]
    public void ModelsAtDifferentPlacesOrSharingAFolderAreRefused()
    {
        TestDevices.Use("cpu", d =>
        {
            using var a = new RbmTrainer(d, Rbm.Initialize(784, 12, 3), Train, Test, Options(3, 0.05));
            using var b = new RbmTrainer(d, Rbm.Initialize(784, 12, 4), Train, Test, Options(4, 0.05));
            b.TrainStep();
            var e = Assert.Throws<ArgumentException>(() => new ModelGrid<RbmEpochMetrics>([new(a, new TrainingSessionOptions()), new(b, new TrainingSessionOptions())], ["a", "b"]));
            Assert.Contains("must start at the same place", e.Message, StringComparison.Ordinal);

            using var c = new RbmTrainer(d, Rbm.Initialize(784, 12, 5), Train, Test, Options(5, 0.05));
            string dir = Path.Combine(Path.GetTempPath(), $"infogpu-model-grid-shared-{Environment.ProcessId}");
            try
            {
                e = Assert.Throws<ArgumentException>(() => new ModelGrid<RbmEpochMetrics>([new(a, new TrainingSessionOptions { Directory = dir }), new(c, new TrainingSessionOptions { Directory = dir })], ["a", "c"]));
                Assert.Contains("same folder", e.Message, StringComparison.Ordinal);
            }
            finally
            {
                if (Directory.Exists(dir))
                    Directory.Delete(dir, recursive: true);
            }
            Assert.Throws<ArgumentException>(() => new ModelGrid<RbmEpochMetrics>([], []));
            return 0;
        });
    }
}
