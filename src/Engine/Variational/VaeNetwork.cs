using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;

namespace InfoGpu.Variational;

/// <summary>
/// A <see cref="Vae"/> on a device with workspaces for up to <see cref="Capacity"/> rows: the
/// forward pass (four GEMMs with fused bias and ReLU, the reparameterization), the loss and the
/// backward pass (GEMMs dX = dY W and dW = dY^T X, column sums for the biases). Everything is
/// allocated here; the passes allocate nothing on the device.
/// </summary>
internal sealed class VaeNetwork : IDisposable
{
    private readonly IComputeBackend backend;
    private readonly GemmEpilogue[] forward;
    private readonly List<IDisposable> owned = [];
    private readonly float[] hostRecon, hostKl;

    public VaeNetwork(ComputeDevice device, Vae vae, int capacity, bool training)
    {
        Device = device;
        backend = device.Backend;
        Vae = vae;
        Capacity = capacity;
        int d = vae.Input, h = vae.Hidden, l = vae.Latent;
        Parameters = vae.Tensors.Select(t => Own(device.Allocate<float>(t.Values.Length))).ToArray();
        if (training)
        {
            Gradients = vae.Tensors.Select(t => Own(device.Allocate<float>(t.Values.Length))).ToArray();
            DStats = Own(device.Allocate<float>((long)capacity * 2 * l));
            Dz = Own(device.Allocate<float>((long)capacity * l));
            Dh = Own(device.Allocate<float>((long)capacity * h));
        }
        X = Own(device.Allocate<float>((long)capacity * d));
        H1 = Own(device.Allocate<float>((long)capacity * h));
        Stats = Own(device.Allocate<float>((long)capacity * 2 * l));
        Eps = Own(device.Allocate<float>((long)capacity * l));
        Z = Own(device.Allocate<float>((long)capacity * l));
        H3 = Own(device.Allocate<float>((long)capacity * h));
        Logits = Own(device.Allocate<float>((long)capacity * d));
        Reconstruction = Own(device.Allocate<float>(capacity));
        Kl = Own(device.Allocate<float>(capacity));
        LatentWeight = Own(device.Allocate<float>(capacity));
        hostRecon = new float[capacity];
        hostKl = new float[capacity];
        forward =
        [
            new GemmEpilogue { Bias = Parameters[1], Activation = GemmActivation.Relu },
            new GemmEpilogue { Bias = Parameters[3] },
            new GemmEpilogue { Bias = Parameters[5], Activation = GemmActivation.Relu },
            new GemmEpilogue { Bias = Parameters[7] },
        ];
        Upload();
    }

    public ComputeDevice Device { get; }

    public Vae Vae { get; }

    public int Capacity { get; }

    public DeviceBuffer<float>[] Parameters { get; }

    public DeviceBuffer<float>[] Gradients { get; } = [];

    /// <summary>Input rows (capacity x D).</summary>
    public DeviceBuffer<float> X { get; }

    public DeviceBuffer<float> H1 { get; }

    /// <summary>[mu, log sigma^2] rows (capacity x 2L).</summary>
    public DeviceBuffer<float> Stats { get; }

    public DeviceBuffer<float> Eps { get; }

    public DeviceBuffer<float> Z { get; }

    public DeviceBuffer<float> H3 { get; }

    /// <summary>Decoder logits; after <see cref="Loss"/> with gradients, d loss / d logits.</summary>
    public DeviceBuffer<float> Logits { get; }

    /// <summary>Per-row Bernoulli cross-entropy (nats).</summary>
    public DeviceBuffer<float> Reconstruction { get; }

    /// <summary>Per-row analytic KL(q(z|x) || N(0, I)) (nats).</summary>
    public DeviceBuffer<float> Kl { get; }

    /// <summary>Per-row log p(z) - log q(z | x) of the sampled z.</summary>
    public DeviceBuffer<float> LatentWeight { get; }

    public DeviceBuffer<float> DStats { get; } = null!;

    public DeviceBuffer<float> Dz { get; } = null!;

    public DeviceBuffer<float> Dh { get; } = null!;

    private DeviceBuffer<float> Own(DeviceBuffer<float> b)
    {
        owned.Add(b);
        return b;
    }

    /// <summary>Copies the host parameters of <see cref="Vae"/> to the device.</summary>
    public void Upload()
    {
        for (int t = 0; t < Parameters.Length; t++)
            Parameters[t].CopyFrom(Vae.Tensors[t].Values);
    }

    /// <summary>Copies the device parameters into <see cref="Vae"/> (synchronizes).</summary>
    public void Download()
    {
        for (int t = 0; t < Parameters.Length; t++)
            Parameters[t].CopyTo(Vae.Tensors[t].Values);
    }

    /// <summary>h1 = relu(x W1^T + b1); stats = h1 W2^T + b2 for the first <paramref name="rows"/> rows of <see cref="X"/>.</summary>
    public void Encode(int rows)
    {
        int d = Vae.Input, h = Vae.Hidden, l2 = 2 * Vae.Latent;
        Gemm.Multiply(GemmLayout.NT, (X, rows, d), (Parameters[0], h, d), (H1, rows, h), forward[0]);
        Gemm.Multiply(GemmLayout.NT, (H1, rows, h), (Parameters[2], l2, h), (Stats, rows, l2), forward[1]);
    }

    /// <summary>z = mu + sigma eps for <paramref name="rows"/> rows, statistics row r / repeat; eps = Philox normals from <paramref name="offset"/>.</summary>
    public void Sample(int rows, int repeat, ulong seed, ulong stream, long offset) =>
        backend.VaeReparameterize(Stats, Eps, Z, rows, Vae.Latent, repeat, seed, stream, offset);

