using InfoGpu.Checkpoints;

namespace InfoGpu.Training;

/// <summary>
/// A model trainer as a <see cref="TrainingSession{TMetrics}"/> drives it: one update at a
/// time, an epoch closed by its monitors, and the whole state as one checkpoint. The RBM
/// (<see cref="Restricted.RbmTrainer"/>, CD-k and PCD), the VAE (<see cref="Variational.VaeTrainer"/>)
/// and the general Boltzmann machine (<see cref="Boltzmann.BoltzmannTrainer"/>) implement it.
/// </summary>
/// <remarks>
/// A trainer is not safe to use from several threads at once; one thread drives it (several
/// trainers may share one <see cref="Devices.ComputeDevice"/>). Its buffers are made when it is
/// built: <see cref="TrainStep"/> allocates nothing.
/// </remarks>
public interface ITrainer : IDisposable
{
    /// <summary>What is trained, for messages ("RBM", "VAE", "Boltzmann machine").</summary>
    string ModelName { get; }

    /// <summary>Completed epochs.</summary>
    int Epoch { get; }

    /// <summary>Updates done in the current, unfinished epoch (0 between epochs).</summary>
    int StepInEpoch { get; }

    /// <summary>Updates done in all, over the whole run (resumes included).</summary>
    long Step { get; }

    /// <summary>Updates per epoch.</summary>
    int StepsPerEpoch { get; }

    /// <summary>The epochs the run aims at, as stored in its checkpoints; a session sets it to its target.</summary>
    int Epochs { get; set; }

    /// <summary>The learning rate of the next steps, as stored in its checkpoints; a resumed run may change it (e.g. lower it after a divergence).</summary>
    double LearningRate { get; set; }

    /// <summary>
    /// One update of the current epoch (the first one prepares the epoch's data order). Call it
    /// while <see cref="StepInEpoch"/> &lt; <see cref="StepsPerEpoch"/>, then close the epoch with
    /// <c>EndEpoch</c>.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A parameter or a loss became NaN or infinite.</exception>
    void TrainStep();

    /// <summary>
    /// The whole state (parameters, optimizer state, chains, counters, settings as the "config"
    /// metadata, the "format" mark) as a tensor set that the trainer's <c>Resume</c> continues
    /// bit for bit. Synchronizes with the device.
    /// </summary>
    TensorSet SaveState();
}

/// <summary>A trainer whose completed epochs report figures of type <typeparamref name="TMetrics"/>.</summary>
/// <typeparam name="TMetrics">The figures of one epoch.</typeparam>
public interface ITrainer<TMetrics> : ITrainer
    where TMetrics : IEpochMetrics<TMetrics>
{
    /// <summary>
    /// Closes the current epoch once all its steps are done: synchronizes, advances
    /// <see cref="ITrainer.Epoch"/>, refreshes the host model and runs the monitors.
    /// </summary>
    /// <exception cref="InvalidOperationException">Steps of the epoch remain.</exception>
    /// <exception cref="TrainingDivergedException">A parameter or a monitor is NaN or infinite.</exception>
    TMetrics EndEpoch();
}

/// <summary>The figures of one completed epoch, as named columns (the metrics CSV and the history kept in checkpoints).</summary>
public interface IEpochMetrics
{
    /// <summary>1-based number of the epoch.</summary>
    int Epoch { get; }

    /// <summary>Wall-clock seconds of the epoch's updates (monitors excluded), summed over interrupted parts.</summary>
    double Seconds { get; }

    /// <summary>The values in the order of the type's column names (the first two are the epoch and the seconds).</summary>
    double[] ToColumns();
}

/// <summary>Epoch figures that can be rebuilt from their columns.</summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
public interface IEpochMetrics<TSelf> : IEpochMetrics
    where TSelf : IEpochMetrics<TSelf>
{
    /// <summary>The column names, starting with "epoch" and "seconds" (the header of metrics.csv).</summary>
    static abstract IReadOnlyList<string> ColumnNames { get; }

    /// <summary>The figures from values in the order of <see cref="ColumnNames"/>; absent trailing columns are NaN.</summary>
    static abstract TSelf FromColumns(ReadOnlySpan<double> values);
}

/// <summary>What an epoch call did: completed, with its figures, or stopped between two steps.</summary>
/// <typeparam name="TMetrics">The figures of one epoch.</typeparam>
/// <param name="Completed">True when the epoch ran to its end.</param>
/// <param name="Metrics">The figures of the completed epoch; default when <paramref name="Completed"/> is false.</param>
public readonly record struct EpochResult<TMetrics>(bool Completed, TMetrics? Metrics);

