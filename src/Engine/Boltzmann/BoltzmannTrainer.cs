using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Kernels;

namespace InfoGpu.Boltzmann;

/// <summary>Settings of Boltzmann-machine learning.</summary>
/// <param name="LearningRate">Step size of Delta w_ij = lr (&lt;s_i s_j&gt;data - &lt;s_i s_j&gt;model).</param>
/// <param name="BurnIn">Gibbs sweeps discarded before statistics are collected (a sweep = one update per free unit).</param>
/// <param name="Samples">Sweeps whose states are collected in each phase.</param>
/// <param name="PositiveChains">Chains per data vector in the positive (clamped) phase.</param>
/// <param name="NegativeChains">Free-running chains in the negative phase.</param>
/// <param name="Persistent">Keep the negative chains from update to update (burn-in once); otherwise fresh chains with burn-in every update.</param>
/// <param name="WeightDecay">L2 penalty on the weights.</param>
/// <param name="Seed">Philox seed.</param>
/// <param name="BatchSize">Data rows per update (a step); 0 or at least the number of rows: one update per epoch from all the rows in their given order. Smaller batches take the rows in a Philox order of (seed, epoch).</param>
public sealed record BoltzmannTrainingOptions(
    double LearningRate = 0.05,
    int BurnIn = 10,
    int Samples = 10,
    int PositiveChains = 4,
    int NegativeChains = 200,
    bool Persistent = true,
    double WeightDecay = 0,
    ulong Seed = 1,
    int BatchSize = 0)
{
    internal void Validate()
    {
        if (!(LearningRate > 0) || BurnIn < 0 || Samples < 1 || PositiveChains < 1 || NegativeChains < 1 || WeightDecay < 0 || BatchSize < 0)
            throw new InfoGpuException("Boltzmann training: learning rate must be > 0, samples, chains >= 1, burn-in, weight decay and batch size >= 0");
    }
}

/// <summary>One epoch's figures.</summary>
/// <param name="Epoch">1-based number of the epoch just completed.</param>
/// <param name="Seconds">Wall time of its updates (summed over the calls when it was interrupted and continued).</param>
/// <param name="ExactLogLikelihood">Mean exact log-likelihood of the data after the epoch, in nats per row; null when the machine has more than 20 units.</param>
public readonly record struct BoltzmannEpoch(int Epoch, double Seconds, double? ExactLogLikelihood);

/// <summary>
/// Learns a <see cref="BoltzmannMachine"/> from binary data: the positive phase clamps the
/// visible units to each data vector and samples the hidden ones, the negative phase runs the
/// machine freely; both by single-site Gibbs sampling on the device, many chains in parallel.
/// Buffers are made here; an update allocates nothing on the device.
/// </summary>
public sealed class BoltzmannTrainer : IDisposable
{
    private const ulong PositiveStream = 11, NegativeStream = 12, InitStream = 13;

    private readonly ComputeDevice device;
    private readonly BoltzmannMachine machine;
    private readonly BoltzmannTrainingOptions options;
    private readonly float[] data;
    private readonly int rows;
    private readonly DeviceBuffer<float> weights, biases, positive, negative, stats;
    private readonly float[] hostW, hostA, hostStats, hostPositive, hostNegative;
    private readonly double[] dataStats, modelStats;
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
    /// <see cref="TrainEpoch()"/> then updates <paramref name="machine"/> in place.
    /// </summary>
    /// <param name="device">Where the Gibbs sweeps run; it must outlive the trainer.</param>
    /// <param name="machine">The machine to learn; its current weights and biases are the starting point.</param>
    /// <param name="data">Training rows of <see cref="BoltzmannMachine.Visible"/> values each, row-major, every value 0 or 1.</param>
    /// <param name="options">Learning settings, validated here.</param>
    /// <exception cref="InfoGpuException">The options are out of range, the data is empty, not whole rows or not binary, or a buffer does not fit on the device.</exception>
    public BoltzmannTrainer(ComputeDevice device, BoltzmannMachine machine, ReadOnlySpan<float> data, BoltzmannTrainingOptions options)
    {
        options.Validate();
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
        int n = machine.Units;
        weights = device.Allocate<float>(n * n);
        biases = device.Allocate<float>(n);
        positive = device.Allocate<float>((long)rows * options.PositiveChains * n);
        negative = device.Allocate<float>((long)options.NegativeChains * n);
        stats = device.Allocate<float>(n * n);
        hostW = new float[n * n];
        hostA = new float[n];
        hostStats = new float[n * n];
        hostPositive = new float[rows * options.PositiveChains * n];
        hostNegative = new float[options.NegativeChains * n];
        dataStats = new double[n * n];
        modelStats = new double[n * n];
        order = new int[rows];
        batch = options.BatchSize == 0 ? rows : Math.Min(options.BatchSize, rows);
    }

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

