using System.Numerics;
using InfoGpu.Kernels;

namespace InfoGpu.Restricted;

/// <summary>
/// The exact gradient of an RBM's mean log-likelihood by enumerating the 2^nh hidden
/// configurations, in float64 on the host (parallel over blocks of hidden states, the blocks'
/// sums added in a fixed order, so the result does not depend on the thread count).
/// </summary>
/// <remarks>
/// d mean log p(v) / dW = E_data[v h^T] - E_model[v h^T], with h in the data term replaced by
/// p(h = 1 | v) = sigmoid(c + v W); likewise d/db = E_data[v] - E_model[v] and
/// d/dc = E_data[p(h | v)] - E_model[h]. The model term sums over the hidden states:
/// p(h) is proportional to exp(c.h + sum_i softplus(b_i + (W h)_i)) (log-sum-exp normalized), and
/// E_model[v_i h_j] = sum_h p(h) h_j sigmoid(b_i + (W h)_i). Within a block the states are visited
/// in Gray-code order, so each step updates the visible inputs W h by one column of W.
/// The host implementation was chosen over a device kernel: its cost, 2^nh nv nh, is small next to
/// the Gibbs estimators' for the layers it is meant for (nh up to about 16).
/// All members are thread-safe (they share no state).
/// </remarks>
public static class RbmExactGradient
{
    /// <summary>Largest hidden layer enumerated: 2^20 configurations.</summary>
    public const int MaxHidden = 20;

    private const int BlockBits = 10;

    /// <summary>The exact gradient of the mean log p(v) over the rows of <paramref name="data"/> (binary rows of nv values).</summary>
    public static RbmGradient Compute(Rbm rbm, ReadOnlySpan<float> data)
    {
        var g = DataTerm(rbm, data);
        g.Add(ModelTerm(rbm), -1);
        return g;
    }

    /// <summary>
    /// E_data[v h^T], E_data[v], E_data[p(h | v)] over the rows of <paramref name="data"/>, with
    /// p(h_j = 1 | v) = sigmoid(c_j + (v W)_j): the positive phase, exact for any layer size.
    /// </summary>
    public static RbmGradient DataTerm(Rbm rbm, ReadOnlySpan<float> data)
    {
        ArgumentNullException.ThrowIfNull(rbm);
        int nv = rbm.Visible, nh = rbm.Hidden;
        if (data.IsEmpty || data.Length % nv != 0)
            throw new InfoGpuException($"RBM gradient: {data.Length} data values do not make rows of {nv} visible units");
        int rows = data.Length / nv;
        var g = new RbmGradient(nv, nh);
        var ph = new double[nh];
        for (int r = 0; r < rows; r++)
        {
            var v = data.Slice(r * nv, nv);
            HiddenProbabilities(rbm, v, ph);
            AddOuter(g, v, ph);
        }
        g.Scale(1.0 / rows);
        return g;
    }

    /// <summary>Adds v p^T, v and p to <paramref name="g"/> for one visible row v and hidden vector p (no scaling).</summary>
    internal static void AddOuter(RbmGradient g, ReadOnlySpan<float> v, ReadOnlySpan<double> p)
    {
        int nh = g.Hidden;
        for (int i = 0; i < v.Length; i++)
        {
            double vi = v[i];
            if (vi == 0)
                continue;
            g.VisibleBias[i] += vi;
            var row = g.Weights.AsSpan(i * nh, nh);
            for (int j = 0; j < nh; j++)
                row[j] += vi * p[j];
        }
        for (int j = 0; j < nh; j++)
            g.HiddenBias[j] += p[j];
    }

    /// <summary>p(h_j = 1 | v) = sigmoid(c_j + (v W)_j) in float64 into <paramref name="ph"/>.</summary>
    internal static void HiddenProbabilities(Rbm rbm, ReadOnlySpan<float> v, Span<double> ph)
    {
        int nv = rbm.Visible, nh = rbm.Hidden;
        for (int j = 0; j < nh; j++)
            ph[j] = rbm.HiddenBias[j];
        for (int i = 0; i < nv; i++)
        {
            double vi = v[i];
            if (vi == 0)
                continue;
            var row = rbm.Weights.AsSpan(i * nh, nh);
            for (int j = 0; j < nh; j++)
                ph[j] += vi * row[j];
        }
        for (int j = 0; j < nh; j++)
            ph[j] = Sigmoid(ph[j]);
    }

