using InfoGpu.Devices;

namespace InfoGpu.Evaluation;

/// <summary>
/// Exact log partition functions of Bernoulli RBMs by enumeration, for small layers.
/// Weights are nv x nh row-major (W[i * nh + j] links visible i and hidden j).
/// </summary>
/// <remarks>
/// Hidden enumeration: log Z = log sum_h exp(c.h + sum_i softplus(b_i + (W h)_i)).
/// Visible enumeration: log Z = log sum_v exp(b.v + sum_j softplus(c_j + (v W)_j)).
/// Then log p(v) = -F(v) - log Z with F(v) = -b.v - sum_j softplus(c_j + (v W)_j).
/// </remarks>
public static class RbmExactLikelihood
{
    /// <summary>Largest layer enumerated: 2^24 configurations.</summary>
    public const int MaxEnumeratedUnits = 24;

    /// <summary>log Z by enumerating the 2^nh hidden configurations.</summary>
    public static double LogPartitionByHidden(ComputeDevice device, ReadOnlySpan<float> weights, ReadOnlySpan<float> visibleBias, ReadOnlySpan<float> hiddenBias)
    {
        int nv = visibleBias.Length, nh = hiddenBias.Length;
        Check(weights.Length, nv, nh, nh);
        // Row j of W^T is what hidden unit j adds to the visible inputs.
        var wt = new float[nh * nv];
        for (int i = 0; i < nv; i++)
        {
            for (int j = 0; j < nh; j++)
                wt[j * nv + i] = weights[i * nh + j];
        }
        return device.Backend.EnumerateLogPartition(wt, hiddenBias.ToArray(), visibleBias.ToArray(), nh, nv);
    }

    /// <summary>log Z by enumerating the 2^nv visible configurations (a cross-check for tiny models).</summary>
    internal static double LogPartitionByVisible(ComputeDevice device, ReadOnlySpan<float> weights, ReadOnlySpan<float> visibleBias, ReadOnlySpan<float> hiddenBias)
    {
        int nv = visibleBias.Length, nh = hiddenBias.Length;
        Check(weights.Length, nv, nh, nv);
        return device.Backend.EnumerateLogPartition(weights.ToArray(), visibleBias.ToArray(), hiddenBias.ToArray(), nv, nh);
    }

    /// <summary>-F(v) = b.v + sum_j softplus(c_j + (v W)_j) in float64 for one visible row.</summary>
    public static double NegativeFreeEnergy(ReadOnlySpan<float> weights, ReadOnlySpan<float> visibleBias, ReadOnlySpan<float> hiddenBias, ReadOnlySpan<float> v)
    {
        int nv = visibleBias.Length, nh = hiddenBias.Length;
        var act = new double[nh];
        for (int j = 0; j < nh; j++)
            act[j] = hiddenBias[j];
        double lin = 0;
        for (int i = 0; i < nv; i++)
        {
            if (v[i] == 0)
                continue;
            lin += visibleBias[i] * (double)v[i];
            for (int j = 0; j < nh; j++)
                act[j] += weights[i * nh + j] * (double)v[i];
        }
        foreach (double a in act)
            lin += Kernels.ScalarMath.Softplus(a);
        return lin;
    }

    private static void Check(int weights, int nv, int nh, int enumerated)
    {
        if (weights != nv * nh)
            throw new InfoGpuException($"RBM weights: {weights} values for {nv} visible x {nh} hidden units");
        if (enumerated > MaxEnumeratedUnits)
            throw new InfoGpuException($"exact enumeration over {enumerated} units is too large (at most {MaxEnumeratedUnits}); use AIS (infogpu rbm eval without --exact)");
    }
}
