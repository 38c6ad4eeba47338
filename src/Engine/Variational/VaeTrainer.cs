using System.Diagnostics;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Distributed;
using InfoGpu.Kernels;
using InfoGpu.Training;

namespace InfoGpu.Variational;

/// <summary>Settings of VAE training (PyTorch's examples/vae defaults).</summary>
public sealed record VaeTrainerOptions
{
    /// <summary>Adam step size (betas 0.9/0.999, eps 1e-8 as torch.optim.Adam).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Mini-batch size; the last batch of an epoch may be smaller.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Weight of the KL term (1: the plain VAE; other values: beta-VAE).</summary>
    public double Beta { get; init; } = 1;

    /// <summary>Passes over the training set the run aims at (kept in checkpoints).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Philox seed of the initialisation, the shuffles and the reparameterization noise.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Threshold the images at 0.5 (default: grey levels in [0, 1] as Bernoulli targets).</summary>
    public bool Binarize { get; init; }

    /// <summary>Hidden units of the encoder and the decoder of a new model (<see cref="Vae.Create"/>).</summary>
    public int Hidden { get; init; } = 400;

    /// <summary>Latent dimensions of a new model.</summary>
    public int Latent { get; init; } = 20;

    /// <summary>
    /// Steps between reads of the training loss (each one waits for the device): the loss is
    /// checked for NaN and infinity at the trainer's first step, at every step whose number is a
    /// multiple of this, and at the epoch's end. Does not change the results (not kept in checkpoints).
    /// </summary>
    public int CheckEvery { get; init; } = 100;

    /// <summary>Throws <see cref="InfoGpuException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new InfoGpuException($"VAE training: learning rate must be > 0 (got {LearningRate})");
        if (BatchSize < 1)
            throw new InfoGpuException($"VAE training: batch size must be >= 1 (got {BatchSize})");
        if (!(Beta >= 0) || !double.IsFinite(Beta))
            throw new InfoGpuException($"VAE training: beta must be >= 0 (got {Beta})");
        if (Epochs < 1)
            throw new InfoGpuException($"VAE training: epochs must be >= 1 (got {Epochs})");
        if (Hidden < 1 || Latent < 1)
            throw new InfoGpuException($"VAE training: hidden units and latent dimensions must be >= 1 (got {Hidden}, {Latent})");
        if (CheckEvery < 1)
            throw new InfoGpuException($"VAE training: the loss check interval must be >= 1 step (got {CheckEvery})");
    }
}

/// <summary>One epoch's figures; losses are per image in nats (negative ELBO = reconstruction + beta KL).</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Seconds">Wall time of the training steps (test evaluation excluded).</param>
/// <param name="TrainLoss">Sum of the batch losses during the epoch / training images (the parameters move during the epoch).</param>
/// <param name="TestLoss">Mean (BCE + beta KL) per test image, z sampled (NaN without test images).</param>
/// <param name="TestReconstruction">Mean BCE per test image.</param>
/// <param name="TestKl">Mean analytic KL per test image.</param>
public sealed record VaeEpochMetrics(int Epoch, double Seconds, double TrainLoss, double TestLoss, double TestReconstruction, double TestKl)
    : IEpochMetrics<VaeEpochMetrics>
{
    private static readonly string[] Names = ["epoch", "seconds", "train_loss", "test_loss", "test_reconstruction", "test_kl"];

    /// <inheritdoc/>
    public static IReadOnlyList<string> ColumnNames => Names;

    /// <inheritdoc/>
    public static VaeEpochMetrics FromColumns(ReadOnlySpan<double> v) => new((int)v[0], v[1], v[2], v[3], v[4], v[5]);

    /// <inheritdoc/>
    public double[] ToColumns() => [Epoch, Seconds, TrainLoss, TestLoss, TestReconstruction, TestKl];
}

