using InfoGpu.Training;

namespace InfoGpu.Restricted;

/// <summary>How the negative (model) statistics are sampled.</summary>
public enum RbmSamplerKind
{
    /// <summary>Contrastive divergence CD-k: chains start at the data of each batch.</summary>
    Cd = 0,

    /// <summary>Persistent contrastive divergence: chains carried from update to update.</summary>
    Pcd = 1,
}

/// <summary>Settings of RBM training (defaults follow Hinton's practical guide and the issue).</summary>
public sealed record RbmTrainerOptions
{
    /// <summary>CD-k or PCD-k.</summary>
    public RbmSamplerKind Sampler { get; init; } = RbmSamplerKind.Cd;

    /// <summary>Gibbs steps per update (k of CD-k / PCD-k), at least 1.</summary>
    public int K { get; init; } = 1;

    /// <summary>Step size of the momentum updates.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Momentum of the first <see cref="MomentumSwitchEpochs"/> epochs.</summary>
    public double InitialMomentum { get; init; } = 0.5;

    /// <summary>Momentum afterwards.</summary>
    public double FinalMomentum { get; init; } = 0.9;

    /// <summary>Epochs that use <see cref="InitialMomentum"/>.</summary>
    public int MomentumSwitchEpochs { get; init; } = 5;

    /// <summary>L2 penalty on the weights only (not the biases).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Target mean activation t of the hidden units; 0 turns the sparsity penalty off.</summary>
    public double SparsityTarget { get; init; }

    /// <summary>Cost of the sparsity penalty; 0 turns it off.</summary>
    public double SparsityCost { get; init; }

    /// <summary>Decay of the running mean q of the hidden activations (0.9 to 0.99).</summary>
    public double SparsityDecay { get; init; } = 0.95;

    /// <summary>Mini-batch size (the last batch of an epoch may be smaller).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Passes over the training set (used by the console and the checkpoint config).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Philox seed of the data order and sampling, and of the monitored pixels.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Persistent chains of PCD; 0: as many as the batch.</summary>
    public int Chains { get; init; }

    /// <summary>
    /// PCD only: restart the chains from Bernoulli(1/2) visibles before every update, so that
    /// <see cref="K"/> is a burn-in and each update's negative statistics come from fresh chains
    /// run K sweeps (the long-chain estimator of Gibbs sampling); false (default): the chains persist.
    /// </summary>
    public bool RestartChains { get; init; }

    /// <summary>Rows of held-out (and training) data used by the per-epoch monitors; 0: all.</summary>
    public int MonitorRows { get; init; }

    /// <summary>Rows on which the deterministic pseudo-log-likelihood flips every bit; 0: skip it.</summary>
    public int AllBitsRows { get; init; } = 20;

    /// <summary>
    /// How the images were made into the visible data (<see cref="Data.ImageSet.AsVisibleData"/>),
    /// recorded in checkpoints so that a resumed run and <c>rbm eval</c> prepare the data alike.
    /// The trainer takes the data as given and checks that it fits: 0/1 values for
    /// <see cref="Data.BinarizeMode.Threshold"/> and <see cref="Data.BinarizeMode.Stochastic"/>,
    /// values in [0, 1] for <see cref="Data.BinarizeMode.None"/> (grey levels: the positive phase
    /// uses them as they are, CD chains start from them, and the monitors score them as they are:
    /// the pseudo-log-likelihood flips v_i to 1 - v_i, as scikit-learn's score_samples does).
    /// </summary>
    public Data.BinarizeMode Binarize { get; init; } = Data.BinarizeMode.Threshold;

    /// <summary>Steps between checks of the parameters for NaN or infinity (and always at the end of an epoch).</summary>
    public int CheckEvery { get; init; } = 100;

    /// <summary>The momentum of a (1-based) epoch.</summary>
    public double MomentumAt(int epoch) => epoch <= MomentumSwitchEpochs ? InitialMomentum : FinalMomentum;

    /// <summary>Whether the sparsity penalty is on.</summary>
    public bool Sparse => SparsityCost > 0 && SparsityTarget > 0;

    /// <summary>The number of persistent chains in use.</summary>
    public int ChainCount => Chains > 0 ? Chains : BatchSize;