    /// <summary>Uses mu as z (no noise): the decoder's mean reconstruction.</summary>
    public void UseMean(int rows)
    {
        // z = mu + exp(lv / 2) * 0: a reparameterization with eps = 0 would need a kernel; copying mu row by row is enough for figures.
        int l = Vae.Latent;
        var s = new float[rows * 2 * l];
        Stats.CopyTo(s);
        var z = new float[rows * l];
        for (int r = 0; r < rows; r++)
            Array.Copy(s, r * 2 * l, z, r * l, l);
        Z.CopyFrom(z);
    }

    /// <summary>h3 = relu(z W3^T + b3); logits = h3 W4^T + b4.</summary>
    public void Decode(int rows)
    {
        int d = Vae.Input, h = Vae.Hidden, l = Vae.Latent;
        Gemm.Multiply(GemmLayout.NT, (Z, rows, l), (Parameters[4], h, l), (H3, rows, h), forward[2]);
        Gemm.Multiply(GemmLayout.NT, (H3, rows, h), (Parameters[6], d, h), (Logits, rows, d), forward[3]);
    }

    /// <summary>Per-row cross-entropy against <paramref name="targets"/> (row r / repeat); with <paramref name="gradient"/>, the logits become d BCE / d logits.</summary>
    public void Loss(int rows, DeviceBuffer<float> targets, int repeat, bool gradient) =>
        backend.VaeCrossEntropy(Logits, targets, Reconstruction, rows, Vae.Input, repeat, gradient);

    /// <summary>
    /// The ELBO pass over the first <paramref name="rows"/> rows of <see cref="X"/>: encode, one
    /// z per row from Philox (<paramref name="seed"/>, <paramref name="stream"/>, draws from
    /// <paramref name="drawOffset"/>), decode, BCE and analytic KL per row, added in row order to
    /// the running float64 sums (synchronizes). Training's test loss and the analysis' ELBO both use it.
    /// </summary>
    public void AddSampledLoss(int rows, ulong seed, ulong stream, long drawOffset, ref double reconstruction, ref double kl)
    {
        Encode(rows);
        Sample(rows, 1, seed, stream, drawOffset);
        Decode(rows);
        Loss(rows, X, 1, gradient: false);
        ComputeKl(rows);
        Reconstruction.CopyTo(hostRecon.AsSpan(0, rows));
        Kl.CopyTo(hostKl.AsSpan(0, rows));
        for (int r = 0; r < rows; r++)
        {
            reconstruction += hostRecon[r];
            kl += hostKl[r];
        }
    }

    /// <summary>Per-row analytic KL of the encoded rows.</summary>
    public void ComputeKl(int rows) => backend.VaeKl(Stats, Kl, rows, Vae.Latent);

    /// <summary>log p(z) - log q(z | x) per sampled row.</summary>
    public void LatentLogWeight(int rows, int repeat) =>
        backend.VaeLatentLogWeight(Stats, Eps, Z, LatentWeight, rows, Vae.Latent, repeat);

    /// <summary>
    /// Gradients of sum_rows (BCE + beta KL) into <see cref="Gradients"/>, after <see cref="Encode"/>,
    /// <see cref="Sample"/>, <see cref="Decode"/> and <see cref="Loss"/> with gradients.
    /// </summary>
    public void Backward(int rows, float beta)
    {
        int d = Vae.Input, h = Vae.Hidden, l = Vae.Latent, l2 = 2 * l;
        var g = Gradients;
        var p = Parameters;
        var none = GemmEpilogue.None;
        // Decoder output layer: dW4 = dLogits^T h3, db4 = column sums, dh3 = dLogits W4.
        Gemm.Multiply(GemmLayout.TN, (Logits, rows, d), (H3, rows, h), (g[6], d, h), none);
        backend.VaeColumnSums(Logits, g[7], rows, d);
        Gemm.Multiply(GemmLayout.NN, (Logits, rows, d), (p[6], d, h), (Dh, rows, h), none);
        backend.VaeReluBackward(Dh, H3, g[5], rows, h);
        // Decoder hidden layer: dW3 = dh3^T z, dz = dh3 W3.
        Gemm.Multiply(GemmLayout.TN, (Dh, rows, h), (Z, rows, l), (g[4], h, l), none);
        Gemm.Multiply(GemmLayout.NN, (Dh, rows, h), (p[4], h, l), (Dz, rows, l), none);
        // Through z = mu + sigma eps, plus beta KL.
        backend.VaeReparameterizeBackward(Stats, Eps, Dz, DStats, rows, l, beta);
        // Encoder heads: dW2 = dStats^T h1, db2, dh1 = dStats W2.
        Gemm.Multiply(GemmLayout.TN, (DStats, rows, l2), (H1, rows, h), (g[2], l2, h), none);
        backend.VaeColumnSums(DStats, g[3], rows, l2);
        Gemm.Multiply(GemmLayout.NN, (DStats, rows, l2), (p[2], l2, h), (Dh, rows, h), none);
        backend.VaeReluBackward(Dh, H1, g[1], rows, h);
        // Encoder hidden layer: dW1 = dh1^T x.
        Gemm.Multiply(GemmLayout.TN, (Dh, rows, h), (X, rows, d), (g[0], h, d), none);
    }

    public void Dispose()
    {
        for (int i = owned.Count - 1; i >= 0; i--)
            owned[i].Dispose();
    }
}
