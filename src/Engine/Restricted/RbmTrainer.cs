using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.Checkpoints;
using InfoGpu.Distributed;
using InfoGpu.LinearAlgebra;
using InfoGpu.Training;

namespace InfoGpu.Restricted;

/// <summary>
/// Trains an <see cref="Rbm"/> by CD-k or PCD-k on binary data, on one device. Every buffer
/// is made here; a training step launches GEMMs and kernels and allocates nothing.
/// </summary>
/// <remarks>
/// One step on a batch of B data rows and C chains (C = B for CD, the persistent chains for
/// PCD), with the model's rows stacked above the data rows in the buffers V ((C + B) x nv) and
/// H ((C + B) x nh):
/// <list type="number">
/// <item>gather the batch (rows of <see cref="Data.Shuffle.Permutation"/>(n, seed, epoch)) into V;</item>
/// <item>positive half-sweep, one GEMM: H_data = sigmoid(V_data W + c), and for CD the hidden samples
///       (for PCD the same GEMM covers the chains' first v -> h: one pass over W for both);</item>
/// <item>k Gibbs steps, one GEMM per half-sweep (h -> v uses W transposed without a copy, layout NT),
///       each with the sigmoid + Bernoulli epilogue; the model's statistics use the binary visible
///       sample and the hidden probabilities;</item>
/// <item>column sums of V and H (bias gradients), the model rows of H scaled by -B/C in place, and
///       one TN GEMM of the stack: G = (V_data^T H_data - (B/C) V_model^T H_model) / B;</item>
/// <item>the fused updates: momentum, weight decay on W, sparsity on c and W (Hinton's guide).</item>
/// </list>
/// Draws are Philox numbers (seed, stream 41, a running counter), so a run is reproducible on a
/// backend and a checkpoint resumes it exactly. Calls that return figures synchronize with the device.
/// <para>
/// Data parallel (<see cref="DataParallel"/>): with S shards the batch's rows and the PCD chains
/// are split into S contiguous shares; each shard runs the steps above on its own stack (its own
/// persistent chains) with the draws the unsplit batch gives those rows, and its partial gradient
/// and column sums are added to the others in shard order before the update. An S-rank MPI job and
/// one process with S shards do the same float operations and give the same bits; S = 1 is the
/// ordinary path. Sharded steps copy the partials to the host (MPI moves host memory).
/// </para>
/// </remarks>
public sealed partial class RbmTrainer : ITrainer<RbmEpochMetrics>
{
    private const ulong SampleStream = 41;
    private const ulong ChainInitStream = 44;
    private const string TrainImagesKey = "train_images";

    private readonly ComputeDevice device;
    private readonly Rbm rbm;
    private RbmTrainerOptions options;
    private readonly int nv, nh, rows, batch, chains, stackRows;
    private readonly float[] testData, trainSubset;
    private readonly int[] flipIndices;
    private readonly DeviceBuffer<float> train, w, b, c, vw, vb, vc, q, hiddenSamples, visibleProbabilities, gradient, sumsV, sumsH;
    private readonly DeviceBuffer<float>[] stacksV, stacksH;
    private readonly DataParallel parallel;
    private readonly int[] localShards;
    private readonly float[] partials, summed, localPartial;
    private readonly DeviceBuffer<int> order;
    private readonly RbmEvaluator evaluator;
    private readonly float[] hostCheck;
    private readonly int[] hostOrder;
    private readonly string fingerprint;
    private int orderEpoch = -1;
    private double epochSeconds;
    private bool segmentOpen;
    private TimeSpan cpuAtStart;

