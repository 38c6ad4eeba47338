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
    public BoltzmannMachine(int visible, int hidden)
    {
        if (visible < 1 || hidden < 0)
            throw new InfoGpuException($"a Boltzmann machine needs at least 1 visible unit and >= 0 hidden units (got {visible} and {hidden})");
        Visible = visible;
        Hidden = hidden;
        Weights = new double[Units * Units];
        Biases = new double[Units];
    }

    public int Visible { get; }

    public int Hidden { get; }

    public int Units => Visible + Hidden;

    /// <summary>W, row-major Units x Units, symmetric, zero diagonal.</summary>
    public double[] Weights { get; }

    /// <summary>a, one per unit.</summary>
    public double[] Biases { get; }

    public double Weight(int i, int j) => Weights[i * Units + j];

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