    /// <summary>One epoch of learning updates from all the data (runs the rest of the current epoch when an earlier call stopped it); returns its figures, with the exact log-likelihood when the machine is small enough.</summary>
    /// <exception cref="InfoGpuException">A weight or bias became NaN or infinite; the message names the step and the tensor.</exception>
    public BoltzmannEpoch TrainEpoch() => TrainEpoch(CancellationToken.None) ?? throw new InvalidOperationException("an epoch without cancellation or checkpoints always completes");

    /// <summary>
    /// Runs the rest of the current epoch, one update per mini-batch. Returns null, with the epoch
    /// unfinished and the state consistent (checkpoint it; the next call continues the epoch),
    /// when <paramref name="cancel"/> is signalled between two steps, or after a step whose number
    /// (<see cref="Step"/>, counted over the whole run) is a multiple of <paramref name="stopEvery"/> (when positive).
    /// </summary>
    /// <param name="cancel">Stops training after the current step.</param>
    /// <param name="stopEvery">Stop after every step numbered a multiple of this (0: never).</param>
    /// <exception cref="InfoGpuException">A weight or bias became NaN or infinite after a step; the message names the step and the tensor. The machine then holds the bad values: keep the last checkpoint.</exception>
    public BoltzmannEpoch? TrainEpoch(CancellationToken cancel, int stopEvery = 0)
    {
        var sw = Stopwatch.StartNew();
        PrepareOrder(epoch + 1);
        int steps = StepsPerEpoch;
        while (stepInEpoch < steps)
        {
            if (cancel.IsCancellationRequested)
            {
                partialSeconds += sw.Elapsed.TotalSeconds;
                return null;
            }
            int start = stepInEpoch * batch;
            TrainStep(start, Math.Min(batch, rows - start));
            stepInEpoch++;
            step++;
            CheckParameters();
            if (stopEvery > 0 && step % stopEvery == 0 && stepInEpoch < steps)
            {
                partialSeconds += sw.Elapsed.TotalSeconds;
                return null;
            }
        }
        double seconds = partialSeconds + sw.Elapsed.TotalSeconds;
        partialSeconds = 0;
        stepInEpoch = 0;
        epoch++;
        double? ll = machine.Units <= 20 ? BoltzmannExact.LogLikelihood(machine, data) : null;
        return new BoltzmannEpoch(epoch, seconds, ll);
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
    private void TrainStep(int start, int size)
    {
        int n = machine.Units, nv = machine.Visible;
        Upload();

        // Positive phase: visible clamped to the batch's rows, hidden started at random.
        int posChains = size * options.PositiveChains;
        for (int c = 0; c < posChains; c++)
        {
            int r = order[start + c / options.PositiveChains];
            for (int i = 0; i < nv; i++)
                hostPositive[c * n + i] = data[r * nv + i];
            for (int i = nv; i < n; i++)
                hostPositive[c * n + i] = RandomBit();
        }
        positive.CopyFrom(hostPositive.AsSpan(0, posChains * n));
        Collect(positive, posChains, nv, PositiveStream, ref positiveStep, machine.Hidden == 0 ? 0 : options.BurnIn, dataStats);

        // Negative phase: free chains, persistent or fresh.
        if (!options.Persistent || !negativeReady)
        {
            for (int k = 0; k < hostNegative.Length; k++)
                hostNegative[k] = RandomBit();
            negative.CopyFrom(hostNegative);
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

    private InfoGpuException Diverged(string what) => new(
        $"Boltzmann training diverged at step {step} (epoch {epoch + 1}, step {stepInEpoch} of the epoch): {what}; the last good checkpoint is kept; lower --lr or raise --weight-decay");

    /// <summary>Burn-in, then <see cref="BoltzmannTrainingOptions.Samples"/> sweeps whose mean pair statistics go into <paramref name="into"/>.</summary>
    private void Collect(DeviceBuffer<float> states, int chains, int clamped, ulong stream, ref long step, int burnIn, double[] into)
    {
        int n = machine.Units;
        int sweep = n - clamped;
        Array.Clear(into);
        if (sweep > 0 && burnIn > 0)
        {
            device.Backend.BoltzmannGibbs(states, weights, biases, chains, n, clamped, burnIn * sweep, step, options.Seed, stream);
            step += burnIn * sweep;
        }
        for (int s = 0; s < options.Samples; s++)
        {
            if (sweep > 0)
            {
                device.Backend.BoltzmannGibbs(states, weights, biases, chains, n, clamped, sweep, step, options.Seed, stream);
                step += sweep;
            }
            device.Backend.BoltzmannPairStatistics(states, stats, n, chains);
            stats.CopyTo(hostStats);
            for (int k = 0; k < into.Length; k++)
                into[k] += hostStats[k];
            if (sweep == 0)
            {
                // Fully clamped: every sample is the same.
                for (int k = 0; k < into.Length; k++)
                    into[k] *= options.Samples;
                break;
            }
        }
        double scale = 1.0 / ((double)chains * options.Samples);
        for (int k = 0; k < into.Length; k++)
            into[k] *= scale;
    }

    /// <summary>Everything a checkpoint needs to continue exactly (synchronizes with the device).</summary>
    internal BoltzmannTrainingState CaptureState() => new(
        (double[])machine.Weights.Clone(), (double[])machine.Biases.Clone(),
        options.Persistent && negativeReady ? negative.ToArray() : null,
        epoch, stepInEpoch, step, positiveStep, negativeStep, initDraw, partialSeconds);

    /// <summary>Puts a captured state back: the next <see cref="TrainEpoch(CancellationToken, int)"/> continues where the capture was taken.</summary>
    internal void RestoreState(BoltzmannTrainingState s, string source)
    {
        int n = machine.Units;
        if (s.Weights.Length != n * n || s.Biases.Length != n)
            throw new InfoGpuException($"{source}: W has {s.Weights.Length} and a {s.Biases.Length} values; this machine of {n} units needs {n * n} and {n}");
        if (s.Chains is not null && s.Chains.Length != options.NegativeChains * n)
            throw new InfoGpuException($"{source}: the persistent chains have {s.Chains.Length} values; {options.NegativeChains} chains of {n} units need {options.NegativeChains * n}");
        if (s.Epoch < 0 || s.StepInEpoch < 0 || s.StepInEpoch >= StepsPerEpoch || s.Step < 0 || s.PositiveStep < 0 || s.NegativeStep < 0 || s.InitDraw < 0)
            throw new InfoGpuException($"{source}: the training counters are out of range (epoch {s.Epoch}, step {s.StepInEpoch} of {StepsPerEpoch} in the epoch, step {s.Step}); it was not written for this data and batch size");
        s.Weights.CopyTo(machine.Weights, 0);
        s.Biases.CopyTo(machine.Biases, 0);
        if (s.Chains is not null)
            negative.CopyFrom(s.Chains);
        negativeReady = s.Chains is not null;
        epoch = s.Epoch;
        stepInEpoch = s.StepInEpoch;
        step = s.Step;
        positiveStep = s.PositiveStep;
        negativeStep = s.NegativeStep;
        initDraw = s.InitDraw;
        partialSeconds = s.PartialSeconds;
        orderEpoch = -1;
    }

    private float RandomBit() => Philox.Uniform(options.Seed, InitStream, (ulong)initDraw++) < 0.5f ? 1f : 0f;

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
        stats.Dispose();
        negative.Dispose();
        positive.Dispose();
        biases.Dispose();
        weights.Dispose();
    }
}

/// <summary>A trainer's whole state, as checkpoints store it.</summary>
internal sealed record BoltzmannTrainingState(
    double[] Weights, double[] Biases, float[]? Chains,
    int Epoch, int StepInEpoch, long Step, long PositiveStep, long NegativeStep, long InitDraw, double PartialSeconds);