    /// <param name="device">Where to train.</param>
    /// <param name="rbm">The model; its arrays are the starting point and receive the trained values after each epoch.</param>
    /// <param name="trainData">Training images, rows of <see cref="Rbm.Visible"/> values: 0 or 1, or grey levels in [0, 1] when <see cref="RbmTrainerOptions.Binarize"/> is <see cref="Data.BinarizeMode.None"/>.</param>
    /// <param name="testData">Held-out images for the monitors (empty: the training data), prepared like <paramref name="trainData"/>.</param>
    /// <param name="options">Settings.</param>
    /// <param name="parallel">How each batch is split over shards or MPI ranks (null: not split).</param>
    public RbmTrainer(ComputeDevice device, Rbm rbm, ReadOnlySpan<float> trainData, ReadOnlySpan<float> testData, RbmTrainerOptions options, DataParallel? parallel = null)
    {
        options.Validate();
        parallel ??= DataParallel.None;
        parallel.Validate();
        nv = rbm.Visible;
        nh = rbm.Hidden;
        if (trainData.Length == 0 || trainData.Length % nv != 0)
            throw new InfoGpuException($"RBM training data: {trainData.Length} values do not make rows of {nv} visible units");
        if (testData.Length % nv != 0)
            throw new InfoGpuException($"RBM held-out data: {testData.Length} values do not make rows of {nv} visible units");
        CheckValues(trainData, options.Binarize, "training");
        CheckValues(testData, options.Binarize, "held-out");
        this.device = device;
        this.rbm = rbm;
        this.options = options;
        rows = trainData.Length / nv;
        fingerprint = Data.DataFingerprint.Of(trainData);
        batch = Math.Min(options.BatchSize, rows);
        chains = options.Sampler == RbmSamplerKind.Pcd ? options.ChainCount : batch;
        stackRows = chains + batch;
        this.parallel = parallel;
        localShards = [.. parallel.LocalShards];
        int shards = parallel.Shards;
        if (batch < shards || chains < shards)
            throw new InfoGpuException($"RBM training: a batch of {batch} images and {chains} chains cannot be split into {shards} shards; give --batch (and --chains) >= {shards}");

        var test = testData.IsEmpty ? trainData : testData;
        int testRows = test.Length / nv;
        int monitor = options.MonitorRows > 0 ? Math.Min(options.MonitorRows, testRows) : testRows;
        this.testData = test[..(monitor * nv)].ToArray();
        trainSubset = trainData[..(Math.Min(monitor, rows) * nv)].ToArray();
        flipIndices = new NumpyLegacyRandom((uint)options.Seed).RandInt(0, nv, monitor);

        train = device.Allocate<float>(trainData.Length);
        train.CopyFrom(trainData);
        order = device.Allocate<int>(rows);
        w = device.Allocate<float>((long)nv * nh);
        b = device.Allocate<float>(nv);
        c = device.Allocate<float>(nh);
        vw = device.Allocate<float>((long)nv * nh);
        vb = device.Allocate<float>(nv);
        vc = device.Allocate<float>(nh);
        q = device.Allocate<float>(nh);
        // One stack per local shard ([its chains; its data rows]); the scratch buffers fit the largest.
        int shardRows = 0, shardChains = 0;
        stacksV = new DeviceBuffer<float>[localShards.Length];
        stacksH = new DeviceBuffer<float>[localShards.Length];
        for (int i = 0; i < localShards.Length; i++)
        {
            int dataCap = Cluster.ShareOf(batch, shards, localShards[i]).Count + 1;
            int chainCap = options.Sampler == RbmSamplerKind.Pcd ? Cluster.ShareOf(chains, shards, localShards[i]).Count : dataCap;
            int r = shards == 1 ? stackRows : chainCap + dataCap;
            shardRows = Math.Max(shardRows, r);
            shardChains = Math.Max(shardChains, shards == 1 ? chains : chainCap);
            stacksV[i] = device.Allocate<float>((long)r * nv);
            stacksH[i] = device.Allocate<float>((long)r * nh);
        }
        hiddenSamples = device.Allocate<float>((long)shardRows * nh);
        visibleProbabilities = device.Allocate<float>((long)shardChains * nv);
        gradient = device.Allocate<float>((long)nv * nh);
        sumsV = device.Allocate<float>(2L * nv);
        sumsH = device.Allocate<float>(2L * nh);
        evaluator = new RbmEvaluator(device, nv, nh, Math.Min(1000, Math.Max(monitor, options.AllBitsRows)));
        hostCheck = new float[nv * nh];
        hostOrder = new int[rows];
        int exchange = parallel.IsSharded ? nv * nh + 2 * nv + 2 * nh : 0;
        partials = new float[(long)exchange * shards];
        summed = new float[exchange];
        localPartial = parallel.Cluster.IsDistributed ? new float[exchange] : [];

        w.CopyFrom(rbm.Weights);
        b.CopyFrom(rbm.VisibleBias);
        c.CopyFrom(rbm.HiddenBias);
        q.CopyFrom(Enumerable.Repeat((float)options.SparsityTarget, nh).ToArray());
        if (options.Sampler == RbmSamplerKind.Pcd)
        {
            // Persistent chains start as Bernoulli(1/2) visibles in the model rows of the stack.
            var init = new float[chains * nv];
            for (int k = 0; k < init.Length; k++)
                init[k] = Philox.Uniform(options.Seed, ChainInitStream, (ulong)k) < 0.5f ? 1f : 0f;
            LoadChains(init);
            if (options.RestartChains)
                hiddenSamples.Clear(); // the restart's GEMM multiplies it by 0: it must hold numbers
        }
    }

