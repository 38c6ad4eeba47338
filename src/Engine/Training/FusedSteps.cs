namespace InfoGpu.Training;

/// <summary>
/// The step of every model of a grid in one set of launches: the models' states live in
/// stacked buffers while the grid steps, and go back to their trainers before anything reads
/// them. Not safe to use from several threads at once (one thread runs a grid).
/// </summary>
internal interface IFusedSteps : IDisposable
{
    /// <summary>
    /// Advances every model by one step (each trainer's counters too), as each trainer's
    /// <see cref="ITrainer.TrainStep"/> would. When a model diverges it throws that model's
    /// <see cref="TrainingDivergedException"/> after setting <see cref="DivergedModel"/>.
    /// </summary>
    void Step();

    /// <summary>The index of the model whose divergence the last <see cref="Step"/> reported (-1 before any).</summary>
    int DivergedModel { get; }

    /// <summary>
    /// Copies every model's state into its own trainer, so that its epoch end, monitors and
    /// checkpoints see it; stepping continues from the stacks (which hold the same state).
    /// Does nothing when no step ran since the last call.
    /// </summary>
    void WriteBack();
}

/// <summary>A trainer whose models a <see cref="ModelGrid{TMetrics}"/> can step together (<see cref="IFusedSteps"/>).</summary>
internal interface IFusableTrainer
{
    /// <summary>Null when <paramref name="trainers"/> (this one first) can be stepped in one set of launches; else the reason, as a short phrase.</summary>
    string? WhyNotFused(IReadOnlyList<ITrainer> trainers);

    /// <summary>Stacks the states of <paramref name="trainers"/> (this one first) for fused steps; call only when <see cref="WhyNotFused"/> gives null.</summary>
    IFusedSteps Fuse(IReadOnlyList<ITrainer> trainers);
}

/// <summary>Whether and how the models of a grid are stepped together.</summary>
internal static class FusedSteps
{
    /// <summary>Null when the trainers can be fused; else why not.</summary>
    public static string? WhyNot(IReadOnlyList<ITrainer> trainers) =>
        trainers.Count == 0 ? "no models"
        : trainers[0] is IFusableTrainer f ? f.WhyNotFused(trainers)
        : $"{trainers[0].ModelName} models are stepped one after another (no fused step for them)";

    /// <summary>The fused steps of the trainers, or null when they cannot be fused.</summary>
    public static IFusedSteps? TryCreate(IReadOnlyList<ITrainer> trainers) =>
        WhyNot(trainers) is null ? ((IFusableTrainer)trainers[0]).Fuse(trainers) : null;
}
