using System.Diagnostics;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Kernels;

namespace InfoGpu.Variational;

/// <summary>Settings of VAE training (PyTorch's examples/vae defaults).</summary>
/// <param name="LearningRate">Adam step size (betas 0.9/0.999, eps 1e-8 as torch.optim.Adam).</param>
/// <param name="BatchSize">Mini-batch size; the last batch of an epoch may be smaller.</param>
/// <param name="Beta">Weight of the KL term (1: the plain VAE; other values: beta-VAE).</param>
/// <param name="Epochs">Passes over the training set the caller intends (kept in checkpoints).</param>
/// <param name="Seed">Philox seed of the initialisation, the shuffles and the reparameterization noise.</param>
/// <param name="Binarize">Threshold the images at 0.5 (default: grey levels in [0, 1] as Bernoulli targets).</param>
public sealed record VaeTrainerOptions(
    double LearningRate = 1e-3,
    int BatchSize = 128,
    double Beta = 1,
    int Epochs = 10,
    ulong Seed = 1,
    bool Binarize = false)
{
    internal void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new InfoGpuException($"VAE training: learning rate must be > 0 (got {LearningRate})");
        if (BatchSize < 1)
            throw new InfoGpuException($"VAE training: batch size must be >= 1 (got {BatchSize})");
        if (!(Beta >= 0) || !double.IsFinite(Beta))
            throw new InfoGpuException($"VAE training: beta must be >= 0 (got {Beta})");
        if (Epochs < 1)
            throw new InfoGpuException($"VAE training: epochs must be >= 1 (got {Epochs})");
    }
}

/// <summary>One epoch's figures; losses are per image in nats (negative ELBO = reconstruction + beta KL).</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Seconds">Wall time of the training steps (test evaluation excluded).</param>
/// <param name="TrainLoss">Sum of the batch losses during the epoch / training images (the parameters move during the epoch).</param>
/// <param name="TestLoss">Mean (BCE + beta KL) per test image, z sampled.</param>
/// <param name="TestReconstruction">Mean BCE per test image.</param>
/// <param name="TestKl">Mean analytic KL per test image.</param>
/// <param name="Completed">False when cancellation stopped the epoch early (the test figures are then NaN).</param>
public readonly record struct VaeEpoch(int Epoch, double Seconds, double TrainLoss, double TestLoss, double TestReconstruction, double TestKl, bool Completed);

/// <summary>
/// Trains a <see cref="Vae"/> with Adam on mini-batches: loss per batch = sum over its images of
/// BCE(x, sigmoid(logits)) + beta KL(q(z|x) || N(0, I)), the gradient of that sum, one Adam step
/// per batch (as PyTorch's examples/vae). Shuffles, initialisation and noise come from Philox,
/// so the same seed gives the same run, and a checkpoint resumes it bit for bit.
/// All device buffers are made here; a training step allocates none.
/// </summary>
public sealed partial class VaeTrainer : IDisposable
{
    internal const ulong TrainStream = 21, TestStream = 22;

    private readonly ComputeDevice device;
    private readonly VaeNetwork net;
    private readonly DeviceBuffer<float> train, test;
    private readonly DeviceBuffer<int> indices;
    private readonly DeviceBuffer<float>[] m, v;
    private readonly float[] hostRecon, hostKl;
    private readonly int[] hostIndex;
    private readonly int[] order;
    private bool orderReady;
    private int orderEpoch = -1;
    private long step;
    private int epoch;
    private int epochStep;
    private double partialLoss;
    private double partialSeconds;

    /// <summary>Prepares training of <paramref name="vae"/> (its parameters are updated in place by <see cref="Synchronize"/> and at each epoch's end).</summary>
    /// <param name="device">Where to train.</param>
    /// <param name="vae">The model; its current parameters are the start.</param>
    /// <param name="trainImages">Training images, rows of <see cref="Vae.Input"/> values in [0, 1].</param>
    /// <param name="testImages">Test images, same layout (may be empty).</param>
    /// <param name="options">Settings.</param>
    public VaeTrainer(ComputeDevice device, Vae vae, ReadOnlySpan<float> trainImages, ReadOnlySpan<float> testImages, VaeTrainerOptions options)
    {
        options.Validate();
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
        train.CopyFrom(Prepare(trainImages));
        if (testImages.Length > 0)
            test.CopyFrom(Prepare(testImages));
        indices = device.Allocate<int>(options.BatchSize);
        m = vae.Tensors.Select(t => device.Allocate<float>(t.Values.Length)).ToArray();
        v = vae.Tensors.Select(t => device.Allocate<float>(t.Values.Length)).ToArray();
        hostRecon = new float[options.BatchSize];
        hostKl = new float[options.BatchSize];
        hostIndex = new int[options.BatchSize];
        order = new int[TrainCount];
    }

    /// <summary>Prepares training on a data set's training and test images (see the other constructor).</summary>
    public VaeTrainer(ComputeDevice device, Vae vae, Dataset data, VaeTrainerOptions options)
        : this(device, vae, CheckPixels(data, vae).Train.Images, data.Test.Images, options)
    {
    }

    private static Dataset CheckPixels(Dataset data, Vae vae) =>
        data.Train.Pixels == vae.Input ? data : throw new InfoGpuException($"the images have {data.Train.Pixels} pixels but the VAE has {vae.Input} inputs");

    /// <summary>The model trained (its host parameters are refreshed at each epoch's end and by <see cref="Synchronize"/>).</summary>
    public Vae Vae { get; }

