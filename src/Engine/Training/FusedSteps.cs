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
    /// <summary>Where this trainer runs (the grid fuses by default only where a launch costs).</summary>
    Devices.DeviceKind DeviceKind { get; }

    /// <summary>Null when <paramref name="trainers"/> (this one first) can be stepped in one set of launches; else the reason, as a short phrase.</summary>
    string? WhyNotFused(IReadOnlyList<ITrainer> trainers);

    /// <summary>Stacks the states of <paramref name="trainers"/> (this one first) for fused steps; call only when <see cref="WhyNotFused"/> gives null.</summary>
    IFusedSteps Fuse(IReadOnlyList<ITrainer> trainers);
}

/// <summary>Whether and how the models of a grid are stepped together.</summary>
internal static class FusedSteps
{
    /// <summary>Null when the trainers can be fused and <paramref name="stepping"/> asks for it there; else why not.</summary>
    public static string? WhyNot(IReadOnlyList<ITrainer> trainers, GridStepping stepping = GridStepping.Fused) =>
        trainers.Count == 0 ? "no models"
        : stepping == GridStepping.OneByOne ? "asked for one model after another"
        : trainers[0] is not IFusableTrainer f ? $"{trainers[0].ModelName} models are stepped one after another (no fused step for them)"
        : f.WhyNotFused(trainers) is string reason ? reason
        : stepping == GridStepping.Auto && f.DeviceKind is Devices.DeviceKind.Cpu or Devices.DeviceKind.IlgpuCpu
            ? $"on {Devices.DeviceKinds.Name(f.DeviceKind)} a launch costs nothing and the per-model loop is as fast or faster (ask for a fused step to have one)"
            : null;

    /// <summary>The fused steps of the trainers, or null when they cannot be fused.</summary>
    public static IFusedSteps? TryCreate(IReadOnlyList<ITrainer> trainers) =>
        WhyNot(trainers) is null ? ((IFusableTrainer)trainers[0]).Fuse(trainers) : null;
}