/// <summary>
/// Trains a <see cref="Vae"/> with Adam on mini-batches: loss per batch = sum over its images of
/// BCE(x, sigmoid(logits)) + beta KL(q(z|x) || N(0, I)), the gradient of that sum, one Adam step
/// per batch (as PyTorch's examples/vae). Shuffles, initialisation and noise come from Philox,
/// so the same seed gives the same run, and a checkpoint resumes it bit for bit.
/// All device buffers are made here; a training step allocates none, copies nothing to or from
/// the host and does not wait for the device, except the steps that read the loss
/// (<see cref="VaeTrainerOptions.CheckEvery"/>).
/// </summary>
/// <remarks>
/// The training loss stays on the device: each step copies its rows' cross-entropy and KL (on
/// the device) into a buffer of the whole epoch, and the host reads the rows it has not read
/// yet at the trainer's first step, every <see cref="VaeTrainerOptions.CheckEvery"/> steps, at a
/// checkpoint and at the epoch's end, summing them exactly as it did when it read every step:
/// per batch a float64 sum over its rows, in row order, of BCE + beta KL, and the batch sums in
/// batch order. So the loss is the same to the bit on every backend as before, and no float64
/// runs on the device.
/// </remarks>
public sealed partial class VaeTrainer : ITrainer<VaeEpochMetrics>
{
    internal const ulong TrainStream = 21, TestStream = 22;

    private readonly ComputeDevice device;
    private readonly VaeNetwork net;
    private readonly DeviceBuffer<float> train, test;
    private readonly DeviceBuffer<int> trainOrder, testOrder;
    private readonly DeviceBuffer<float>[] m, v;

    /// <summary>Per batch b of the epoch, from 2 start(b): its rows' cross-entropy, then their KL.</summary>
    private readonly DeviceBuffer<float> epochLosses;
    private readonly float[] hostLosses;
    private readonly int[] order;
    private int lossesRead;
    private bool checkedOnce;
    private bool orderReady;
    private int orderEpoch = -1;
    private long step;
    private int epoch;
    private int epochStep;
    private double partialLoss;
    private double partialSeconds;
    private readonly DataParallel parallel;
    private readonly int[] localShards;
    private readonly float[] partials, summed, localPartial;
    private readonly int gradientLength;

    /// <summary>Prepares training of <paramref name="vae"/> (its parameters are updated in place by <see cref="Synchronize"/> and at each epoch's end).</summary>
    /// <param name="device">Where to train.</param>
    /// <param name="vae">The model; its current parameters are the start.</param>
    /// <param name="trainImages">Training images, rows of <see cref="Vae.Input"/> values in [0, 1].</param>
    /// <param name="testImages">Test images, same layout (may be empty).</param>
    /// <param name="options">Settings.</param>
    /// <param name="parallel">
    /// How each batch is split over shards or MPI ranks (null: not split): each shard's rows take the
    /// noise the unsplit batch gives them, and the shards' gradient sums are added in shard order
    /// before the Adam step, so an N-rank job equals one process with N shards bit for bit.
    /// </param>
    public VaeTrainer(ComputeDevice device, Vae vae, ReadOnlySpan<float> trainImages, ReadOnlySpan<float> testImages, VaeTrainerOptions options, DataParallel? parallel = null)
    {
        options.Validate();
        parallel ??= DataParallel.None;
        parallel.Validate();
        if (options.BatchSize < parallel.Shards)
            throw new InfoGpuException($"VAE training: a batch of {options.BatchSize} images cannot be split into {parallel.Shards} shards; give --batch >= {parallel.Shards}");
        int d = vae.Input;
        if (trainImages.Length == 0 || trainImages.Length % d != 0)
            throw new InfoGpuException($"VAE training data: {trainImages.Length} values do not make rows of {d} pixels");
        if (testImages.Length % d != 0)
            throw new InfoGpuException($"VAE test data: {testImages.Length} values do not make rows of {d} pixels");
        Check(trainImages, d, "training");
        Check(testImages, d, "test");
        this.device = device;
        Vae = vae;
        Options = options;
        TrainCount = trainImages.Length / d;
        TestCount = testImages.Length / d;
        net = new VaeNetwork(device, vae, options.BatchSize, training: true);
        train = device.Allocate<float>(trainImages.Length);
        test = device.Allocate<float>(Math.Max(testImages.Length, 1));
        var prepared = Prepare(trainImages);
        TrainFingerprint = DataFingerprint.Of(prepared);
        train.CopyFrom(prepared);
        if (testImages.Length > 0)
            test.CopyFrom(Prepare(testImages));
        // The epoch's order is uploaded once per epoch; the test images go in file order.
        trainOrder = device.Allocate<int>(TrainCount);
        testOrder = device.Allocate<int>(Math.Max(TestCount, 1));
        testOrder.CopyFrom(Enumerable.Range(0, TestCount).ToArray());
        m = vae.Tensors.Select(t => device.Allocate<float>(t.Values.Length)).ToArray();
        v = vae.Tensors.Select(t => device.Allocate<float>(t.Values.Length)).ToArray();
        epochLosses = device.Allocate<float>(2L * TrainCount);
        hostLosses = new float[2 * TrainCount];
        order = new int[TrainCount];
        this.parallel = parallel;
        localShards = [.. parallel.LocalShards];
        gradientLength = vae.Tensors.Sum(t => t.Values.Length);
        // A shard's exchange: its gradient sums, then the batch's per-row losses (zero outside its rows).
        int exchange = parallel.IsSharded ? gradientLength + 2 * options.BatchSize : 0;
        partials = new float[(long)exchange * parallel.Shards];
        summed = new float[exchange];
        localPartial = parallel.Cluster.IsDistributed ? new float[exchange] : [];
    }