    /// <summary>The settings.</summary>
    public VaeTrainerOptions Options { get; private set; }

    /// <summary>Sets the number of epochs the run aims for (kept in checkpoints), e.g. to extend a resumed run.</summary>
    public void SetEpochs(int epochs) => Options = Options with { Epochs = epochs >= 1 ? epochs : throw new InfoGpuException($"epochs must be >= 1 (got {epochs})") };

    /// <summary>Training images.</summary>
    public int TrainCount { get; }

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

    /// <summary>
    /// One pass over the training set in a shuffled order (Philox Fisher-Yates of (seed, epoch)),
    /// then the test loss. With <paramref name="cancel"/> signalled, stops after the current step
    /// and returns an incomplete epoch (checkpoint it; training resumes at the next step); so it
    /// does after every step whose number (<see cref="Step"/>, over the whole run) is a multiple
    /// of <paramref name="stopEvery"/>, when positive and the epoch is unfinished: the next call
    /// continues the epoch. Throws <see cref="InfoGpuException"/> at the first non-finite loss,
    /// naming step and tensor.
    /// </summary>
    /// <param name="cancel">Stops training after the current step.</param>
    /// <param name="stopEvery">Return an incomplete epoch after every step numbered a multiple of this (0: never), e.g. to checkpoint every N steps.</param>
    public VaeEpoch TrainEpoch(CancellationToken cancel = default, int stopEvery = 0)
    {
        int batch = Options.BatchSize, d = Vae.Input, l = Vae.Latent;
        if (!orderReady || (epochStep == 0 && orderEpoch != epoch))
        {
            orderEpoch = epoch;
            Shuffle.Permute(order, Options.Seed, (ulong)epoch);
            orderReady = true;
        }
        int batches = (TrainCount + batch - 1) / batch;
        float beta = (float)Options.Beta;
        var sw = Stopwatch.StartNew();
        while (epochStep < batches)
        {
            int start = epochStep * batch;
            int rows = Math.Min(batch, TrainCount - start);
            indices.CopyFrom(order.AsSpan(start, rows));
            device.Backend.VaeGatherRows(train, indices, net.X, rows, d);
            net.Encode(rows);
            net.Sample(rows, 1, Options.Seed, TrainStream, step * batch * l);
            net.Decode(rows);
            net.Loss(rows, net.X, 1, gradient: true);
            net.ComputeKl(rows);
            net.Backward(rows, beta);
            double loss = BatchLoss(rows, beta);
            if (!double.IsFinite(loss))
                throw Diverged();
            AdamStep();
            partialLoss += loss;
            epochStep++;
            if ((cancel.IsCancellationRequested || (stopEvery > 0 && step % stopEvery == 0)) && epochStep < batches)
            {
                partialSeconds += sw.Elapsed.TotalSeconds;
                net.Download();
                return new VaeEpoch(epoch + 1, partialSeconds, partialLoss / TrainCount, double.NaN, double.NaN, double.NaN, false);
            }
        }
        double seconds = partialSeconds + sw.Elapsed.TotalSeconds;
        double trainLoss = partialLoss / TrainCount;
        epoch++;
        epochStep = 0;
        partialLoss = 0;
        partialSeconds = 0;
        net.Download();
        var (recon, kl) = TestCount > 0 ? EvaluateTest() : (double.NaN, double.NaN);
        return new VaeEpoch(epoch, seconds, trainLoss, recon + Options.Beta * kl, recon, kl, true);
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
            for (int r = 0; r < rows; r++)
                hostIndex[r] = start + r;
            indices.CopyFrom(hostIndex.AsSpan(0, rows));
            device.Backend.VaeGatherRows(test, indices, net.X, rows, d);
            net.Encode(rows);
            net.Sample(rows, 1, Options.Seed, TestStream, ((long)epoch * TestCount + start) * l);
            net.Decode(rows);
            net.Loss(rows, net.X, 1, gradient: false);
            net.ComputeKl(rows);
            net.Reconstruction.CopyTo(hostRecon.AsSpan(0, rows));
            net.Kl.CopyTo(hostKl.AsSpan(0, rows));
            for (int r = 0; r < rows; r++)
            {
                recon += hostRecon[r];
                kl += hostKl[r];
            }
        }
        return (recon / TestCount, kl / TestCount);
    }

    private double BatchLoss(int rows, float beta)
    {
        net.Reconstruction.CopyTo(hostRecon.AsSpan(0, rows));
        net.Kl.CopyTo(hostKl.AsSpan(0, rows));
        double s = 0;
        for (int r = 0; r < rows; r++)
            s += hostRecon[r] + (double)beta * hostKl[r];
        return s;
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
        for (int t = 0; t < m.Length; t++)
            device.Backend.VaeAdam(net.Parameters[t], net.Gradients[t], m[t], v[t], args);
    }

    private InfoGpuException Diverged()
    {
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
        return new InfoGpuException($"VAE training diverged at step {step + 1} (epoch {epoch + 1}, batch {epochStep + 1}): {what} has NaN or infinite values; lower --lr or --beta");
    }

    /// <summary>Frees the device buffers in reverse order of allocation.</summary>
    public void Dispose()
    {
        for (int t = v.Length - 1; t >= 0; t--)
        {
            v[t].Dispose();
            m[t].Dispose();
        }
        indices.Dispose();
        test.Dispose();
        train.Dispose();
        net.Dispose();
    }
}