    /// <summary>Throws <see cref="InfoGpuException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        static void Fail(string m) => throw new InfoGpuException("RBM training: " + m);
        if (K < 1)
            Fail($"k must be >= 1 (got {K})");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            Fail($"the learning rate must be a positive number (got {LearningRate})");
        if (!(InitialMomentum >= 0 && InitialMomentum < 1 && FinalMomentum >= 0 && FinalMomentum < 1))
            Fail($"momenta must be in [0, 1) (got {InitialMomentum}, {FinalMomentum})");
        if (!(WeightDecay >= 0))
            Fail($"weight decay must be >= 0 (got {WeightDecay})");
        if (SparsityCost < 0 || SparsityTarget < 0 || SparsityTarget >= 1 || (SparsityCost > 0 && SparsityTarget <= 0))
            Fail($"the sparsity target must be in (0, 1) when a sparsity cost is given (got target {SparsityTarget}, cost {SparsityCost})");
        if (!(SparsityDecay >= 0 && SparsityDecay < 1))
            Fail($"the sparsity decay must be in [0, 1) (got {SparsityDecay})");
        if (!Enum.IsDefined(Binarize))
            Fail($"the binarize mode {(int)Binarize} is not threshold, stochastic or none");
        if (BatchSize < 1 || Epochs < 1 || Chains < 0 || MonitorRows < 0 || AllBitsRows < 0 || CheckEvery < 1 || MomentumSwitchEpochs < 0)
            Fail("batch size, epochs and check interval must be >= 1; chains, monitor rows and momentum switch >= 0");
        if (RestartChains && Sampler != RbmSamplerKind.Pcd)
            Fail("restarting the chains before every update needs the PCD sampler (its chains are the ones restarted)");
    }
}

/// <summary>
/// The figures of one training epoch: wall-clock seconds of the updates (monitors excluded),
/// training images per second, and the monitors on held-out data after the epoch.
/// </summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Seconds">Wall-clock seconds of the epoch's updates (the shuffle included, monitors excluded).</param>
/// <param name="SamplesPerSecond">Training images per second.</param>
/// <param name="Momentum">The momentum used in the epoch.</param>
/// <param name="ReconstructionError">Mean over images of sum_i (v_i - p(v_i | h))^2 with h = p(h | v) (probabilities).</param>
/// <param name="PseudoLogLikelihood">Mean over images of D log sigmoid(F(v~) - F(v)), one flipped bit per image (scikit-learn's estimator and pixel indices).</param>
/// <param name="PseudoLogLikelihoodAllBits">The same with every bit flipped in turn on a fixed subset (deterministic); NaN when skipped.</param>
/// <param name="MeanFreeEnergyTrain">Mean F(v) on a training subset as large as the held-out set.</param>
/// <param name="MeanFreeEnergyTest">Mean F(v) on the held-out images.</param>
/// <param name="FreeEnergyGap">Mean F(held-out) - mean F(training subset): grows when the model overfits.</param>
public sealed record RbmEpochMetrics(
    int Epoch,
    double Seconds,
    double SamplesPerSecond,
    double Momentum,
    double ReconstructionError,
    double PseudoLogLikelihood,
    double PseudoLogLikelihoodAllBits,
    double MeanFreeEnergyTrain,
    double MeanFreeEnergyTest,
    double FreeEnergyGap) : IEpochMetrics<RbmEpochMetrics>
{
    private static readonly string[] Names =
    [
        "epoch", "seconds", "samples_per_s", "momentum", "reconstruction_error", "pseudo_log_likelihood", "pseudo_log_likelihood_all_bits",
        "free_energy_train", "free_energy_test", "free_energy_gap", "cpu_seconds",
    ];

    /// <summary>Processor seconds of this process (all threads) during the epoch's updates: with <see cref="Seconds"/>, shows how much of the machine the run got.</summary>
    public double CpuSeconds { get; init; }

    /// <inheritdoc/>
    public static IReadOnlyList<string> ColumnNames => Names;

    /// <inheritdoc/>
    public static RbmEpochMetrics FromColumns(ReadOnlySpan<double> v) =>
        new((int)v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]) { CpuSeconds = v[10] };

    /// <inheritdoc/>
    public double[] ToColumns() =>
        [Epoch, Seconds, SamplesPerSecond, Momentum, ReconstructionError, PseudoLogLikelihood, PseudoLogLikelihoodAllBits, MeanFreeEnergyTrain, MeanFreeEnergyTest, FreeEnergyGap, CpuSeconds];
}
