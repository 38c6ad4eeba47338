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

    /// <summary>
    /// The exact gradient of the mean log p(v) over data rows (Visible 0/1 values each), hidden
    /// units marginalised: d/dW_ij = E_data[s_i s_j] - E_model[s_i s_j] and d/da_i = E_data[s_i] -
    /// E_model[s_i], where E_data averages, over the rows, the expectation under p(h | v) of the
    /// full state (v, h). Weights come as a symmetric Units x Units matrix with a zero diagonal
    /// (entry [i, j] is the derivative with respect to the one shared parameter W_ij = W_ji).
    /// Float64 by enumeration of all 2^Units states; thread-safe.
    /// </summary>
    public static (double[] Weights, double[] Biases) LogLikelihoodGradient(BoltzmannMachine m, ReadOnlySpan<float> data)
    {
        var (dataPair, dataMean) = DataStatistics(m, data);
        var (modelPair, modelMean) = ModelStatistics(m);
        int n = m.Units;
        var weights = new double[n * n];
        var biases = new double[n];
        for (int i = 0; i < n; i++)
        {
            biases[i] = dataMean[i] - modelMean[i];
            for (int j = 0; j < n; j++)
                weights[i * n + j] = i == j ? 0 : dataPair[i * n + j] - modelPair[i * n + j];
        }
        return (weights, biases);
    }

    /// <summary>E_model[s s^T] (Units x Units, row-major; the diagonal is E[s_i]) and E_model[s], exact by enumeration; thread-safe.</summary>
    public static (double[] Pairs, double[] Means) ModelStatistics(BoltzmannMachine m)
    {
        ArgumentNullException.ThrowIfNull(m);
        int n = m.Units;
        var e = NegativeEnergies(m);
        double logZ = LogSumExp64.Of(e);
        var pair = new double[n * n];
        var mean = new double[n];
        for (int state = 0; state < e.Length; state++)
            AddState(state, Math.Exp(e[state] - logZ), n, pair, mean);
        return (pair, mean);
    }

    /// <summary>
    /// E_data[s s^T] and E_data[s]: the mean over the data rows of the expectations under
    /// p(h | v) with the visible units clamped to the row (hidden units marginalised exactly); thread-safe.
    /// </summary>
    public static (double[] Pairs, double[] Means) DataStatistics(BoltzmannMachine m, ReadOnlySpan<float> data)
    {
        ArgumentNullException.ThrowIfNull(m);
        int n = m.Units, nv = m.Visible;
        if (data.IsEmpty || data.Length % nv != 0)
            throw new InfoGpuException($"Boltzmann gradient: {data.Length} data values do not make rows of {nv} visible units");
        var e = NegativeEnergies(m);
        int rows = data.Length / nv;
        int hiddenStates = 1 << m.Hidden;
        var pair = new double[n * n];
        var mean = new double[n];
        var logw = new double[hiddenStates];
        for (int r = 0; r < rows; r++)
        {
            int v = Index(data.Slice(r * nv, nv));
            for (int h = 0; h < hiddenStates; h++)
                logw[h] = e[v | (h << nv)];
            double logPv = LogSumExp64.Of(logw);
            for (int h = 0; h < hiddenStates; h++)
                AddState(v | (h << nv), Math.Exp(logw[h] - logPv) / rows, n, pair, mean);
        }
        return (pair, mean);
    }

    private static void AddState(int state, double p, int n, double[] pair, double[] mean)
    {
        if (p == 0)
            return;
        for (int i = 0; i < n; i++)
        {
            if (((state >> i) & 1) == 0)
                continue;
            mean[i] += p;
            for (int j = 0; j < n; j++)
            {
                if (((state >> j) & 1) != 0)
                    pair[i * n + j] += p;
            }
        }
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