    /// <summary>
    /// E_model[v h^T], E_model[v], E_model[h] under the RBM, exact by enumerating the hidden layer
    /// (at most <see cref="MaxHidden"/> units).
    /// </summary>
    public static RbmGradient ModelTerm(Rbm rbm)
    {
        ArgumentNullException.ThrowIfNull(rbm);
        int nv = rbm.Visible, nh = rbm.Hidden;
        if (nh > MaxHidden)
            throw new InfoGpuException($"the exact RBM gradient enumerates 2^{nh} hidden states; at most {MaxHidden} hidden units are allowed");
        int bits = Math.Min(BlockBits, nh);
        int blocks = 1 << (nh - bits);
        int blockSize = 1 << bits;

        // Pass 1: log Z from each block's (max, sum) pair.
        var maxima = new double[blocks];
        var sums = new double[blocks];
        Parallel.For(0, blocks, k =>
        {
            var a = new double[nv];
            var logw = new double[blockSize];
            VisitBlock(rbm, k, bits, a, (t, h, act) => logw[t] = LogWeight(rbm, h, act));
            double m = double.NegativeInfinity;
            foreach (double x in logw)
                m = Math.Max(m, x);
            double s = 0;
            foreach (double x in logw)
                s += Math.Exp(x - m);
            maxima[k] = m;
            sums[k] = s;
        });
        double top = maxima.Max();
        double total = 0;
        for (int k = 0; k < blocks; k++)
            total += sums[k] * Math.Exp(maxima[k] - top);
        double logZ = top + Math.Log(total);

        // Pass 2: each block's expectations, added in block order.
        var parts = new RbmGradient[blocks];
        Parallel.For(0, blocks, k =>
        {
            var part = new RbmGradient(nv, nh);
            var a = new double[nv];
            var sig = new double[nv];
            VisitBlock(rbm, k, bits, a, (_, h, act) =>
            {
                double p = Math.Exp(LogWeight(rbm, h, act) - logZ);
                if (p == 0)
                    return;
                for (int i = 0; i < nv; i++)
                {
                    sig[i] = p * Sigmoid(act[i]);
                    part.VisibleBias[i] += sig[i];
                }
                for (int j = 0; j < nh; j++)
                {
                    if (((h >> j) & 1) == 0)
                        continue;
                    part.HiddenBias[j] += p;
                    for (int i = 0; i < nv; i++)
                        part.Weights[i * nh + j] += sig[i];
                }
            });
            parts[k] = part;
        });
        var g = new RbmGradient(nv, nh);
        foreach (var part in parts)
            g.Add(part);
        return g;
    }

    private delegate void StateVisitor(int indexInBlock, long hidden, double[] visibleInput);

    /// <summary>
    /// Visits the 2^bits hidden states of block k: the low bits run through a Gray code, the high
    /// bits are k. The visible input b + W h is kept up to date one column at a time.
    /// </summary>
    private static void VisitBlock(Rbm rbm, int k, int bits, double[] a, StateVisitor visit)
    {
        int nv = rbm.Visible, nh = rbm.Hidden;
        long h = (long)k << bits;
        for (int i = 0; i < nv; i++)
        {
            double s = rbm.VisibleBias[i];
            for (int j = bits; j < nh; j++)
            {
                if (((h >> j) & 1) != 0)
                    s += rbm.Weights[i * nh + j];
            }
            a[i] = s;
        }
        int count = 1 << bits;
        for (int t = 0; t < count; t++)
        {
            if (t > 0)
            {
                int j = BitOperations.TrailingZeroCount(t);
                h ^= 1L << j;
                double sign = ((h >> j) & 1) != 0 ? 1 : -1;
                for (int i = 0; i < nv; i++)
                    a[i] += sign * rbm.Weights[i * nh + j];
            }
            visit(t, h, a);
        }
    }

    /// <summary>log of the unnormalized p(h): c.h + sum_i softplus(b_i + (W h)_i).</summary>
    private static double LogWeight(Rbm rbm, long h, double[] a)
    {
        double s = 0;
        for (int j = 0; j < rbm.Hidden; j++)
        {
            if (((h >> j) & 1) != 0)
                s += rbm.HiddenBias[j];
        }
        foreach (double x in a)
            s += ScalarMath.Softplus(x);
        return s;
    }

    internal static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
