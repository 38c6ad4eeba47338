using InfoGpu.Kernels;

namespace InfoGpu.Variational;

/// <summary>One parameter tensor of a <see cref="Vae"/>: a row-major rows x cols matrix (cols = 1 for a bias).</summary>
public sealed record VaeTensor(string Name, float[] Values, int Rows, int Cols);

/// <summary>
/// A variational autoencoder with one hidden layer on each side (PyTorch's examples/vae):
/// encoder h1 = relu(W1 x + b1), [mu, log sigma^2] = W2 h1 + b2; decoder h3 = relu(W3 z + b3),
/// p(x | z) = Bernoulli(sigmoid(W4 h3 + b4)). Weights are stored as nn.Linear stores them,
/// out x in row-major; W2 holds fc21 (mu, rows 0..L-1) above fc22 (log-variance, rows L..2L-1).
/// </summary>
public sealed class Vae
{
    /// <summary>A VAE of the given sizes with every parameter zero; call <see cref="Initialize"/>.</summary>
    public Vae(int input = 784, int hidden = 400, int latent = 20)
    {
        if (input < 1 || hidden < 1 || latent < 1)
            throw new InfoGpuException($"VAE sizes must be >= 1 (input {input}, hidden {hidden}, latent {latent})");
        long largest = Math.Max((long)hidden * input, 2L * latent * hidden);
        if (largest > MaxTensorElements || 2L * latent > int.MaxValue)
            throw new InfoGpuException($"a {input}-{hidden}-{latent} VAE is too large: a weight matrix would hold {largest:N0} values, at most {MaxTensorElements:N0}");
        Input = input;
        Hidden = hidden;
        Latent = latent;
        Tensors =
        [
            new("fc1.weight", new float[(long)hidden * input], hidden, input),
            new("fc1.bias", new float[hidden], hidden, 1),
            new("fc2.weight", new float[2L * latent * hidden], 2 * latent, hidden),
            new("fc2.bias", new float[2 * latent], 2 * latent, 1),
            new("fc3.weight", new float[(long)hidden * latent], hidden, latent),
            new("fc3.bias", new float[hidden], hidden, 1),
            new("fc4.weight", new float[(long)input * hidden], input, hidden),
            new("fc4.bias", new float[input], input, 1),
        ];
    }

    /// <summary>The most values one weight matrix may hold (2^28, a GiB of float32).</summary>
    public const long MaxTensorElements = 1L << 28;

    /// <summary>Pixels per image (D).</summary>
    public int Input { get; }

    /// <summary>Hidden units of the encoder and of the decoder (H).</summary>
    public int Hidden { get; }

    /// <summary>Latent dimensions (L).</summary>
    public int Latent { get; }

    /// <summary>The parameters in a fixed order: fc1, fc2 (mu and log-variance heads), fc3, fc4; weight then bias.</summary>
    public IReadOnlyList<VaeTensor> Tensors { get; }

    /// <summary>Number of parameters.</summary>
    public long ParameterCount => Tensors.Sum(t => (long)t.Values.Length);

    /// <summary>A new VAE initialised by <see cref="Initialize"/>.</summary>
    public static Vae Create(int input, int hidden, int latent, ulong seed)
    {
        var v = new Vae(input, hidden, latent);
        v.Initialize(seed);
        return v;
    }

    /// <summary>
    /// nn.Linear's default initialisation: every weight and bias of a layer uniform in
    /// (-1/sqrt(fan_in), 1/sqrt(fan_in)), from Philox (seed, stream = 100 + tensor index).
    /// </summary>
    public void Initialize(ulong seed)
    {
        for (int t = 0; t < Tensors.Count; t++)
        {
            var tensor = Tensors[t];
            int fanIn = Tensors[t & ~1].Cols;
            float bound = 1f / MathF.Sqrt(fanIn);
            var v = tensor.Values;
            for (int i = 0; i < v.Length; i++)
                v[i] = (2f * Philox.Uniform(seed, 100 + (ulong)t, (ulong)i) - 1f) * bound;
        }
    }

    /// <summary>A deep copy.</summary>
    public Vae Clone()
    {
        var c = new Vae(Input, Hidden, Latent);
        for (int t = 0; t < Tensors.Count; t++)
            Tensors[t].Values.CopyTo(c.Tensors[t].Values, 0);
        return c;
    }
}
