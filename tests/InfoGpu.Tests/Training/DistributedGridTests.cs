using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Distributed;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Training;

namespace InfoGpu.Tests.Training;

/// <summary>
/// <see cref="DistributedGrid{TMetrics}"/> in one process (the MPI runs are in
/// Distributed/MpiGridTests): the models' blocks cover the grid, a state crosses the wire to the
/// bit, and on one rank the grid writes the files of a <see cref="ModelGrid{TMetrics}"/> run and
/// stops, checkpointed, where it is asked to.
/// </summary>
public class DistributedGridTests
{
    private static readonly float[] Train = FashionMnist.LoadEmbedded(150).Train.Binarized().Images;
    private static readonly float[] Test = FashionMnist.LoadEmbedded(150).Test.Binarized().Images.AsSpan(0, 20 * 784).ToArray();

    private static readonly ulong[] Seeds = [3, 4, 5];

    private static RbmTrainerOptions Options(ulong seed) =>
        new() { Sampler = RbmSamplerKind.Pcd, BatchSize = 40, Seed = seed, LearningRate = 0.05, AllBitsRows = 0, Epochs = 2 };

    [Theory]
    [InlineData(4, 2)]
    [InlineData(7, 3)]
    [InlineData(5, 5)]
    public void TheRanksBlocksAreContiguousAndCoverEveryModelOnce(int models, int ranks)
    {
        int next = 0;
        for (int r = 0; r < ranks; r++)
        {
            var (first, count) = DistributedGrid.Share(models, ranks, r);
            Assert.Equal(next, first);
            Assert.InRange(count, models / ranks, models / ranks + 1);
            next += count;
        }
        Assert.Equal(models, next);
        Assert.Throws<ArgumentOutOfRangeException>(() => DistributedGrid.Share(2, 3, 0));
    }

    [Fact]
    public void AStateCrossesTheWireToTheBit()
    {
        TestDevices.Use("cpu", d =>
        {
            using var t = new RbmTrainer(d, Rbm.Initialize(784, 12, 3), Train, Test, Options(3));
            t.TrainStep();
            var state = t.SaveState();
            using var buffer = new MemoryStream();
            using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
                StateBytes.Write(w, state);
            buffer.Position = 0;
            using var r = new BinaryReader(buffer);
            var back = StateBytes.ToSet(new BinaryReader(new MemoryStream(StateBytes.Read(r))));
            Assert.Equal(state.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal), back.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(state.Tensors.Keys.Order(StringComparer.Ordinal), back.Tensors.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, x) in state.Tensors)
            {
                var y = back.Tensors[name];
                Assert.Equal(x.DType, y.DType);
                Assert.Equal(x.Shape, y.Shape);
                Assert.True(x.Data.AsSpan().SequenceEqual(y.Data), $"{name} changed on the wire");
            }
            return 0;
        });
    }

    [Fact]
    public void OnOneRankItWritesTheModelGridsFilesAndStopsCheckpointedWhereAsked()
    {
        string root = TestPaths.TempDir();
        TestDevices.Use("cpu", d =>
        {
            string[] names = ["m0", "m1", "m2"];
            // The reference: a ModelGrid run straight through, checkpointing every 3 steps.
            Run(d, Path.Combine(root, "grid"), (sessions, _) =>
            {
                Assert.Equal(TrainingStop.Completed, new ModelGrid<RbmEpochMetrics>(sessions, names).Run());
                return 0;
            });
            Run(d, Path.Combine(root, "spread"), (sessions, _) =>
            {
                var grid = new DistributedGrid<RbmEpochMetrics>(Cluster.Single, names, sessions, (_, _) => throw new InvalidOperationException("one rank trains every model"));
                var epochs = new List<(int Model, int Epoch)>();
                grid.EpochCompleted += (m, x) => epochs.Add((m, x.Epoch));
                Assert.Equal(TrainingStop.Completed, grid.Run());
                Assert.Equal([(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2)], epochs);
                Assert.False(grid.EndedTogether);
                return 0;
            });
            foreach (string m in names)
                AssertSameCheckpoint(Path.Combine(root, "grid", m), Path.Combine(root, "spread", m));

            // Asked to stop after step 5 (in the second epoch: 4 steps an epoch): every model checkpointed there.
            Run(d, Path.Combine(root, "stopped"), (sessions, trainers) =>
            {
                var grid = new DistributedGrid<RbmEpochMetrics>(Cluster.Single, names, sessions, (_, _) => throw new InvalidOperationException("one rank trains every model"));
                bool agreed = false;
                grid.StopRequested = () => trainers[0].Step == 5;
                grid.StopAgreed = () => agreed = true;
                Assert.Equal(TrainingStop.Cancelled, grid.Run());
                Assert.True(agreed);
                return 0;
            });
            foreach (string m in names)
                Assert.Equal("5", SafeTensors.Read(Path.Combine(root, "stopped", m, TrainingSession.CheckpointFile)).GetMetadata("step"));
            return 0;
        });
    }

    private static void Run(ComputeDevice d, string dir, Func<List<TrainingSession<RbmEpochMetrics>>, List<RbmTrainer>, int> run)
    {
        var trainers = Seeds.Select(s => new RbmTrainer(d, Rbm.Initialize(784, 12, s), Train, Test, Options(s))).ToList();
        try
        {
            var sessions = trainers.Select((t, i) => new TrainingSession<RbmEpochMetrics>(t, new TrainingSessionOptions { Directory = Path.Combine(dir, $"m{i}"), CheckpointEvery = 3 })).ToList();
            run(sessions, trainers);
        }
        finally
        {
            trainers.ForEach(t => t.Dispose());
        }
    }

    private static void AssertSameCheckpoint(string expected, string actual)
    {
        var a = SafeTensors.Read(Path.Combine(expected, TrainingSession.CheckpointFile));
        var b = SafeTensors.Read(Path.Combine(actual, TrainingSession.CheckpointFile));
        foreach (var (name, t) in a.Tensors)
        {
            if (name != "history")
                Assert.True(t.Data.AsSpan().SequenceEqual(b.Tensors[name].Data), $"{expected}: {name} differs");
        }
        Assert.Equal(File.ReadAllLines(Path.Combine(expected, TrainingSession.MetricsFile)).Length, File.ReadAllLines(Path.Combine(actual, TrainingSession.MetricsFile)).Length);
    }
}
