using InfoGpu.Kernels;

namespace InfoGpu.Boltzmann;

/// <summary>
/// A general Boltzmann machine: binary units s (the first <see cref="Visible"/> are visible,
/// the rest hidden), symmetric weights with a zero diagonal (hidden-hidden and visible-visible
/// links allowed) and biases.
/// </summary>
/// <remarks>Energy E(s) = -sum_i a_i s_i - sum_{i&lt;j} W_ij s_i s_j; p(s) = exp(-E(s)) / Z.</remarks>
public sealed class BoltzmannMachine
{
    /// <summary>Creates a machine with all weights and biases zero.</summary>
    /// <param name="visible">Visible units (at least 1); they are units 0 .. visible - 1.</param>
    /// <param name="hidden">Hidden units (0 or more); they are units visible .. visible + hidden - 1.</param>
    /// <exception cref="InfoGpuException"><paramref name="visible"/> &lt; 1, <paramref name="hidden"/> &lt; 0, or more than <see cref="MaxUnits"/> units in all.</exception>
    public BoltzmannMachine(int visible, int hidden)
    {
        if (visible < 1 || hidden < 0)
            throw new InfoGpuException($"a Boltzmann machine needs at least 1 visible unit and >= 0 hidden units (got {visible} and {hidden})");
        if ((long)visible + hidden > MaxUnits)
            throw new InfoGpuException($"a Boltzmann machine of {(long)visible + hidden} units is too large: at most {MaxUnits} units (their weights are a units x units float64 matrix)");
        Visible = visible;
        Hidden = hidden;
        Weights = new double[Units * Units];
        Biases = new double[Units];
    }

    /// <summary>The most units a machine may have: 4,096 (a 128 MiB weight matrix), far beyond what Gibbs learning of a fully connected machine can train.</summary>
    public const int MaxUnits = 4096;

    /// <summary>Number of visible units: units 0 .. Visible - 1 of a state, the ones data rows give.</summary>
    public int Visible { get; }

    /// <summary>Number of hidden units (may be 0): units Visible .. Units - 1 of a state.</summary>
    public int Hidden { get; }

    /// <summary>All units, <see cref="Visible"/> + <see cref="Hidden"/>: the length of a full state and the side of <see cref="Weights"/>.</summary>
    public int Units => Visible + Hidden;

    /// <summary>W, row-major Units x Units, symmetric, zero diagonal.</summary>
    public double[] Weights { get; }

    /// <summary>a, one per unit.</summary>
    public double[] Biases { get; }

    /// <summary>
    /// W_ij, read from <see cref="Weights"/>[i * Units + j]; equal to W_ji, and 0 when i == j.
    /// The indices are only checked by the array bounds, so give 0 &lt;= i, j &lt; <see cref="Units"/>.
    /// </summary>
    public double Weight(int i, int j) => Weights[i * Units + j];

    /// <summary>
    /// Checks what a machine read from a file must satisfy: every weight and bias finite, W
    /// symmetric with a zero diagonal. Throws <see cref="InfoGpuException"/> naming
    /// <paramref name="source"/> and the first entry that breaks it.
    /// </summary>
    public void Validate(string source)
    {
        int n = Units;
        for (int k = 0; k < Biases.Length; k++)
        {
            if (!double.IsFinite(Biases[k]))
                throw new InfoGpuException($"{source}: bias a[{k}] is {Biases[k]}; the machine's parameters must be finite");
        }
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double w = Weights[i * n + j];
                if (!double.IsFinite(w))
                    throw new InfoGpuException($"{source}: weight W[{i}, {j}] is {w}; the machine's parameters must be finite");
                if (i == j && w != 0)
                    throw new InfoGpuException($"{source}: weight W[{i}, {i}] is {w}; the diagonal of W must be zero (no unit links to itself)");
                if (w != Weights[j * n + i])
                    throw new InfoGpuException($"{source}: W[{i}, {j}] = {w} but W[{j}, {i}] = {Weights[j * n + i]}; W must be symmetric");
            }
        }
    }

    /// <summary>Sets W_ij = W_ji = value (i != j).</summary>
    public void SetWeight(int i, int j, double value)
    {
        if (i == j)
            throw new InfoGpuException($"unit {i} cannot link to itself: the diagonal of W is zero");
        Weights[i * Units + j] = value;
        Weights[j * Units + i] = value;
    }

    /// <summary>Weights ~ N(0, scale^2) (symmetric), biases 0, from Philox (seed, stream 0).</summary>
    public void InitializeRandom(ulong seed, double scale = 0.01)
    {
        Array.Clear(Biases);
        ulong k = 0;
        for (int i = 0; i < Units; i++)
        {
            Weights[i * Units + i] = 0;
            for (int j = i + 1; j < Units; j++)
                SetWeight(i, j, scale * Philox.Normal(seed, 0, k++));
        }
    }

    /// <summary>-E(s) for a full state of 0/1 values.</summary>
    public double NegativeEnergy(ReadOnlySpan<float> s)
    {
        double e = 0;
        for (int i = 0; i < Units; i++)
        {
            if (s[i] == 0)
                continue;
            e += Biases[i];
            for (int j = i + 1; j < Units; j++)
                e += Weights[i * Units + j] * s[j];
        }
        return e;
    }
}
