using System.Diagnostics;
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
public sealed record BoltzmannTrainingOptions(
    double LearningRate = 0.05,
    int BurnIn = 10,
    int Samples = 10,
    int PositiveChains = 4,
    int NegativeChains = 200,
    bool Persistent = true,
    double WeightDecay = 0,
    ulong Seed = 1)
{
    internal void Validate()
    {
        if (!(LearningRate > 0) || BurnIn < 0 || Samples < 1 || PositiveChains < 1 || NegativeChains < 1 || WeightDecay < 0)
            throw new InfoGpuException("Boltzmann training: learning rate must be > 0, samples, chains >= 1, burn-in and weight decay >= 0");
    }
}

/// <summary>One update's figures.</summary>
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
    private long positiveStep, negativeStep, initDraw;
    private bool negativeReady;
    private int epoch;

    /// <summary>
    /// Prepares training: copies the data and allocates on <paramref name="device"/> the weights
    /// (Units x Units), biases (Units), the positive chains (rows x PositiveChains x Units), the
    /// negative chains (NegativeChains x Units) and a Units x Units statistics buffer, all float32.
    /// <see cref="TrainEpoch"/> then updates <paramref name="machine"/> in place.
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
    }

    /// <summary>One learning update from all the data; returns its figures (the exact log-likelihood when the machine is small enough).</summary>
    public BoltzmannEpoch TrainEpoch()
    {
        var sw = Stopwatch.StartNew();
        int n = machine.Units, nv = machine.Visible;
        Upload();

        // Positive phase: visible clamped to the data, hidden started at random.
        int posChains = rows * options.PositiveChains;
        for (int c = 0; c < posChains; c++)
        {
            int r = c / options.PositiveChains;
            for (int i = 0; i < nv; i++)
                hostPositive[c * n + i] = data[r * nv + i];
            for (int i = nv; i < n; i++)
                hostPositive[c * n + i] = RandomBit();
        }
        positive.CopyFrom(hostPositive);
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
        epoch++;
        double? ll = machine.Units <= 20 ? BoltzmannExact.LogLikelihood(machine, data) : null;
        return new BoltzmannEpoch(epoch, sw.Elapsed.TotalSeconds, ll);
    }

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
