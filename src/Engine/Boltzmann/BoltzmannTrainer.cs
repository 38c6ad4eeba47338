using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Checkpoints;
using InfoGpu.Distributed;
using InfoGpu.Kernels;
using InfoGpu.Training;

namespace InfoGpu.Boltzmann;

/// <summary>Settings of Boltzmann-machine learning.</summary>
public sealed record BoltzmannTrainingOptions
{
    /// <summary>Step size of Delta w_ij = lr (&lt;s_i s_j&gt;data - &lt;s_i s_j&gt;model).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Gibbs sweeps discarded before statistics are collected (a sweep = one update per free unit).</summary>
    public int BurnIn { get; init; } = 10;

    /// <summary>Sweeps whose states are collected in each phase.</summary>
    public int Samples { get; init; } = 10;

    /// <summary>Chains per data vector in the positive (clamped) phase.</summary>
    public int PositiveChains { get; init; } = 4;

    /// <summary>Free-running chains in the negative phase.</summary>
    public int NegativeChains { get; init; } = 200;

    /// <summary>Keep the negative chains from update to update (burn-in once); otherwise fresh chains with burn-in every update.</summary>
    public bool Persistent { get; init; } = true;

    /// <summary>L2 penalty on the weights.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Philox seed.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Data rows per update (a step); 0 or at least the number of rows: one update per epoch from all the rows in their given order. Smaller batches take the rows in a Philox order of (seed, epoch).</summary>
    public int BatchSize { get; init; }

    /// <summary>Passes over the data the run aims at (kept in checkpoints).</summary>
    public int Epochs { get; init; } = 300;

    /// <summary>Throws <see cref="InfoGpuException"/> naming the settings out of range.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate) || BurnIn < 0 || Samples < 1 || PositiveChains < 1 || NegativeChains < 1 || !(WeightDecay >= 0) || BatchSize < 0 || Epochs < 1)
            throw new InfoGpuException("Boltzmann training: learning rate must be > 0, samples, chains and epochs >= 1, burn-in, weight decay and batch size >= 0");
    }
}

/// <summary>One epoch's figures.</summary>
/// <param name="Epoch">1-based number of the epoch just completed.</param>
/// <param name="Seconds">Wall time of its updates (summed over the calls when it was interrupted and continued).</param>
/// <param name="ExactLogLikelihood">Mean exact log-likelihood of the data after the epoch, in nats per row; null when the machine has more than 20 units.</param>
public sealed record BoltzmannEpochMetrics(int Epoch, double Seconds, double? ExactLogLikelihood) : IEpochMetrics<BoltzmannEpochMetrics>
{
    private static readonly string[] Names = ["epoch", "seconds", "exact_log_likelihood"];

    /// <inheritdoc/>
    public static IReadOnlyList<string> ColumnNames => Names;

    /// <inheritdoc/>
    public static BoltzmannEpochMetrics FromColumns(ReadOnlySpan<double> v) => new((int)v[0], v[1], double.IsNaN(v[2]) ? null : v[2]);

    /// <inheritdoc/>
    public double[] ToColumns() => [Epoch, Seconds, ExactLogLikelihood ?? double.NaN];
}

/// <summary>
/// Learns a <see cref="BoltzmannMachine"/> from binary data: the positive phase clamps the
/// visible units to each data vector and samples the hidden ones, the negative phase runs the
/// machine freely; both by single-site Gibbs sampling on the device, many chains in parallel.
/// Buffers are made here; an update allocates nothing on the device.
/// </summary>
/// <remarks>
/// Data parallel (<see cref="DataParallel"/>): with S shards the positive phase's clamped chains
/// of a batch and the negative phase's chains are split into S contiguous shares; every chain
/// draws what it draws unsplit (its global number keys its Philox draws, and its random start
/// comes from the same place in the start stream). Each shard sums its chains' pair statistics;
/// the shards' sums are added in shard order (gathered from the ranks under MPI) before the
/// update, so that one process with S shards and an S-rank job give the same bits. Not safe to
/// use from several threads at once.
/// </remarks>
public sealed class BoltzmannTrainer : ITrainer<BoltzmannEpochMetrics>
{
    private const ulong PositiveStream = 11;

    /// <summary>Philox streams of the free chains' updates and of the random starts (shared with <see cref="GibbsDiagnostics"/>).</summary>
    internal const ulong NegativeStream = 12, InitStream = 13;

