using InfoGpu.Kernels;

namespace InfoGpu.Boltzmann;

/// <summary>
/// Exact quantities of small Boltzmann machines by enumerating all 2^Units states (float64,
/// log-sum-exp): the partition function, the distribution, and the log-likelihood of data.
/// </summary>
public static class BoltzmannExact
{
    /// <summary>Largest machine enumerated (2^24 states).</summary>
    public const int MaxUnits = 24;

    /// <summary>-E(s) for every state s, indexed by the bits of s (unit i = bit i).</summary>
    public static double[] NegativeEnergies(BoltzmannMachine m)
    {
        int n = m.Units;
        if (n > MaxUnits)
            throw new InfoGpuException($"exact enumeration needs at most {MaxUnits} units (this machine has {n})");
        var result = new double[1 << n];
        var s = new float[n];
        for (int state = 0; state < result.Length; state++)
        {
            for (int i = 0; i < n; i++)
                s[i] = (state >> i) & 1;
            result[state] = m.NegativeEnergy(s);
        }
        return result;
    }

    /// <summary>log Z.</summary>
    public static double LogPartition(BoltzmannMachine m) => LogSumExp64.Of(NegativeEnergies(m));

    /// <summary>p(s) for every full state (bit i of the index is unit i).</summary>
    public static double[] Distribution(BoltzmannMachine m)
    {
        var e = NegativeEnergies(m);
        double logZ = LogSumExp64.Of(e);
        return e.Select(v => Math.Exp(v - logZ)).ToArray();
    }

    /// <summary>log p(v) for every visible configuration (bit i of the index is visible unit i), hidden units summed out.</summary>
    public static double[] VisibleLogProbabilities(BoltzmannMachine m)
    {
        var e = NegativeEnergies(m);
        double logZ = LogSumExp64.Of(e);
        int nv = m.Visible;
        var result = new double[1 << nv];
        var buffer = new double[1 << m.Hidden];
        for (int v = 0; v < result.Length; v++)
        {
            for (int h = 0; h < buffer.Length; h++)
                buffer[h] = e[v | (h << nv)];
            result[v] = LogSumExp64.Of(buffer) - logZ;
        }
        return result;
    }

    /// <summary>Mean log p(v) over data rows of Visible 0/1 values (nats per example).</summary>
    public static double LogLikelihood(BoltzmannMachine m, ReadOnlySpan<float> data)
    {
        var logp = VisibleLogProbabilities(m);
        int nv = m.Visible;
        int rows = data.Length / nv;
        double sum = 0;
        for (int r = 0; r < rows; r++)
            sum += logp[Index(data.Slice(r * nv, nv))];
        return sum / rows;
    }

    /// <summary>The state index of a 0/1 row (bit i = entry i).</summary>
    public static int Index(ReadOnlySpan<float> row)
    {
        int k = 0;
        for (int i = 0; i < row.Length; i++)
        {
            if (row[i] != 0)
                k |= 1 << i;
        }
        return k;
    }
}
