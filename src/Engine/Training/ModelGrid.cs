using System.Diagnostics;

namespace InfoGpu.Training;

/// <summary>What every <see cref="ModelGrid{TMetrics}"/> shares.</summary>
public static class ModelGrid
{
    /// <summary>The most models one grid trains.</summary>
    public const int MaxModels = 256;
}

/// <summary>How a <see cref="ModelGrid{TMetrics}"/> steps its models.</summary>
public enum GridStepping
{
    /// <summary>
    /// Fused where a launch costs (<c>cuda</c>, <c>opencl</c>), one model after another on the CPU
    /// kinds, where a launch costs nothing and the per-model loop keeps each model's weights in cache
    /// (measured: the fused step is up to 15 % slower there; benchmarks/RESULTS.md, "RBM grid" and "VAE grid").
    /// </summary>
    Auto,

    /// <summary>One set of launches for every model whenever the trainers allow it, on any device.</summary>
    Fused,

    /// <summary>Each model's own step, one model after another.</summary>
    OneByOne,
}

/// <summary>
/// Trains M models of the same shape that differ in settings (learning rate, momentum, weight
/// decay, seed...), advancing all of them one step at a time: step s of every model is done
/// before step s + 1 of any. Each model keeps its own <see cref="TrainingSession{TMetrics}"/>:
/// its folder, checkpoints, metrics and resume are those of the same model trained alone.
/// </summary>
/// <remarks>
/// <para>
/// Each model's step is its own trainer's <see cref="ITrainer.TrainStep"/>, so a model of the grid
/// does the same float operations, with the same draws, as the same model trained alone with the
/// same settings: on one backend its checkpoint holds the same bits (only the timings differ).
/// When the trainers allow it (<see cref="Fused"/>: RBMs that share shape, data, batch, sampler,
/// K and chains; VAEs that share shape, data, binarization and batch) the grid instead steps every model in one set of launches whose count does not
/// depend on the number of models, with each model's bits still those of the model alone on
/// <c>cpu</c> and <c>ilgpu-cpu</c>; a model's epoch seconds are then its share (1/M) of the grid's steps.
/// </para>
/// <para>
/// The grid checkpoints every model together: at the end of every epoch, every
/// <see cref="TrainingSessionOptions.CheckpointEvery"/> steps of the first session's settings, and
/// when cancelled between two steps. The folders stay locked while <see cref="Run"/> runs.
/// </para>
/// <para>Not safe to use from several threads at once: one thread runs a grid.</para>
/// </remarks>
/// <typeparam name="TMetrics">The figures of one epoch.</typeparam>
public sealed class ModelGrid<TMetrics> : IDisposable
    where TMetrics : IEpochMetrics<TMetrics>
{
    private readonly TrainingSession<TMetrics>[] sessions;
    private readonly string[] names;
    private readonly string? notFused;
    private IFusedSteps? fused;

    /// <summary>Prepares the grid; nothing runs until <see cref="Run"/>.</summary>
    /// <param name="sessions">One session per model, new or resumed; all at the same place of the same run length (epoch, step, steps per epoch, target epochs).</param>
    /// <param name="names">A name per model for messages (e.g. its folder's name), in the order of <paramref name="sessions"/>.</param>
    /// <param name="stepping">Whether to step the models in one set of launches (<see cref="GridStepping.Auto"/>: where launches cost).</param>
    /// <exception cref="ArgumentException">No session, more than <see cref="ModelGrid.MaxModels"/>, names that do not match, two sessions sharing a folder, or sessions at different places of the run.</exception>
    public ModelGrid(IReadOnlyList<TrainingSession<TMetrics>> sessions, IReadOnlyList<string> names, GridStepping stepping = GridStepping.Auto)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(names);
        if (sessions.Count == 0)
            throw new ArgumentException("a grid needs at least one model", nameof(sessions));
        if (sessions.Count > ModelGrid.MaxModels)
            throw new ArgumentException($"a grid trains at most {ModelGrid.MaxModels} models (got {sessions.Count}); split it into several grids", nameof(sessions));
        if (names.Count != sessions.Count)
            throw new ArgumentException($"{names.Count} names for {sessions.Count} models", nameof(names));
        this.sessions = [.. sessions];
        this.names = [.. names];
        var first = this.sessions[0].Trainer;
        var folders = new HashSet<string>(StringComparer.Ordinal);
        for (int m = 0; m < this.sessions.Length; m++)
        {
            var s = this.sessions[m] ?? throw new ArgumentException($"model {m} has no session", nameof(sessions));
            var t = s.Trainer;
            if (t.StepsPerEpoch != first.StepsPerEpoch || t.Epochs != first.Epochs || t.Epoch != first.Epoch || t.StepInEpoch != first.StepInEpoch || t.Step != first.Step)
            {
                throw new ArgumentException(
                    $"model {this.names[m]} is at epoch {t.Epoch} step {t.StepInEpoch} of {t.StepsPerEpoch} (target {t.Epochs} epochs) and model {this.names[0]} at epoch {first.Epoch} step {first.StepInEpoch} of {first.StepsPerEpoch} (target {first.Epochs}); the models of a grid advance together and must start at the same place",
                    nameof(sessions));
            }
            if (s.Settings.Directory is string dir && !folders.Add(Path.GetFullPath(dir)))
                throw new ArgumentException($"two models of the grid write to the same folder {dir}; give each its own", nameof(sessions));
        }
        notFused = FusedSteps.WhyNot(Trainers, stepping);
    }

    /// <summary>
    /// Whether <see cref="Run"/> steps every model in one set of launches (a fused step whose
    /// launch count does not depend on the number of models; each model's bits are those of the
    /// per-model loop on <c>cpu</c>) rather than one model after another; see <see cref="NotFusedReason"/>.
    /// </summary>
    public bool Fused => notFused is null;

    /// <summary>Why the models are stepped one after another (null when <see cref="Fused"/>).</summary>
    public string? NotFusedReason => notFused;

    /// <summary>Grid steps run fused so far (tests check that the fused path ran).</summary>
    internal long FusedStepCount { get; private set; }

    private ITrainer[] Trainers => [.. sessions.Select(s => (ITrainer)s.Trainer)];

    /// <summary>The models' sessions, in the grid's order.</summary>
    public IReadOnlyList<TrainingSession<TMetrics>> Sessions => sessions;

    /// <summary>The models' names, in the grid's order.</summary>
    public IReadOnlyList<string> Names => names;

    /// <summary>Called with the model's index and figures for every epoch a model completes, after its checkpoint is written.</summary>
    public event Action<int, TMetrics>? EpochCompleted;

    /// <summary>
    /// Trains every model until the target epochs, or until <paramref name="cancel"/> stops the
    /// grid between two steps (every model is then checkpointed, when the sessions have folders).
    /// </summary>
    /// <param name="cancel">Stops the grid between two steps.</param>
    /// <returns>Whether the run completed or was cancelled.</returns>
    /// <exception cref="TrainingDivergedException">A model diverged (the message names it); every model's last good checkpoint is kept.</exception>
    /// <exception cref="InfoGpuException">Another run holds one of the folders.</exception>
    public TrainingStop Run(CancellationToken cancel = default)
    {
        var locks = new List<IDisposable?>(sessions.Length);
        try
        {
            foreach (var s in sessions)
                locks.Add(s.BeginDrivenRun());
            return RunLocked(cancel);
        }
        finally
        {
            for (int i = locks.Count - 1; i >= 0; i--)
                locks[i]?.Dispose();
        }
    }

    private TrainingStop RunLocked(CancellationToken cancel)
    {
        var lead = sessions[0].Trainer;
        var settings = sessions[0].Settings;
        int target = lead.Epochs;
        int steps = lead.StepsPerEpoch;
        long started = Stopwatch.GetTimestamp();
        int every = settings.ProgressEvery > 0 ? settings.ProgressEvery : Math.Max(1, steps / 100);
        int stopEvery = settings.Directory is null ? 0 : settings.CheckpointEvery;
        try
        {
            return RunSteps(cancel, lead, settings, target, steps, started, every, stopEvery);
        }
        finally
        {
            EndSteps();
        }
    }

    private TrainingStop RunSteps(CancellationToken cancel, ITrainer lead, TrainingSessionOptions settings, int target, int steps, long started, int every, int stopEvery)
    {
        bool ranAny = false;
        while (lead.Epoch < target)
        {
            ranAny = true;
            while (lead.StepInEpoch < steps)
            {
                if (cancel.IsCancellationRequested)
                {
                    SaveAll();
                    return TrainingStop.Cancelled;
                }
                StepAll();
                if (settings.Progress is { } progress && (lead.StepInEpoch % every == 0 || lead.StepInEpoch == steps))
                {
                    progress.Report(new TrainingProgress(lead.Epoch + 1, target, lead.StepInEpoch, steps, lead.Step, Stopwatch.GetElapsedTime(started).TotalSeconds));
                }
                if (stopEvery > 0 && lead.Step % stopEvery == 0 && lead.StepInEpoch < steps)
                    SaveAll();
            }
            var metrics = EndEpochAll();
            for (int m = 0; m < sessions.Length; m++)
            {
                sessions[m].CompleteEpoch(metrics[m]);
                EpochCompleted?.Invoke(m, metrics[m]);
            }
        }
        if (!ranAny)
            SaveAll();
        return TrainingStop.Completed;
    }

    /// <summary>
    /// One step of every model outside <see cref="Run"/>, for callers that drive the grid themselves
    /// (benchmarks, custom schedules): fused when <see cref="Fused"/>, else each trainer's step in
    /// turn. Only the trainers advance: no session records or writes anything (use <see cref="Run"/>
    /// for folders and checkpoints). Close each epoch with <see cref="EndEpoch"/>, and
    /// <see cref="Dispose"/> the grid when done, which writes the fused stacks back into the trainers
    /// and frees them.
    /// </summary>
    /// <exception cref="InvalidOperationException">The epoch's steps are done: call <see cref="EndEpoch"/>.</exception>
    /// <exception cref="TrainingDivergedException">A model diverged (the message names it).</exception>
    public void TrainStep()
    {
        var lead = sessions[0].Trainer;
        if (lead.StepInEpoch >= lead.StepsPerEpoch)
            throw new InvalidOperationException("the epoch's steps are done: close it with EndEpoch");
        StepAll();
    }

    /// <summary>Closes the epoch of every model driven by <see cref="TrainStep"/> and returns their figures, in the grid's order (nothing is recorded in the sessions).</summary>
    /// <exception cref="InvalidOperationException">Steps of the epoch remain.</exception>
    /// <exception cref="TrainingDivergedException">A model diverged (the message names it).</exception>
    public IReadOnlyList<TMetrics> EndEpoch()
    {
        var lead = sessions[0].Trainer;
        if (lead.StepInEpoch < lead.StepsPerEpoch)
            throw new InvalidOperationException($"{lead.StepsPerEpoch - lead.StepInEpoch} steps of the epoch remain: run them with TrainStep before EndEpoch");
        return EndEpochAll();
    }

    /// <summary>Writes the fused stacks back into the trainers and frees them (the trainers stay the caller's); the grid may step again afterwards.</summary>
    public void Dispose() => EndSteps();

    /// <summary>
    /// One step of every model, in the grid's order. A divergence is rethrown naming the model
    /// (its index is then in <see cref="FailedModel"/>, its trainer's message in the inner exception).
    /// </summary>
    internal void StepAll()
    {
        if (notFused is null)
        {
            // The fused step keeps the models' states in stacks of its own: written back before anything reads a trainer.
            fused ??= FusedSteps.TryCreate(Trainers);
        }
        if (fused is not null)
        {
            try
            {
                fused.Step();
                FusedStepCount++;
                return;
            }
            catch (TrainingDivergedException e) when (fused.DivergedModel >= 0)
            {
                int m = fused.DivergedModel;
                FailedModel = m;
                throw new TrainingDivergedException($"model {names[m]}: {sessions[m].DivergedMessage(e.Message)}", e);
            }
        }
        for (int m = 0; m < sessions.Length; m++)
        {
            try
            {
                sessions[m].Trainer.TrainStep();
            }
            catch (TrainingDivergedException e)
            {
                FailedModel = m;
                throw new TrainingDivergedException($"model {names[m]}: {sessions[m].DivergedMessage(e.Message)}", e);
            }
        }
    }

    /// <summary>Closes the epoch of every model, in the grid's order, and returns their figures; a divergence as in <see cref="StepAll"/>.</summary>
    internal TMetrics[] EndEpochAll()
    {
        WriteBack();
        var metrics = new TMetrics[sessions.Length];
        for (int m = 0; m < sessions.Length; m++)
        {
            try
            {
                metrics[m] = sessions[m].Trainer.EndEpoch();
            }
            catch (TrainingDivergedException e)
            {
                FailedModel = m;
                throw new TrainingDivergedException($"model {names[m]}: {sessions[m].DivergedMessage(e.Message)}", e);
            }
        }
        return metrics;
    }

    /// <summary>The index of the model whose divergence <see cref="StepAll"/> or <see cref="EndEpochAll"/> last reported (-1: none).</summary>
    internal int FailedModel { get; private set; } = -1;

    /// <summary>Copies the fused step's stacked states back into the trainers (nothing when not fused or already written back); call before reading a trainer's state.</summary>
    internal void WriteBack() => fused?.WriteBack();

    /// <summary>Writes the fused states back and frees the stacks; the next <see cref="StepAll"/> stacks them again.</summary>
    internal void EndSteps()
    {
        if (fused is null)
            return;
        try
        {
            fused.WriteBack();
        }
        finally
        {
            fused.Dispose();
            fused = null;
        }
    }

    private void SaveAll()
    {
        WriteBack();
        foreach (var s in sessions)
            s.SaveCheckpointIfFolder();
    }
}