    /// <summary>Prepares training on a data set's training and test images (see the other constructor).</summary>
    /// <param name="device">Where to train.</param>
    /// <param name="vae">The model; its current parameters are the start.</param>
    /// <param name="data">Training and test images.</param>
    /// <param name="options">Settings.</param>
    /// <param name="parallel">How each batch is split over shards or MPI ranks (null: not split).</param>
    public VaeTrainer(ComputeDevice device, Vae vae, Dataset data, VaeTrainerOptions options, DataParallel? parallel = null)
        : this(device, vae, CheckPixels(data, vae).Train.Images, data.Test.Images, options, parallel)
    {
    }

    private static Dataset CheckPixels(Dataset data, Vae vae) =>
        data.Train.Pixels == vae.Input ? data : throw new InfoGpuException($"the images have {data.Train.Pixels} pixels but the VAE has {vae.Input} inputs");

    /// <summary>The model trained (its host parameters are refreshed at each epoch's end and by <see cref="Synchronize"/>).</summary>
    public Vae Vae { get; }

    /// <summary>The settings.</summary>
    public VaeTrainerOptions Options { get; private set; }

    /// <summary>Training images.</summary>
    public int TrainCount { get; }

    /// <summary>SHA-256 of the training images as trained on (after binarization), kept in checkpoints.</summary>
    internal string TrainFingerprint { get; }

    /// <summary>Test images.</summary>
    public int TestCount { get; }

    /// <summary>Completed epochs.</summary>
    public int Epoch => epoch;

    /// <summary>Adam steps taken.</summary>
    public long Step => step;

    /// <summary>The device this trainer runs on.</summary>
    public ComputeDevice Device => device;

    private static void Check(ReadOnlySpan<float> x, int pixels, string what)
    {
        for (int i = 0; i < x.Length; i++)
        {
            if (!(x[i] >= 0f && x[i] <= 1f))
                throw new InfoGpuException($"VAE {what} data: value {x[i]} of image {i / pixels} (pixel {i % pixels}) is outside [0, 1]; scale pixels by 1/255");
        }
    }

    private float[] Prepare(ReadOnlySpan<float> x)
    {
        var a = x.ToArray();
        if (Options.Binarize)
        {
            for (int i = 0; i < a.Length; i++)
                a[i] = a[i] > 0.5f ? 1f : 0f;
        }
        return a;
    }

