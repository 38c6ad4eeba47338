using InfoGpu.Checkpoints;
using InfoGpu.Devices;
using InfoGpu.Training;

namespace InfoGpu.Tests.Training;

/// <summary>What the fused-grid tests of the RBM and the VAE share.</summary>
internal static class FusedGridKit
{
    /// <summary>Devices of the fused-grid budget tests' own (other tests' work would count on the shared ones).</summary>
    public static readonly Dictionary<string, Lazy<ComputeDevice>> Own = new()
    {
        ["cpu"] = new(() => ComputeDevice.Open(DeviceKind.Cpu)),
        ["ilgpu-cpu"] = new(() => ComputeDevice.Open(DeviceKind.IlgpuCpu)),
    };

    /// <summary>A grid of <paramref name="trainers"/> without folders, the models named m0, m1, ...</summary>
    public static ModelGrid<TMetrics> Grid<TMetrics>(IEnumerable<ITrainer<TMetrics>> trainers, GridStepping stepping)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        var sessions = trainers.Select(t => new TrainingSession<TMetrics>(t, new TrainingSessionOptions())).ToList();
        return new ModelGrid<TMetrics>(sessions, [.. sessions.Select((_, i) => $"m{i}")], stepping);
    }

    /// <summary>The fused steps of <paramref name="trainers"/>; fails the test when they do not fuse.</summary>
    public static IFusedSteps Fuse(IReadOnlyList<ITrainer> trainers) =>
        FusedSteps.TryCreate(trainers) ?? throw new InvalidOperationException($"the grid of {trainers.Count} does not fuse: {FusedSteps.WhyNot(trainers)}");

    /// <summary>One epoch of fused steps, the stacks then written back into the trainers.</summary>
    public static void FusedEpoch(IReadOnlyList<ITrainer> trainers)
    {
        using var fused = Fuse(trainers);
        for (int s = 0; s < trainers[0].StepsPerEpoch; s++)
            fused.Step();
        fused.WriteBack();
    }

    /// <summary>
    /// The <paramref name="count"/> trainers <paramref name="make"/> builds run as a fused grid,
    /// each with a folder under <paramref name="root"/>, cancelled after step <paramref name="stopAt"/>
    /// (every model checkpointed there), then resumed from those checkpoints by
    /// <paramref name="resume"/> and run fused to the end: the checkpoints have the bits of
    /// <paramref name="atStop"/>, the final states those of <paramref name="atEnd"/> (each model alone),
    /// compared by <paramref name="sameBits"/>. Returns every model's epoch figures, both runs together.
    /// </summary>
    public static List<TMetrics>[] StopAndResumeFused<TMetrics>(
        string root, int count, long stopAt, Func<int, ITrainer<TMetrics>> make, Func<TensorSet, ITrainer<TMetrics>> resume,
        Func<int, TensorSet> atStop, Func<int, TensorSet> atEnd, Action<TensorSet, TensorSet, string> sameBits, string what)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        var folders = Enumerable.Range(0, count).Select(i => Path.Combine(root, $"m{i}")).ToArray();
        string[] names = [.. Enumerable.Range(0, count).Select(i => $"m{i}")];
        var metrics = Enumerable.Range(0, count).Select(_ => new List<TMetrics>()).ToArray();

        using var cts = new CancellationTokenSource();
        var first = new List<ITrainer<TMetrics>>(count);
        try
        {
            for (int i = 0; i < count; i++)
                first.Add(make(i));
            var sessions = first.Select((t, i) => new TrainingSession<TMetrics>(t, new TrainingSessionOptions { Directory = folders[i], Progress = i == 0 ? new CancelAt(cts, stopAt) : null, ProgressEvery = 1 })).ToList();
            var grid = new ModelGrid<TMetrics>(sessions, names, GridStepping.Fused);
            Assert.True(grid.Fused, grid.NotFusedReason);
            grid.EpochCompleted += (m, x) => metrics[m].Add(x);
            Assert.Equal(TrainingStop.Cancelled, grid.Run(cts.Token));
            Assert.Equal(stopAt, grid.FusedStepCount);
        }
        finally
        {
            first.ForEach(t => t.Dispose());
        }

        var checkpoints = folders.Select(f => SafeTensors.Read(Path.Combine(f, TrainingSession.CheckpointFile))).ToList();
        for (int i = 0; i < count; i++)
            sameBits(atStop(i), checkpoints[i], $"{what}: model {i} at the checkpoint of step {stopAt}");

        var resumed = new List<ITrainer<TMetrics>>(count);
        try
        {
            resumed.AddRange(checkpoints.Select(resume));
            var sessions = resumed.Select((t, i) => new TrainingSession<TMetrics>(t, new TrainingSessionOptions { Directory = folders[i] }, checkpoints[i])).ToList();
            var grid = new ModelGrid<TMetrics>(sessions, names, GridStepping.Fused);
            Assert.True(grid.Fused, grid.NotFusedReason);
            grid.EpochCompleted += (m, x) => metrics[m].Add(x);
            Assert.Equal(TrainingStop.Completed, grid.Run());
            Assert.Equal((resumed[0].Epochs * resumed[0].StepsPerEpoch) - stopAt, grid.FusedStepCount);
            for (int i = 0; i < count; i++)
                sameBits(atEnd(i), resumed[i].SaveState(), $"{what}: model {i} at the end");
        }
        finally
        {
            resumed.ForEach(t => t.Dispose());
        }
        return metrics;
    }

    /// <summary>
    /// The <paramref name="count"/> trainers <paramref name="make"/> builds, one fused epoch
    /// together, end with the bits of each one stepped alone through the epoch (built again by
    /// <paramref name="make"/>; <paramref name="comparedBytes"/> as for <see cref="SameBits"/>). Every trainer is disposed.
    /// </summary>
    public static void FusedEpochGivesTheBitsAlone(int count, Func<int, ITrainer> make, string what, Func<string, int?>? comparedBytes = null)
    {
        var alone = new TensorSet[count];
        for (int i = 0; i < count; i++)
        {
            using var t = make(i);
            for (int s = 0; s < t.StepsPerEpoch; s++)
                t.TrainStep();
            alone[i] = t.SaveState();
        }
        var trainers = new List<ITrainer>(count);
        try
        {
            for (int i = 0; i < count; i++)
                trainers.Add(make(i));
            FusedEpoch(trainers);
            for (int i = 0; i < count; i++)
                SameBits(alone[i], trainers[i].SaveState(), $"{what}: model {i}", comparedBytes);
        }
        finally
        {
            foreach (var t in trainers)
                t.Dispose();
        }
    }

    /// <summary>
    /// Every tensor of <paramref name="expected"/> is in <paramref name="actual"/> with the same bytes
    /// (of a tensor that <paramref name="comparedBytes"/> limits, its first bytes only, and the same length).
    /// </summary>
    public static void SameBits(TensorSet expected, TensorSet actual, string what, Func<string, int?>? comparedBytes = null)
    {
        foreach (var (name, t) in expected.Tensors)
        {
            Assert.True(actual.Tensors.ContainsKey(name), $"{what}: no tensor {name}");
            var a = actual.Tensors[name].Data;
            int length = comparedBytes?.Invoke(name) ?? t.Data.Length;
            if (a.Length != t.Data.Length || !t.Data.AsSpan(0, length).SequenceEqual(a.AsSpan(0, length)))
            {
                int at = 0;
                while (at < Math.Min(a.Length, length) && a[at] == t.Data[at])
                    at++;
                Assert.Fail($"{what}: tensor {name} differs from the model trained alone, first at byte {at} of {t.Data.Length}");
            }
        }
    }

    /// <summary>
    /// <paramref name="alone"/> (model 1 of <paramref name="grid"/>'s settings, trained by itself)
    /// diverges within 100 epochs, and the fused grid of <paramref name="grid"/> fails naming model
    /// m1 with the same message. Every trainer is disposed.
    /// </summary>
    public static string DivergesLikeAlone<TMetrics>(ITrainer<TMetrics> alone, IReadOnlyList<ITrainer<TMetrics>> grid)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        try
        {
            string expected = Assert.Throws<TrainingDivergedException>(() =>
            {
                for (int s = 0; s < 100 * alone.StepsPerEpoch; s++)
                {
                    if (alone.StepInEpoch == alone.StepsPerEpoch)
                        alone.EndEpoch();
                    alone.TrainStep();
                }
            }).Message;
            var fused = Grid(grid, GridStepping.Fused);
            Assert.True(fused.Fused, fused.NotFusedReason);
            var e = Assert.Throws<TrainingDivergedException>(() => fused.Run());
            Assert.Equal($"model m1: {expected}", e.Message);
            return expected;
        }
        finally
        {
            alone.Dispose();
            foreach (var t in grid)
                t.Dispose();
        }
    }

    /// <summary>Cancels when the run reports the given step.</summary>
    public sealed class CancelAt(CancellationTokenSource cts, long step) : IProgress<TrainingProgress>
    {
        /// <inheritdoc/>
        public void Report(TrainingProgress value)
        {
            if (value.Step == step)
                cts.Cancel();
        }
    }
}