    private readonly ComputeDevice device;
    private readonly BoltzmannMachine machine;
    private BoltzmannTrainingOptions options;
    private readonly float[] data;
    private readonly int rows;
    private readonly DeviceBuffer<float> weights, biases, stats;
    private readonly DeviceBuffer<float>[] positive, negative;
    private readonly float[] hostW, hostA, hostStats, hostPositive, hostNegative;
    private readonly double[] dataStats, modelStats, shardSums, gathered;
    private readonly DataParallel parallel;
    private readonly int[] localShards;
    private readonly int[] order;
    private readonly int batch;
    private long positiveStep, negativeStep, initDraw;
    private bool negativeReady;
    private int epoch, stepInEpoch, orderEpoch = -1;
    private long step;
    private double partialSeconds;

    /// <summary>
    /// Prepares training: copies the data and allocates on <paramref name="device"/> the weights
    /// (Units x Units), biases (Units), the positive chains (rows x PositiveChains x Units), the
    /// negative chains (NegativeChains x Units) and a Units x Units statistics buffer, all float32.
    /// <see cref="TrainStep"/> then updates <paramref name="machine"/> in place.
    /// </summary>
    /// <param name="device">Where the Gibbs sweeps run; it must outlive the trainer.</param>
    /// <param name="machine">The machine to learn; its current weights and biases are the starting point.</param>
    /// <param name="data">Training rows of <see cref="BoltzmannMachine.Visible"/> values each, row-major, every value 0 or 1.</param>
    /// <param name="options">Learning settings, validated here.</param>
    /// <param name="parallel">How the chains of every update are split over shards or MPI ranks (null: not split).</param>
    /// <exception cref="InfoGpuException">The options are out of range, the data is empty, not whole rows or not binary, there are fewer negative chains than shards, or a buffer does not fit on the device.</exception>
    public BoltzmannTrainer(ComputeDevice device, BoltzmannMachine machine, ReadOnlySpan<float> data, BoltzmannTrainingOptions options, DataParallel? parallel = null)
    {
        options.Validate();
        parallel ??= DataParallel.None;
        parallel.Validate();
        if (options.NegativeChains < parallel.Shards)
            throw new InfoGpuException($"Boltzmann training: {options.NegativeChains} negative chains cannot be split into {parallel.Shards} shards; give --chains >= {parallel.Shards}");
        if (data.Length == 0 || data.Length % machine.Visible != 0)
            throw new InfoGpuException($"Boltzmann training data: {data.Length} values do not make rows of {machine.Visible} visible units");
        foreach (float v in data)
        {
            if (v != 0 && v != 1)
                throw new InfoGpuException($"Boltzmann training data must be binary (0 or 1); found {v}");
        }
        this.device = device;
        this.machine = machine;
        this.options = options;
        this.data = data.ToArray();
        rows = data.Length / machine.Visible;
        this.parallel = parallel;
        localShards = [.. parallel.LocalShards];
        batch = options.BatchSize == 0 ? rows : Math.Min(options.BatchSize, rows);
        int n = machine.Units, shards = parallel.Shards;
        // A shard's share of a batch's clamped chains is at most ceil(batch chains / shards).
        int positiveCap = Math.Max(1, (batch * options.PositiveChains + shards - 1) / shards);
        int negativeCap = Enumerable.Range(0, shards).Max(s => Cluster.ShareOf(options.NegativeChains, shards, s).Count);
        positive = new DeviceBuffer<float>[localShards.Length];
        negative = new DeviceBuffer<float>[localShards.Length];
        try
        {
            weights = device.Allocate<float>(n * n);
            biases = device.Allocate<float>(n);
            stats = device.Allocate<float>(n * n);
            for (int i = 0; i < localShards.Length; i++)
            {
                positive[i] = device.Allocate<float>((long)positiveCap * n);
                negative[i] = device.Allocate<float>((long)Math.Max(1, Cluster.ShareOf(options.NegativeChains, shards, localShards[i]).Count) * n);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        hostW = new float[n * n];
        hostA = new float[n];
        hostStats = new float[n * n];
        hostPositive = new float[positiveCap * n];
        hostNegative = new float[negativeCap * n];
        dataStats = new double[n * n];
        modelStats = new double[n * n];
        shardSums = new double[shards * n * n];
        gathered = parallel.Cluster.IsDistributed ? new double[shards * n * n] : [];
        order = new int[rows];
    }

    /// <summary>How every update's chains are split (<see cref="DataParallel.None"/>: not split).</summary>
    public DataParallel Parallel => parallel;

    /// <summary>The machine being learned: its weights and biases are updated in place by every step.</summary>
    public BoltzmannMachine Machine => machine;

    /// <summary>The settings (validated).</summary>
    public BoltzmannTrainingOptions Options => options;

    /// <summary>Data rows (each of <see cref="BoltzmannMachine.Visible"/> values).</summary>
    public int Rows => rows;

    /// <summary>Completed epochs.</summary>
    public int Epoch => epoch;

    /// <summary>Updates done in the current, unfinished epoch (0 at an epoch's start).</summary>
    public int StepInEpoch => stepInEpoch;

    /// <summary>Updates done in all (the step count of the run).</summary>
    public long Step => step;

    /// <summary>Data rows per update: the option's batch size, or all the rows when it is 0 or larger.</summary>
    public int BatchSize => batch;

    /// <summary>Updates per epoch: ceil(rows / batch size).</summary>
    public int StepsPerEpoch => (rows + batch - 1) / batch;

    /// <inheritdoc/>
    public string ModelName => "Boltzmann machine";

    /// <summary>
    /// The learning rate of the next steps (<c>LearningRate</c> of the options, kept in checkpoints):
    /// a resumed run may lower it, e.g. after a divergence.
    /// </summary>
    public double LearningRate
    {
        get => options.LearningRate;
        set => options = options with { LearningRate = TrainerExtensions.CheckedLearningRate(value) };
    }

    /// <summary>The epochs the run aims at (<see cref="BoltzmannTrainingOptions.Epochs"/>, kept in checkpoints).</summary>
    public int Epochs
    {
        get => options.Epochs;
        set => options = options with { Epochs = TrainerExtensions.CheckedEpochs(value) };
    }

    /// <summary>One learning update from the next mini-batch of the epoch.</summary>
    /// <exception cref="TrainingDivergedException">A weight or bias became NaN or infinite; the message names the step and the tensor. The machine then holds the bad values: keep the last checkpoint.</exception>
    public void TrainStep()
    {
        if (stepInEpoch >= StepsPerEpoch)
            throw new InvalidOperationException("the epoch's steps are done: close it with EndEpoch");
        long t0 = Stopwatch.GetTimestamp();
        PrepareOrder(epoch + 1);
        int start = stepInEpoch * batch;
        Update(start, Math.Min(batch, rows - start));
        stepInEpoch++;
        step++;
        CheckParameters();
        partialSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Closes the epoch, with the exact log-likelihood of the data when the machine has at most 20 units.</summary>
    public BoltzmannEpochMetrics EndEpoch()
    {
        if (stepInEpoch < StepsPerEpoch)
            throw new InvalidOperationException($"{StepsPerEpoch - stepInEpoch} steps of the epoch remain: run them with TrainStep before EndEpoch");
        double seconds = partialSeconds;
        partialSeconds = 0;
        stepInEpoch = 0;
        epoch++;
        double? ll = machine.Units <= 20 ? BoltzmannExact.LogLikelihood(machine, data) : null;
        return new BoltzmannEpochMetrics(epoch, seconds, ll);
    }

    private void PrepareOrder(int epochNumber)
    {
        if (orderEpoch == epochNumber)
            return;
        if (batch >= rows)
        {
            for (int r = 0; r < rows; r++)
                order[r] = r;
        }
        else
        {
            Data.Shuffle.Permute(order, options.Seed, (ulong)epochNumber);
        }
        orderEpoch = epochNumber;
    }

    /// <summary>One learning update from the rows order[start .. start + size).</summary>
    private void Update(int start, int size)
    {
        int n = machine.Units, nv = machine.Visible;
        Upload();

        // Positive phase: visible clamped to the batch's rows, hidden started at random (chain c's
        // hidden units take the draws from c * hidden on of the start stream, split or not).
        int posChains = size * options.PositiveChains, hidden = n - nv, shards = parallel.Shards;
        for (int li = 0; li < localShards.Length; li++)
        {
            var (c0, cn) = Cluster.ShareOf(posChains, shards, localShards[li]);
            for (int c = c0; c < c0 + cn; c++)
            {
                int r = order[start + c / options.PositiveChains];
                int at = (c - c0) * n;
                for (int i = 0; i < nv; i++)
                    hostPositive[at + i] = data[r * nv + i];
                for (int i = nv; i < n; i++)
                    hostPositive[at + i] = RandomBit(initDraw + (long)c * hidden + (i - nv));
            }
            if (cn > 0)
                positive[li].CopyFrom(hostPositive.AsSpan(0, cn * n));
        }
        initDraw += (long)posChains * hidden;
        Collect(positive, posChains, nv, PositiveStream, ref positiveStep, machine.Hidden == 0 ? 0 : options.BurnIn, dataStats);

        // Negative phase: free chains, persistent or fresh.
        if (!options.Persistent || !negativeReady)
        {
            for (int li = 0; li < localShards.Length; li++)
            {
                var (c0, cn) = Cluster.ShareOf(options.NegativeChains, shards, localShards[li]);
                for (int k = 0; k < cn * n; k++)
                    hostNegative[k] = RandomBit(initDraw + (long)c0 * n + k);
                if (cn > 0)
                    negative[li].CopyFrom(hostNegative.AsSpan(0, cn * n));
            }
            initDraw += (long)options.NegativeChains * n;
            negativeReady = true;
            Collect(negative, options.NegativeChains, 0, NegativeStream, ref negativeStep, options.BurnIn, modelStats);
        }
        else
        {
            Collect(negative, options.NegativeChains, 0, NegativeStream, ref negativeStep, 0, modelStats);
        }

        double lr = options.LearningRate;
        for (int i = 0; i < n; i++)
        {
            machine.Biases[i] += lr * (dataStats[i * n + i] - modelStats[i * n + i]);
            for (int j = i + 1; j < n; j++)
            {
                double w = machine.Weight(i, j);
                machine.SetWeight(i, j, w + lr * (dataStats[i * n + j] - modelStats[i * n + j] - options.WeightDecay * w));
            }
        }
    }

    private void CheckParameters()
    {
        int n = machine.Units;
        for (int k = 0; k < machine.Weights.Length; k++)
        {
            if (!double.IsFinite(machine.Weights[k]))
                throw Diverged($"W[{k / n}, {k % n}] = {machine.Weights[k].ToString(CultureInfo.InvariantCulture)}");
        }
        for (int k = 0; k < machine.Biases.Length; k++)
        {
            if (!double.IsFinite(machine.Biases[k]))
                throw Diverged($"a[{k}] = {machine.Biases[k].ToString(CultureInfo.InvariantCulture)}");
        }
    }

    private TrainingDivergedException Diverged(string what) => new(
        $"Boltzmann training diverged at step {step} (epoch {epoch + 1}, step {stepInEpoch} of the epoch): {what}; lower --lr or raise --weight-decay");

    /// <summary>
    /// Burn-in, then <see cref="BoltzmannTrainingOptions.Samples"/> sweeps whose mean pair statistics
    /// go into <paramref name="into"/>: every local shard's chains (its share of <paramref name="chains"/>,
    /// numbered globally) in <paramref name="states"/>, the shards' sums added in shard order.
    /// </summary>
    private void Collect(DeviceBuffer<float>[] states, int chains, int clamped, ulong stream, ref long step, int burnIn, double[] into)
    {
        int n = machine.Units, nn = n * n, shards = parallel.Shards;
        int sweep = n - clamped;
        Array.Clear(shardSums);
        for (int li = 0; li < localShards.Length; li++)
        {
            int shard = localShards[li];
            var (c0, cn) = Cluster.ShareOf(chains, shards, shard);
            if (cn == 0)
                continue;
            var part = shardSums.AsSpan(shard * nn, nn);
            long at = step;
            if (sweep > 0 && burnIn > 0)
            {
                device.Backend.BoltzmannGibbs(states[li], weights, biases, cn, n, clamped, burnIn * sweep, at, options.Seed, stream, c0);
                at += burnIn * sweep;
            }
            for (int s = 0; s < options.Samples; s++)
            {
                if (sweep > 0)
                {
                    device.Backend.BoltzmannGibbs(states[li], weights, biases, cn, n, clamped, sweep, at, options.Seed, stream, c0);
                    at += sweep;
                }
                device.Backend.BoltzmannPairStatistics(states[li], stats, n, cn);
                stats.CopyTo(hostStats);
                for (int k = 0; k < nn; k++)
                    part[k] += hostStats[k];
                if (sweep == 0)
                {
                    // Fully clamped: every sample is the same.
                    for (int k = 0; k < nn; k++)
                        part[k] *= options.Samples;
                    break;
                }
            }
        }
        if (sweep > 0)
            step += (burnIn > 0 ? (long)burnIn * sweep : 0) + (long)options.Samples * sweep;
        if (parallel.Cluster.IsDistributed)
        {
            int rank = parallel.Cluster.Rank;
            parallel.Cluster.AllGather(shardSums.AsSpan(rank * nn, nn), gathered);
            gathered.CopyTo(shardSums, 0);
        }
        // Unsplit, 0 + the one shard's sum is that sum: the same bits as before shards existed.
        Array.Clear(into);
        for (int shard = 0; shard < shards; shard++)
        {
            var part = shardSums.AsSpan(shard * nn, nn);
            for (int k = 0; k < nn; k++)
                into[k] += part[k];
        }
        double scale = 1.0 / ((double)chains * options.Samples);
        for (int k = 0; k < into.Length; k++)
            into[k] *= scale;
    }

    /// <summary>
    /// The whole state in the layout of <see cref="BoltzmannCheckpoint"/>: W and a (float64), the
    /// persistent chains once they exist, the counters, the seconds of the unfinished epoch, the
    /// settings as "config" and the unit counts (synchronizes with the device).
    /// </summary>
    public TensorSet SaveState()
    {
        int n = machine.Units;
        var set = new TensorSet();
        set.Add("W", (double[])machine.Weights.Clone(), n, n);
        set.Add("a", (double[])machine.Biases.Clone(), n);
        if (options.Persistent && negativeReady)
            set.Add("chains", AllChains(), options.NegativeChains, n);
        set.Add("counters", new long[] { epoch, stepInEpoch, step, positiveStep, negativeStep, initDraw }, 6);
        set.Add("partial_seconds", new double[] { partialSeconds }, 1);
        set.Metadata["format"] = BoltzmannCheckpoint.Format;
        set.Metadata["config"] = BoltzmannCheckpoint.OptionsToJson(options);
        set.Metadata["visible"] = machine.Visible.ToString(CultureInfo.InvariantCulture);
        set.Metadata["hidden"] = machine.Hidden.ToString(CultureInfo.InvariantCulture);
        set.Metadata["epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        set.Metadata["step"] = step.ToString(CultureInfo.InvariantCulture);
        return set;
    }

    /// <summary>Every negative chain in order (NegativeChains x Units), from the local shards' buffers and, under MPI, from every rank (a collective call).</summary>
    private float[] AllChains()
    {
        int n = machine.Units, shards = parallel.Shards, chains = options.NegativeChains;
        var all = new float[chains * n];
        if (!parallel.Cluster.IsDistributed)
        {
            for (int li = 0; li < localShards.Length; li++)
            {
                var (c0, cn) = Cluster.ShareOf(chains, shards, localShards[li]);
                negative[li].ToArray().AsSpan(0, cn * n).CopyTo(all.AsSpan(c0 * n));
            }
            return all;
        }
        // The ranks' shares differ by at most one chain: gather them padded to the largest.
        int cap = hostNegative.Length;
        var mine = new float[cap];
        var (m0, mn) = Cluster.ShareOf(chains, shards, parallel.Cluster.Rank);
        negative[0].ToArray().AsSpan(0, mn * n).CopyTo(mine);
        var padded = new float[(long)cap * shards];
        parallel.Cluster.AllGather(mine, padded);
        for (int r = 0; r < shards; r++)
        {
            var (c0, cn) = Cluster.ShareOf(chains, shards, r);
            padded.AsSpan(r * cap, cn * n).CopyTo(all.AsSpan(c0 * n));
        }
        return all;
    }

    /// <summary>
    /// Rebuilds a trainer from a checkpoint of <see cref="SaveState"/> (read by <see cref="BoltzmannCheckpoint.Read"/>)
    /// on the same data: training continues bit for bit as if it had not stopped.
    /// </summary>
    /// <param name="device">Where the Gibbs sweeps run.</param>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="data">The run's data.</param>
    /// <param name="parallel">How the chains are split (null: not split); the same shards as the run's keep it bit for bit.</param>
    /// <exception cref="InfoGpuException">The checkpoint has no training state, or it does not fit the data.</exception>
    public static BoltzmannTrainer Resume(ComputeDevice device, TensorSet checkpoint, ReadOnlySpan<float> data, DataParallel? parallel = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var options = BoltzmannCheckpoint.ReadOptions(checkpoint);
        var machine = BoltzmannCheckpoint.LoadMachine(checkpoint);
        return new BoltzmannTrainer(device, machine, data, options, parallel).Restored(t => t.Restore(checkpoint));
    }

    private void Restore(TensorSet set)
    {
        string source = set.Source;
        if (!set.Contains("counters") || !set.Contains("partial_seconds"))
            throw new InfoGpuException($"{source} has no training counters; it holds a machine only and cannot be resumed");
        var c = set.GetInt64("counters");
        var p = set.GetDouble("partial_seconds");
        if (c.Length != 6 || p.Length != 1)
            throw new InfoGpuException($"{source}: counters has {c.Length} values (expected 6) and partial_seconds {p.Length} (expected 1)");
        if (c[0] < 0 || c[0] > int.MaxValue || c[1] < 0 || c[1] >= StepsPerEpoch || c[2] < 0 || c[3] < 0 || c[4] < 0 || c[5] < 0)
            throw new InfoGpuException($"{source}: the training counters are out of range (epoch {c[0]}, step {c[1]} of {StepsPerEpoch} in the epoch, step {c[2]}); it was not written for this data and batch size");
        if (options.Persistent && c[2] > 0 && !set.Contains("chains"))
            throw new InfoGpuException($"{source} has no persistent chains after {c[2]} steps; it cannot be resumed exactly");
        int n = machine.Units;
        var weights = set.GetDouble("W");
        var biases = set.GetDouble("a");
        var chainStates = set.Contains("chains") ? set.GetFloat("chains") : null;
        if (weights.Length != n * n || biases.Length != n)
            throw new InfoGpuException($"{source}: W has {weights.Length} and a {biases.Length} values; this machine of {n} units needs {n * n} and {n}");
        if (chainStates is not null && chainStates.Length != options.NegativeChains * n)
            throw new InfoGpuException($"{source}: the persistent chains have {chainStates.Length} values; {options.NegativeChains} chains of {n} units need {options.NegativeChains * n}");
        weights.CopyTo(machine.Weights, 0);
        biases.CopyTo(machine.Biases, 0);
        if (chainStates is not null)
        {
            for (int li = 0; li < localShards.Length; li++)
            {
                var (c0, cn) = Cluster.ShareOf(options.NegativeChains, parallel.Shards, localShards[li]);
                if (cn > 0)
                    negative[li].CopyFrom(chainStates.AsSpan(c0 * n, cn * n));
            }
        }
        negativeReady = chainStates is not null;
        epoch = (int)c[0];
        stepInEpoch = (int)c[1];
        step = c[2];
        positiveStep = c[3];
        negativeStep = c[4];
        initDraw = c[5];
        partialSeconds = p[0];
        orderEpoch = -1;
    }

    private float RandomBit(long draw) => Philox.Uniform(options.Seed, InitStream, (ulong)draw) < 0.5f ? 1f : 0f;

    private void Upload()
    {
        for (int k = 0; k < hostW.Length; k++)
            hostW[k] = (float)machine.Weights[k];
        for (int k = 0; k < hostA.Length; k++)
            hostA[k] = (float)machine.Biases[k];
        weights.CopyFrom(hostW);
        biases.CopyFrom(hostA);
    }

    /// <summary>
    /// Draws <paramref name="count"/> states from the machine: independent chains started at
    /// random, <paramref name="burnIn"/> sweeps each, then one state per chain. Rows of Units values.
    /// </summary>
    public static float[] Sample(ComputeDevice device, BoltzmannMachine machine, int count, int burnIn, ulong seed)
    {
        int n = machine.Units;
        using var w = device.Allocate<float>(n * n);
        using var a = device.Allocate<float>(n);
        using var s = device.Allocate<float>((long)count * n);
        w.CopyFrom(machine.Weights.Select(v => (float)v).ToArray());
        a.CopyFrom(machine.Biases.Select(v => (float)v).ToArray());
        var init = new float[count * n];
        for (int k = 0; k < init.Length; k++)
            init[k] = Philox.Uniform(seed, InitStream, (ulong)k) < 0.5f ? 1f : 0f;
        s.CopyFrom(init);
        device.Backend.BoltzmannGibbs(s, w, a, count, n, 0, burnIn * n, 0, seed, NegativeStream);
        return s.ToArray();
    }

    /// <summary>Frees the device buffers made by the constructor (the machine keeps what it learned). Dispose the trainer before its device.</summary>
    public void Dispose()
    {
        stats?.Dispose();
        foreach (var b in negative)
            b?.Dispose();
        foreach (var b in positive)
            b?.Dispose();
        biases?.Dispose();
        weights?.Dispose();
    }
}