    /// <summary>The settings.</summary>
    public RbmTrainerOptions Options => options;

    /// <summary>Throws unless every value is 0 or 1 (binary modes) or in [0, 1] (<see cref="Data.BinarizeMode.None"/>).</summary>
    private static void CheckValues(ReadOnlySpan<float> data, Data.BinarizeMode mode, string which)
    {
        bool binary = mode != Data.BinarizeMode.None;
        for (int k = 0; k < data.Length; k++)
        {
            float v = data[k];
            if (binary ? v != 0 && v != 1 : !(v >= 0 && v <= 1))
            {
                throw new InfoGpuException(binary
                    ? $"RBM {which} data: value {v} at index {k} is not 0 or 1; binarize the images first (threshold or stochastic), or train on grey levels with binarize mode none"
                    : $"RBM {which} data: value {v} at index {k} is outside [0, 1]; grey levels as data must be intensities in [0, 1]");
            }
        }
    }

    /// <inheritdoc/>
    public string ModelName => "RBM";

    /// <summary>
    /// The learning rate of the next steps (<c>LearningRate</c> of the options, kept in checkpoints):
    /// a resumed run may lower it, e.g. after a divergence.
    /// </summary>
    public double LearningRate
    {
        get => options.LearningRate;
        set => options = options with { LearningRate = TrainerExtensions.CheckedLearningRate(value) };
    }

    /// <summary>The epochs the run aims at (<see cref="RbmTrainerOptions.Epochs"/>, stored in checkpoints).</summary>
    public int Epochs
    {
        get => options.Epochs;
        set => options = options with { Epochs = TrainerExtensions.CheckedEpochs(value) };
    }