/// <summary>Where a run is, as reported to <see cref="TrainingSessionOptions.Progress"/>.</summary>
/// <param name="Epoch">1-based number of the epoch under way.</param>
/// <param name="Epochs">The epochs the run aims at.</param>
/// <param name="StepInEpoch">Updates done in that epoch.</param>
/// <param name="StepsPerEpoch">Updates per epoch.</param>
/// <param name="Step">Updates done in all.</param>
/// <param name="Seconds">Wall-clock seconds since this session started running.</param>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int StepInEpoch, int StepsPerEpoch, long Step, double Seconds)
{
    /// <summary>Fraction of the run's updates done, in [0, 1].</summary>
    public double Fraction => Epochs <= 0 || StepsPerEpoch <= 0 ? 1 : Math.Clamp(((Epoch - 1) * (double)StepsPerEpoch + StepInEpoch) / ((double)Epochs * StepsPerEpoch), 0, 1);
}

/// <summary>Training went numerically wrong (a NaN or an infinity); the message names the step and the tensor.</summary>
public sealed class TrainingDivergedException : InfoGpuException
{
    /// <summary>Creates the exception with a one-line message.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the default message.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>Creates the exception with a one-line message and its cause.</summary>
    public TrainingDivergedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>The epoch loop every trainer shares.</summary>
public static class TrainerExtensions
{
    /// <summary>A new <see cref="ITrainer.LearningRate"/>, checked: a positive finite number.</summary>
    internal static double CheckedLearningRate(double value) =>
        value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(nameof(value), $"the learning rate must be a positive number (got {value})");

    /// <summary>A new <see cref="ITrainer.Epochs"/>, checked: at least 1.</summary>
    internal static int CheckedEpochs(int value) =>
        value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"epochs must be >= 1 (got {value})");

    /// <summary>Runs <paramref name="restore"/> on a freshly built trainer and returns it; disposes it (its device buffers) when the restore throws.</summary>
    internal static T Restored<T>(this T trainer, Action<T> restore)
        where T : ITrainer
    {
        try
        {
            restore(trainer);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the rest of the current epoch and closes it. Stops between two steps, with the epoch
    /// unfinished and the state consistent (save it; the next call continues the epoch), when
    /// <paramref name="cancel"/> is signalled, or after a step whose number (<see cref="ITrainer.Step"/>,
    /// over the whole run) is a multiple of <paramref name="stopEvery"/> when that is positive and
    /// the epoch is unfinished.
    /// </summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="cancel">Stops before the next step.</param>
    /// <param name="stopEvery">Stop after every step numbered a multiple of this (0: never), e.g. to checkpoint every N steps.</param>
    /// <param name="progress">Told where the run is every <paramref name="progressEvery"/> steps; null: not told.</param>
    /// <param name="progressEvery">Steps between progress reports (at least 1).</param>
    /// <param name="epochs">The run's target, for the progress reports (0: the trainer's <see cref="ITrainer.Epochs"/>).</param>
    /// <param name="started">When the run started (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>), for the progress reports' seconds.</param>
    /// <param name="stopVote">Asked before every step (after <paramref name="cancel"/>); true stops the epoch there as a cancellation does. The ranks of an MPI job vote together this way, so that all stop after the same step. Null: not asked.</param>
    public static EpochResult<TMetrics> TrainEpoch<TMetrics>(
        this ITrainer<TMetrics> trainer, CancellationToken cancel = default, int stopEvery = 0,
        IProgress<TrainingProgress>? progress = null, int progressEvery = 1, int epochs = 0, long started = 0, Func<bool>? stopVote = null)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentOutOfRangeException.ThrowIfNegative(stopEvery);
        ArgumentOutOfRangeException.ThrowIfLessThan(progressEvery, 1);
        if (started == 0)
            started = System.Diagnostics.Stopwatch.GetTimestamp();
        int steps = trainer.StepsPerEpoch;
        while (trainer.StepInEpoch < steps)
        {
            if (cancel.IsCancellationRequested || (stopVote is not null && stopVote()))
                return new(false, default);
            trainer.TrainStep();
            if (progress is not null && (trainer.StepInEpoch % progressEvery == 0 || trainer.StepInEpoch == steps))
            {
                progress.Report(new TrainingProgress(
                    trainer.Epoch + 1, epochs > 0 ? epochs : trainer.Epochs, trainer.StepInEpoch, steps, trainer.Step,
                    System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds));
            }
            if (stopEvery > 0 && trainer.Step % stopEvery == 0 && trainer.StepInEpoch < steps)
                return new(false, default);
        }
        return new(true, trainer.EndEpoch());
    }
}