    /// <inheritdoc/>
    public int StepInEpoch => epochStep;

    /// <summary>Updates per epoch: ceil(training images / batch).</summary>
    public int StepsPerEpoch => (TrainCount + Options.BatchSize - 1) / Options.BatchSize;

    /// <inheritdoc/>
    public string ModelName => "VAE";

    /// <summary>
    /// The learning rate of the next steps (<c>LearningRate</c> of the options, kept in checkpoints):
    /// a resumed run may lower it, e.g. after a divergence.
    /// </summary>
    public double LearningRate
    {
        get => Options.LearningRate;
        set => Options = Options with { LearningRate = TrainerExtensions.CheckedLearningRate(value) };
    }

    /// <summary>The epochs the run aims at (<see cref="VaeTrainerOptions.Epochs"/>, kept in checkpoints).</summary>
    public int Epochs
    {
        get => Options.Epochs;
        set => Options = Options with { Epochs = TrainerExtensions.CheckedEpochs(value) };
    }

    /// <summary>
    /// One Adam step on the next mini-batch of the epoch's shuffled order (Philox Fisher-Yates of
    /// (seed, epoch)): encode, sample z, decode, loss and gradient of the batch's summed
    /// BCE + beta KL, update.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A batch's loss is not finite (found when the loss is read: see <see cref="VaeTrainerOptions.CheckEvery"/>); the message names that batch's step and the first tensor with NaN or infinite values.</exception>
    public void TrainStep()
    {
        int batch = Options.BatchSize, d = Vae.Input, l = Vae.Latent;
        if (epochStep >= StepsPerEpoch)
            throw new InvalidOperationException("the epoch's steps are done: close it with EndEpoch");
        long t0 = Stopwatch.GetTimestamp();
        if (!orderReady || (epochStep == 0 && orderEpoch != epoch))
        {
            orderEpoch = epoch;
            Shuffle.Permute(order, Options.Seed, (ulong)epoch);
            trainOrder.CopyFrom(order);
            orderReady = true;
        }
        float beta = (float)Options.Beta;
        int start = epochStep * batch;
        int rows = Math.Min(batch, TrainCount - start);
        if (parallel.IsSharded)
        {
            ShardedGradient(start, rows, beta);
        }
        else
        {
            device.Backend.GatherRows(train, trainOrder, net.X, start, rows, d, 0);
            net.Encode(rows);
            net.Sample(rows, 1, Options.Seed, TrainStream, step * batch * l);
            net.Decode(rows);
            net.Loss(rows, net.X, 1, gradient: true);
            net.ComputeKl(rows);
            net.Backward(rows, beta);
            device.Backend.CopyBuffer(net.Reconstruction, 0, epochLosses, 2L * start, rows);
            device.Backend.CopyBuffer(net.Kl, 0, epochLosses, 2L * start + rows, rows);
        }
        // Divergence is found when the loss is read, before this step's update: at once at a
        // check step (as when every step was checked), else at the next check, up to
        // CheckEvery - 1 steps (or the epoch's end) later; the message still names the step
        // whose loss was the first not finite.
        if (!checkedOnce || (step + 1) % Options.CheckEvery == 0)
        {
            checkedOnce = true;
            ReadLosses(epochStep + 1, step + 1);
        }
        AdamStep();
        epochStep++;
        partialSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Closes the epoch: refreshes <see cref="Vae"/> and evaluates the test images (z sampled from the test stream, keyed by epoch).</summary>
    public VaeEpochMetrics EndEpoch()
    {
        if (epochStep < StepsPerEpoch)
            throw new InvalidOperationException($"{StepsPerEpoch - epochStep} steps of the epoch remain: run them with TrainStep before EndEpoch");
        // The steps return once their work is queued: the read waits for it, so it is timed.
        long t0 = Stopwatch.GetTimestamp();
        device.Synchronize();
        ReadLosses(StepsPerEpoch, step);
        double seconds = partialSeconds + Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double trainLoss = partialLoss / TrainCount;
        epoch++;
        epochStep = 0;
        partialLoss = 0;
        partialSeconds = 0;
        lossesRead = 0;
        net.Download();
        var (recon, kl) = TestCount > 0 ? EvaluateTest() : (double.NaN, double.NaN);
        return new VaeEpochMetrics(epoch, seconds, trainLoss, recon + Options.Beta * kl, recon, kl);
    }

    /// <summary>Copies the device parameters into <see cref="Vae"/> (synchronizes); done at every epoch's end anyway.</summary>
    public void Synchronize() => net.Download();

    /// <summary>Mean BCE and KL per test image, batches in file order, z sampled from Philox (test stream, keyed by epoch).</summary>
    private (double Reconstruction, double Kl) EvaluateTest()
    {
        int batch = Options.BatchSize, d = Vae.Input, l = Vae.Latent;
        double recon = 0, kl = 0;
        for (int start = 0; start < TestCount; start += batch)
        {
            int rows = Math.Min(batch, TestCount - start);
            device.Backend.GatherRows(test, testOrder, net.X, start, rows, d, 0);
            net.AddSampledLoss(rows, Options.Seed, TestStream, ((long)epoch * TestCount + start) * l, ref recon, ref kl);
        }
        return (recon / TestCount, kl / TestCount);
    }

    /// <summary>
    /// Reads the losses of the epoch's batches from the first unread one to <paramref name="batches"/>
    /// (one copy, which waits for the device) and adds them to the epoch's loss: per batch the
    /// float64 sum of BCE + beta KL over its rows in order, then the batch sums in batch order.
    /// </summary>
    /// <param name="batches">Batches of the epoch whose losses are on the device.</param>
    /// <param name="foundAt">The step (1-based, over the run) named as the one that found a divergence.</param>
    /// <exception cref="TrainingDivergedException">A batch's loss is not finite.</exception>
    private void ReadLosses(int batches, long foundAt) => ReadLosses(batches, foundAt, epochLosses, 0);

    /// <summary>As <see cref="ReadLosses(int, long)"/>, from the epoch's losses that start at <paramref name="offset"/> of <paramref name="source"/> (a grid's stacked losses).</summary>
    private void ReadLosses(int batches, long foundAt, DeviceBuffer<float> source, long offset)
    {
        int batch = Options.BatchSize;
        int from = lossesRead * batch, to = Math.Min(batches * batch, TrainCount);
        if (to <= from)
            return;
        source.CopyTo(hostLosses.AsSpan(2 * from, 2 * (to - from)), offset + (2L * from));
        float beta = (float)Options.Beta;
        for (int b = lossesRead; b < batches; b++)
        {
            int start = b * batch, rows = Math.Min(batch, TrainCount - start);
            var recon = hostLosses.AsSpan(2 * start, rows);
            var kl = hostLosses.AsSpan(2 * start + rows, rows);
            double s = 0;
            for (int r = 0; r < rows; r++)
                s += recon[r] + (double)beta * kl[r];
            if (!double.IsFinite(s))
                throw Diverged(b, foundAt);
            partialLoss += s;
            lossesRead = b + 1;
        }
    }

    /// <summary>
    /// The batch's gradient as the shards' gradient sums added in shard order (this process's shards,
    /// or every rank's), and its rows' losses into the epoch's buffer. Shard s takes rows
    /// <see cref="Cluster.ShareOf"/>(rows, shards, s) with the noise those rows have in the unsplit batch.
    /// </summary>
    private void ShardedGradient(int start, int rows, float beta)
    {
        int batch = Options.BatchSize, d = Vae.Input, l = Vae.Latent, length = summed.Length;
        for (int i = 0; i < localShards.Length; i++)
        {
            int s = localShards[i];
            var (d0, dn) = Cluster.ShareOf(rows, parallel.Shards, s);
            var slice = parallel.Cluster.IsDistributed ? localPartial.AsSpan() : partials.AsSpan(s * length, length);
            slice.Clear();
            if (dn == 0)
                continue;
            device.Backend.GatherRows(train, trainOrder, net.X, start + d0, dn, d, 0);
            net.Encode(dn);
            net.Sample(dn, 1, Options.Seed, TrainStream, (step * batch + d0) * l);
            net.Decode(dn);
            net.Loss(dn, net.X, 1, gradient: true);
            net.ComputeKl(dn);
            net.Backward(dn, beta);
            int at = 0;
            foreach (var g in net.Gradients)
            {
                g.CopyTo(slice.Slice(at, (int)g.Length));
                at += (int)g.Length;
            }
            net.Reconstruction.CopyTo(slice.Slice(gradientLength + d0, dn));
            net.Kl.CopyTo(slice.Slice(gradientLength + rows + d0, dn));
        }
        if (parallel.Cluster.IsDistributed)
            parallel.Cluster.AllGather(localPartial, partials);
        // Losses sit at distinct places in the shards' slices (zeros elsewhere): the ordered sum keeps them exactly.
        Cluster.AddInOrder(partials, summed, parallel.Shards);
        int from = 0;
        foreach (var g in net.Gradients)
        {
            g.CopyFrom(summed.AsSpan(from, (int)g.Length));
            from += (int)g.Length;
        }
        epochLosses.CopyFrom(summed.AsSpan(gradientLength, 2 * rows), 2L * start);
    }

    private void AdamStep()
    {
        step++;
        const double b1 = 0.9, b2 = 0.999;
        var args = new AdamArgs
        {
            OneMinusBeta1 = (float)(1 - b1),
            Beta2 = (float)b2,
            OneMinusBeta2 = (float)(1 - b2),
            StepSize = (float)(Options.LearningRate / (1 - Math.Pow(b1, step))),
            Bias2Sqrt = (float)Math.Sqrt(1 - Math.Pow(b2, step)),
            Epsilon = 1e-8f,
        };
        device.Backend.VaeAdam(net.Parameters, net.Gradients, m, v, args);
    }

    /// <summary>The error for batch <paramref name="batchInEpoch"/> of the current epoch, whose loss is not finite, found at step <paramref name="foundAt"/>.</summary>
    private TrainingDivergedException Diverged(int batchInEpoch, long foundAt)
    {
        // The steps of the epoch before this batch's, plus its own: its 1-based number over the run.
        long at = step - epochStep + batchInEpoch + 1;
        var named = new List<(string, DeviceBuffer<float>)>
        {
            ("encoder statistics (mu, log-variance)", net.Stats),
            ("latent sample z", net.Z),
            ("decoder logits gradient", net.Logits),
        };
        for (int t = 0; t < net.Parameters.Length; t++)
            named.Add(($"parameter {Vae.Tensors[t].Name}", net.Parameters[t]));
        for (int t = 0; t < net.Gradients.Length; t++)
            named.Add(($"gradient of {Vae.Tensors[t].Name}", net.Gradients[t]));
        string what = "the loss";
        foreach (var (name, buffer) in named)
        {
            if (buffer.ToArray().Any(x => !float.IsFinite(x)))
            {
                what = name;
                break;
            }
        }
        string found = foundAt == at
            ? $"{what} has NaN or infinite values"
            : $"its loss is not finite, found at step {foundAt} (the loss is read every {Options.CheckEvery} steps and at the epoch's end), when {what} has NaN or infinite values";
        return new TrainingDivergedException($"VAE training diverged at step {at} (epoch {epoch + 1}, batch {batchInEpoch + 1}): {found}; lower --lr or --beta");
    }

    /// <summary>Frees the device buffers in reverse order of allocation.</summary>
    public void Dispose()
    {
        epochLosses.Dispose();
        for (int t = v.Length - 1; t >= 0; t--)
        {
            v[t].Dispose();
            m[t].Dispose();
        }
        testOrder.Dispose();
        trainOrder.Dispose();
        test.Dispose();
        train.Dispose();
        net.Dispose();
    }
}