    /// <summary>The model (updated after each epoch and by <see cref="SyncModel"/>).</summary>
    public Rbm Model => rbm;

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; private set; }

    /// <summary>Steps done in the current (unfinished) epoch; 0 between epochs.</summary>
    public int StepInEpoch { get; private set; }

    /// <summary>Updates done in all.</summary>
    public long Step { get; private set; }

    /// <summary>Philox draws used so far (the position of the sampling stream).</summary>
    internal long Draws { get; private set; }

    /// <summary>Steps per epoch: ceil(training images / batch).</summary>
    public int StepsPerEpoch => (rows + batch - 1) / batch;

    /// <summary>Training images.</summary>
    public int TrainingRows => rows;

    /// <summary>The pixel indices flipped by the one-bit pseudo-log-likelihood (numpy's RandomState(seed).randint(0, D, n)).</summary>
    internal IReadOnlyList<int> FlipIndices => flipIndices;

    /// <inheritdoc/>
    public void TrainStep()
    {
        if (StepInEpoch >= StepsPerEpoch)
            throw new InvalidOperationException("the epoch's steps are done: close it with EndEpoch");
        long t0 = Stopwatch.GetTimestamp();
        if (!segmentOpen)
        {
            // Processor time of this process from the epoch's first step here to its end.
            cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
            segmentOpen = true;
        }
        int epoch = Epoch + 1;
        PrepareOrder(epoch);
        int start = StepInEpoch * batch;
        Update(start, Math.Min(batch, rows - start), (float)options.MomentumAt(epoch));
        StepInEpoch++;
        Step++;
        if (Step % options.CheckEvery == 0)
            CheckParameters(epoch);
        epochSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <inheritdoc/>
    public RbmEpochMetrics EndEpoch()
    {
        if (StepInEpoch < StepsPerEpoch)
            throw new InvalidOperationException($"{StepsPerEpoch - StepInEpoch} steps of the epoch remain: run them with TrainStep before EndEpoch");
        long t0 = Stopwatch.GetTimestamp();
        device.Synchronize();
        double seconds = epochSeconds + Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double cpuSeconds = segmentOpen ? (Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds : 0;
        epochSeconds = 0;
        segmentOpen = false;
        int epoch = Epoch + 1;
        StepInEpoch = 0;
        Epoch = epoch;
        CheckParameters(epoch);
        SyncModel();
        return Monitor(epoch, seconds, options.MomentumAt(epoch)) with { CpuSeconds = cpuSeconds };
    }

    /// <summary>Copies the device parameters into <see cref="Model"/> (synchronizes).</summary>
    public void SyncModel()
    {
        w.CopyTo(rbm.Weights);
        b.CopyTo(rbm.VisibleBias);
        c.CopyTo(rbm.HiddenBias);
    }

    /// <summary>The monitors of the current parameters (as after an epoch, with zero seconds).</summary>
    internal RbmEpochMetrics Monitor(int epoch, double seconds, double momentum)
    {
        var test = evaluator.Evaluate(w, b, c, testData, flipIndices);
        var trainScores = evaluator.Evaluate(w, b, c, trainSubset, default);
        double allBits = options.AllBitsRows > 0
            ? evaluator.PseudoLogLikelihoodAllBits(w, b, c, testData.AsSpan(0, Math.Min(options.AllBitsRows, testData.Length / nv) * nv))
            : double.NaN;
        var m = new RbmEpochMetrics(
            epoch, seconds, seconds > 0 ? rows / seconds : 0, momentum,
            test.ReconstructionError, test.PseudoLogLikelihood, allBits,
            trainScores.MeanFreeEnergy, test.MeanFreeEnergy, test.MeanFreeEnergy - trainScores.MeanFreeEnergy);
        foreach (var (name, value) in new[] { ("reconstruction error", m.ReconstructionError), ("pseudo-log-likelihood", m.PseudoLogLikelihood), ("mean free energy", m.FreeEnergyGap) })
        {
            if (!double.IsFinite(value))
                throw Diverged(epoch, $"the {name} is {value}");
        }
        return m;
    }

    private void PrepareOrder(int epoch)
    {
        if (orderEpoch == epoch)
            return;
        Data.Shuffle.Permute(hostOrder, options.Seed, (ulong)epoch);
        order.CopyFrom(hostOrder);
        orderEpoch = epoch;
    }

    private void Update(int start, int size, float momentum)
    {
        var be = device.Backend;
        bool pcd = options.Sampler == RbmSamplerKind.Pcd;
        int cm = pcd ? chains : size;
        long draws = Draws;
        if (!parallel.IsSharded)
        {
            ShardStatistics(stacksV[0], stacksH[0], start, 0, size, 0, cm, size, cm, draws);
        }
        else
        {
            // Each local shard's gradient and column sums go to its slice of the partials; the
            // slices (this process's, or every rank's) are then added in shard order.
            int shards = parallel.Shards, length = summed.Length;
            long nw = (long)nv * nh;
            for (int i = 0; i < localShards.Length; i++)
            {
                int s = localShards[i];
                var (d0, dn) = Cluster.ShareOf(size, shards, s);
                var (c0, cn) = pcd ? Cluster.ShareOf(chains, shards, s) : (d0, dn);
                var slice = parallel.Cluster.IsDistributed ? localPartial.AsSpan() : partials.AsSpan(s * length, length);
                if (dn + cn == 0 || (!pcd && dn == 0))
                {
                    slice.Clear();
                    continue;
                }
                ShardStatistics(stacksV[i], stacksH[i], start + d0, d0, dn, c0, cn, size, cm, draws);
                gradient.CopyTo(slice[..(int)nw]);
                sumsV.CopyTo(slice.Slice((int)nw, 2 * nv));
                sumsH.CopyTo(slice.Slice((int)nw + 2 * nv, 2 * nh));
            }
            if (parallel.Cluster.IsDistributed)
                parallel.Cluster.AllGather(localPartial, partials);
            Cluster.AddInOrder(partials, summed, shards);
            gradient.CopyFrom(summed.AsSpan(0, (int)nw));
            sumsV.CopyFrom(summed.AsSpan((int)nw, 2 * nv));
            sumsH.CopyFrom(summed.AsSpan((int)nw + 2 * nv, 2 * nh));
        }
        Draws = draws + DrawsOfStep(size, cm);

        var u = new RbmUpdateArgs
        {
            Visible = nv,
            Hidden = nh,
            LearningRate = (float)options.LearningRate,
            Momentum = momentum,
            WeightDecay = (float)options.WeightDecay,
            PositiveScale = 1f / size,
            NegativeScale = 1f / cm,
            SparsityTarget = (float)options.SparsityTarget,
            SparsityCost = options.Sparse ? (float)options.SparsityCost : 0f,
            SparsityDecay = (float)options.SparsityDecay,
        };
        be.RbmUpdate(w, vw, gradient, b, vb, sumsV, c, vc, sumsH, q, u);
    }

    /// <summary>Philox draws one step takes from the sampling stream, for a batch of <paramref name="size"/> rows and <paramref name="cm"/> chains.</summary>
    private long DrawsOfStep(int size, int cm) => options.Sampler == RbmSamplerKind.Pcd
        ? (options.RestartChains ? (long)cm * nv : 0) + (long)(cm + size) * nh + (long)(options.K - 1) * cm * nh + (long)options.K * cm * nv
        : (long)size * nh + (long)options.K * cm * nv + (long)(options.K - 1) * cm * nh;

    /// <summary>
    /// One shard's sampling and statistics into <see cref="gradient"/>, <see cref="sumsV"/> and
    /// <see cref="sumsH"/>: the data rows [<paramref name="d0"/>, +<paramref name="dn"/>) of the
    /// batch (its rows from <paramref name="first"/> of the epoch's order) and the chains
    /// [<paramref name="c0"/>, +<paramref name="cn"/>) (CD: the data rows' own chains), in a stack
    /// [chains; data rows]. The draws are those the whole batch's rows take from the sampling
    /// stream at <paramref name="draws"/>, so a row's draws do not depend on the split; the scales
    /// use the whole batch (<paramref name="size"/> rows, <paramref name="cm"/> chains).
    /// </summary>
    private void ShardStatistics(DeviceBuffer<float> stackV, DeviceBuffer<float> stackH, int first, int d0, int dn, int c0, int cn, int size, int cm, long draws)
    {
        var be = device.Backend;
        long dataV = (long)cn * nv, dataH = (long)cn * nh;
        be.GatherRows(train, order, stackV, first, dn, nv, dataV);
        long cursor = draws;
        // The offset, for this shard's first row, of the next block of the stream that the whole batch uses.
        long Next(long batchRows, long cols, long shardRow)
        {
            long at = cursor + shardRow * cols;
            cursor += batchRows * cols;
            return at;
        }

        if (options.Sampler == RbmSamplerKind.Cd)
        {
            // Positive phase: p(h | data) and the hidden samples that start the chains.
            RbmHalfSweep.Hidden(new MatrixView(stackV, dn, nv, dataV), w, c, new MatrixView(stackH, dn, nh, dataH), hiddenSamples, options.Seed, SampleStream, Next(size, nh, d0));
            for (int t = 0; t < options.K; t++)
            {
                RbmHalfSweep.Visible((hiddenSamples, cn, nh), w, b, (visibleProbabilities, cn, nv), stackV, options.Seed, SampleStream, Next(cm, nv, c0));
                if (t + 1 == options.K)
                    RbmHalfSweep.Hidden((stackV, cn, nv), w, c, (stackH, cn, nh));
                else
                    RbmHalfSweep.Hidden((stackV, cn, nv), w, c, (stackH, cn, nh), hiddenSamples, options.Seed, SampleStream, Next(cm, nh, c0));
            }
        }
        else
        {
            if (options.RestartChains)
            {
                // Fresh chains: the product is scaled by 0 and the bias by 0, so every visible unit
                // is Bernoulli(sigmoid(0) = 1/2), sampled into the chain rows (hiddenSamples holds 0/1 values).
                Gemm.Multiply(GemmLayout.NT, (hiddenSamples, cn, nh), (w, nv, nh), (visibleProbabilities, cn, nv), new GemmEpilogue
                {
                    Alpha = 0f,
                    Bias = b,
                    BiasScale = 0f,
                    Activation = GemmActivation.Sigmoid,
                    Samples = stackV,
                    Seed = options.Seed,
                    Stream = SampleStream,
                    SampleOffset = Next(cm, nv, c0),
                });
            }

            // The chains' first v -> h and the positive phase share one GEMM over the whole stack
            // (the data rows' samples are not used, so their draws need not match the unsplit batch's).
            RbmHalfSweep.Hidden((stackV, cn + dn, nv), w, c, (stackH, cn + dn, nh), hiddenSamples, options.Seed, SampleStream, Next(cm + size, nh, c0));
            for (int t = 0; t < options.K; t++)
            {
                if (t > 0)
                    RbmHalfSweep.Hidden((stackV, cn, nv), w, c, (stackH, cn, nh), hiddenSamples, options.Seed, SampleStream, Next(cm, nh, c0));
                RbmHalfSweep.Visible((hiddenSamples, cn, nh), w, b, (visibleProbabilities, cn, nv), stackV, options.Seed, SampleStream, Next(cm, nv, c0));
            }
            RbmHalfSweep.Hidden((stackV, cn, nv), w, c, (stackH, cn, nh));
        }

        // Statistics: bias sums, then one TN product of the stack with the model rows negated.
        int total = cn + dn;
        be.RbmColumnStatistics(stackV, 0, total, nv, cn, sumsV, 1f);
        be.RbmColumnStatistics(stackH, 0, total, nh, cn, sumsH, -(float)size / cm);
        Gemm.Multiply(GemmLayout.TN, (stackV, total, nv), (stackH, total, nh), (gradient, nv, nh), new GemmEpilogue { Alpha = 1f / size });
    }

    private void CheckParameters(int epoch)
    {
        Check(epoch, "W", w);
        Check(epoch, "b", b);
        Check(epoch, "c", c);
    }

    private void Check(int epoch, string name, DeviceBuffer<float> buffer)
    {
        var span = hostCheck.AsSpan(0, (int)buffer.Length);
        buffer.CopyTo(span);
        int bad = IndexOfNonFinite(span);
        if (bad >= 0)
        {
            string at = name == "W" ? $"W[{bad / nh}, {bad % nh}]" : $"{name}[{bad}]";
            throw Diverged(epoch, $"{at} = {span[bad]}");
        }
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> x)
    {
        for (int k = 0; k < x.Length; k++)
        {
            if (!float.IsFinite(x[k]))
                return k;
        }
        return -1;
    }

    private TrainingDivergedException Diverged(int epoch, string what) => new(
        $"RBM training diverged in epoch {epoch}, by step {Step} of the run: {what}; lower --lr or raise --weight-decay");

    /// <summary>
    /// The persistent chains' visible states (rows of nv values, every shard's in order), or null for
    /// CD (synchronizes). Under MPI a collective call: every rank calls it, rank 0 gets the chains of
    /// all ranks and the other ranks null.
    /// </summary>
    public float[]? CaptureChains()
    {
        if (options.Sampler != RbmSamplerKind.Pcd)
            return null;
        var mine = new List<float>();
        for (int i = 0; i < localShards.Length; i++)
        {
            int cn = Cluster.ShareOf(chains, parallel.Shards, localShards[i]).Count;
            mine.AddRange(stacksV[i].ToArray().AsSpan(0, cn * nv).ToArray());
        }
        if (!parallel.Cluster.IsDistributed)
            return [.. mine];
        var parts = parallel.Cluster.Gather(System.Runtime.InteropServices.MemoryMarshal.AsBytes(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(mine)));
        if (parts is null)
            return null;
        var all = new float[chains * nv];
        int at = 0;
        foreach (var p in parts)
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(p).CopyTo(all.AsSpan(at));
            at += p.Length / sizeof(float);
        }
        return at == all.Length ? all : throw new InvalidOperationException($"the ranks hold {at / nv} chains, not {chains}");
    }

    /// <summary>Puts the rows of the whole chain array (chains x nv) into the local shards' stacks.</summary>
    private void LoadChains(ReadOnlySpan<float> all)
    {
        for (int i = 0; i < localShards.Length; i++)
        {
            var (c0, cn) = Cluster.ShareOf(chains, parallel.Shards, localShards[i]);
            stacksV[i].CopyFrom(all.Slice(c0 * nv, cn * nv));
        }
    }

    /// <summary>
    /// The whole state in the RBM checkpoint layout (<see cref="RbmCheckpoint"/>): W, b, c, the
    /// momentum buffers, the sparsity running mean, the persistent chains (PCD), the counters
    /// [epoch, step in epoch, step, Philox draws], the settings as "config" and the number of
    /// training images. Synchronizes with the device.
    /// </summary>
    public TensorSet SaveState()
    {
        SyncModel();
        var set = new TensorSet();
        set.Add("W", rbm.Weights.ToArray(), nv, nh);
        set.Add("b", rbm.VisibleBias.ToArray(), nv);
        set.Add("c", rbm.HiddenBias.ToArray(), nh);
        set.Add("velocity_W", vw.ToArray(), nv, nh);
        set.Add("velocity_b", vb.ToArray(), nv);
        set.Add("velocity_c", vc.ToArray(), nh);
        set.Add("sparsity_q", q.ToArray(), nh);
        if (CaptureChains() is float[] chainStates)
            set.Add("chains", chainStates, chains, nv);
        set.Add("counters", new long[] { Epoch, StepInEpoch, Step, Draws }, 4);
        set.Metadata["format"] = RbmCheckpoint.Format;
        set.Metadata["config"] = RbmCheckpoint.OptionsToJson(options);
        set.Metadata["epoch"] = Epoch.ToString(CultureInfo.InvariantCulture);
        set.Metadata["step"] = Step.ToString(CultureInfo.InvariantCulture);
        set.Metadata[TrainImagesKey] = rows.ToString(CultureInfo.InvariantCulture);
        set.Metadata[Data.DataFingerprint.Key] = fingerprint;
        return set;
    }

    /// <summary>
    /// Rebuilds a trainer from a checkpoint written by <see cref="SaveState"/> (read with
    /// <see cref="RbmCheckpoint.Read"/> or <see cref="TrainingSession.ReadCheckpoint"/>), with its
    /// settings and on the same data: training continues bit for bit as if it had not stopped.
    /// </summary>
    /// <param name="device">Where to train.</param>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="trainData">The training images the run was started with.</param>
    /// <param name="testData">Held-out images for the monitors (empty: the training data).</param>
    /// <param name="parallel">How each batch is split from now on (null: not split); any split resumes any checkpoint, a single process's under MPI and back.</param>
    /// <exception cref="InfoGpuException">The checkpoint holds a model only, does not fit the data (other image count or size), or its counters or tensors are out of range.</exception>
    public static RbmTrainer Resume(ComputeDevice device, TensorSet checkpoint, ReadOnlySpan<float> trainData, ReadOnlySpan<float> testData, DataParallel? parallel = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        string source = checkpoint.Source;
        var options = RbmCheckpoint.ReadOptions(checkpoint);
        var rbm = RbmCheckpoint.LoadModel(checkpoint);
        if (trainData.Length % rbm.Visible != 0)
            throw new InfoGpuException($"{source}: the model has {rbm.Visible} visible units but the training data does not make rows of {rbm.Visible} pixels");
        int images = trainData.Length / rbm.Visible;
        if (checkpoint.Metadata.TryGetValue(TrainImagesKey, out var n) && n != images.ToString(CultureInfo.InvariantCulture))
            throw new InfoGpuException($"{source} was trained on {n} images, not {images}; resume with the same --data and --limit");
        if (!checkpoint.Contains("counters"))
            throw new InfoGpuException($"{source} has no training counters; it holds a model only and cannot be resumed");
        Data.DataFingerprint.Check(checkpoint, Data.DataFingerprint.Of(trainData));
        try
        {
            options.Validate();
        }
        catch (InfoGpuException e)
        {
            throw new InfoGpuException($"{source}: its settings are out of range ({e.Message})");
        }
        return new RbmTrainer(device, rbm, trainData, testData, options, parallel).Restored(t => t.Restore(checkpoint));
    }

    private void Restore(TensorSet set)
    {
        string source = set.Source;
        float[] Need(string name, long want)
        {
            var v = set.Contains(name) ? set.GetFloat(name) : throw new InfoGpuException($"{source} has no tensor '{name}' and cannot be resumed");
            return v.Length == want ? v : throw new InfoGpuException($"{source}: tensor {name} has {v.Length} values; this model needs {want}");
        }
        var counters = set.GetInt64("counters");
        if (counters.Length != 4)
            throw new InfoGpuException($"{source}: counters has {counters.Length} values, expected 4");
        if (counters[0] < 0 || counters[0] > int.MaxValue || counters[1] < 0 || counters[1] >= StepsPerEpoch || counters[2] < 0 || counters[3] < 0)
            throw new InfoGpuException($"{source}: the training counters are out of range (epoch {counters[0]}, step {counters[1]} of {StepsPerEpoch} in the epoch, step {counters[2]}, draws {counters[3]}); it was not written for this data and batch size");
        var weights = Need("W", (long)nv * nh);
        var visibleBias = Need("b", nv);
        var hiddenBias = Need("c", nh);
        var velocityW = Need("velocity_W", (long)nv * nh);
        var velocityB = Need("velocity_b", nv);
        var velocityC = Need("velocity_c", nh);
        var sparsity = Need("sparsity_q", nh);
        float[]? chainStates = null;
        if (options.Sampler == RbmSamplerKind.Pcd)
        {
            if (!set.Contains("chains"))
                throw new InfoGpuException($"{source} has no persistent chains; it was written by a CD run: resume it with --sampler cd");
            chainStates = Need("chains", (long)chains * nv);
        }
        weights.CopyTo(rbm.Weights, 0);
        visibleBias.CopyTo(rbm.VisibleBias, 0);
        hiddenBias.CopyTo(rbm.HiddenBias, 0);
        w.CopyFrom(weights);
        b.CopyFrom(visibleBias);
        c.CopyFrom(hiddenBias);
        vw.CopyFrom(velocityW);
        vb.CopyFrom(velocityB);
        vc.CopyFrom(velocityC);
        q.CopyFrom(sparsity);
        if (chainStates is not null)
            LoadChains(chainStates);
        Epoch = (int)counters[0];
        StepInEpoch = (int)counters[1];
        Step = counters[2];
        Draws = counters[3];
        orderEpoch = -1;
    }

    /// <summary>Frees the device buffers, in reverse order of allocation.</summary>
    public void Dispose()
    {
        evaluator.Dispose();
        sumsH.Dispose();
        sumsV.Dispose();
        gradient.Dispose();
        visibleProbabilities.Dispose();
        hiddenSamples.Dispose();
        for (int i = stacksV.Length - 1; i >= 0; i--)
        {
            stacksH[i].Dispose();
            stacksV[i].Dispose();
        }
        q.Dispose();
        vc.Dispose();
        vb.Dispose();
        vw.Dispose();
        c.Dispose();
        b.Dispose();
        w.Dispose();
        order.Dispose();
        train.Dispose();
    }
}
