using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;

namespace InfoGpu.Measures;

/// <summary>
/// Float64 entry points for exact work: the same measures as <see cref="InformationMeasures"/>
/// for one distribution (or one batch of logits) at a time, on the host, in float64 with a
/// fixed summation order. They also serve as the reference the device kernels are tested against.
/// </summary>
public static class InformationMeasures64
{
    /// <summary>Self-information -log_b p.</summary>
    public static double SelfInformation(double p, LogBase logBase)
    {
        if (!(p >= 0 && p <= 1))
            throw new InfoGpuException($"self-information: p = {Distributions.Fmt(p)} is not a probability in [0, 1]");
        return -Math.Log(p) * logBase.Scale;
    }

    /// <summary>H(p) = -sum p log_b p.</summary>
    public static double Entropy(ReadOnlySpan<double> p, LogBase logBase, DistributionOptions? options = null)
    {
        p = Distributions.Check(p, Math.Max(p.Length, 1), "entropy", options);
        double s = 0;
        foreach (double v in p)
            s -= ScalarMath.XLogX(v);
        return s * logBase.Scale;
    }

    /// <summary>H(p, q) = -sum p log_b q (+inf where q = 0 &lt; p).</summary>
    public static double CrossEntropy(ReadOnlySpan<double> p, ReadOnlySpan<double> q, LogBase logBase, DistributionOptions? options = null)
    {
        Pair(ref p, ref q, "cross-entropy", options);
        double s = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] > 0)
                s += q[i] > 0 ? -p[i] * Math.Log(q[i]) : double.PositiveInfinity;
        }
        return s * logBase.Scale;
    }

    /// <summary>KL(p || q): exact when epsilon is null, else the textbook's clipped variant.</summary>
    public static double KlDivergence(ReadOnlySpan<double> p, ReadOnlySpan<double> q, LogBase logBase, double? epsilon = null, DistributionOptions? options = null)
    {
        Pair(ref p, ref q, "KL divergence", options);
        return Kl(p, q, epsilon) * logBase.Scale;
    }

    /// <summary>Jensen-Shannon divergence with m = (p + q) / 2; clipped KL when epsilon is given.</summary>
    public static double JensenShannon(ReadOnlySpan<double> p, ReadOnlySpan<double> q, LogBase logBase, double? epsilon = null, DistributionOptions? options = null)
    {
        Pair(ref p, ref q, "Jensen-Shannon", options);
        var m = new double[p.Length];
        for (int i = 0; i < m.Length; i++)
            m[i] = 0.5 * (p[i] + q[i]);
        return 0.5 * (Kl(p, m, epsilon) + Kl(q, m, epsilon)) * logBase.Scale;
    }

    /// <summary>The Jensen-Shannon distance, sqrt of the divergence.</summary>
    public static double JensenShannonDistance(ReadOnlySpan<double> p, ReadOnlySpan<double> q, LogBase logBase, double? epsilon = null, DistributionOptions? options = null) =>
        Math.Sqrt(Math.Max(0, JensenShannon(p, q, logBase, epsilon, options)));

    /// <summary>Entropies of an nx-by-ny joint table (row-major, rows are X).</summary>
    public static JointInformation Joint(ReadOnlySpan<double> table, int nx, int ny, LogBase logBase, DistributionOptions? options = null)
    {
        if (nx <= 0 || ny <= 0 || table.Length != nx * ny)
            throw new InfoGpuException($"joint table: {table.Length} values do not make a {nx}x{ny} table");
        table = Distributions.Check(table, nx * ny, "joint table", options);
        var (hx, hy, hxy) = CpuTableKernels.JointEntropies(table, nx, ny, new double[ny]);
        double s = logBase.Scale;
        return new JointInformation(hx * s, hy * s, hxy * s);
    }

    /// <summary>Plug-in entropies and mutual information of paired discrete samples.</summary>
    public static JointInformation MutualInformation(ReadOnlySpan<int> x, ReadOnlySpan<int> y, LogBase logBase)
    {
        var (cx, nx, cy, ny) = Samples.EncodePair(x, y);
        var counts = new int[nx * ny];
        CpuTableKernels.JointCounts(cx, cy, counts, ny);
        var table = new double[counts.Length];
        for (int i = 0; i < table.Length; i++)
            table[i] = (double)counts[i] / x.Length;
        return Joint(table, nx, ny, logBase, new DistributionOptions(false, 1e-9));
    }

    /// <summary>
    /// The plug-in mutual information of an nx-by-ny table of joint counts (row-major):
    /// sum over the cells of (c / n) ln(c n / (c_x c_y)), with the row and column sums c_x, c_y
    /// and the total n of the table, in nats, in float64. Empty cells add nothing.
    /// </summary>
    internal static double PlugInMutualInformation(ReadOnlySpan<int> counts, int nx, int ny)
    {
        var px = new long[nx];
        var py = new long[ny];
        long n = 0;
        for (int a = 0; a < nx; a++)
        {
            for (int b = 0; b < ny; b++)
            {
                int c = counts[a * ny + b];
                px[a] += c;
                py[b] += c;
                n += c;
            }
        }
        double mi = 0;
        for (int a = 0; a < nx; a++)
        {
            for (int b = 0; b < ny; b++)
            {
                long c = counts[a * ny + b];
                if (c > 0)
                    mi += (double)c / n * Math.Log((double)c * n / ((double)px[a] * py[b]));
            }
        }
        return mi;
    }

    /// <summary>Mean cross-entropy from logits (rows of <paramref name="columns"/>) and class targets, optionally label-smoothed.</summary>
    public static double CrossEntropyLoss(ReadOnlySpan<double> logits, ReadOnlySpan<int> targets, int columns, LabelSmoothing smoothing = default)
    {
        Distributions.Shape(logits.Length, columns, "cross-entropy from logits");
        int rows = logits.Length / columns;
        Samples.CheckTargets(targets, rows, columns);
        smoothing.Validate(columns);
        double total = 0;
        for (int r = 0; r < rows; r++)
        {
            var x = logits.Slice(r * columns, columns);
            double lse = LogSumExp(x);
            double sumNll = 0;
            foreach (double v in x)
                sumNll += lse - v;
            total += LogitMath.Loss(lse - x[targets[r]], sumNll, columns, smoothing.Epsilon, smoothing.Mode);
        }
        return rows == 0 ? 0 : total / rows;
    }

    /// <summary>
    /// log(sum_i exp(x_i)) in float64, shifted by the maximum so that it neither overflows nor
    /// underflows; -inf for an empty span or when every entry is -inf.
    /// </summary>
    public static double LogSumExp(ReadOnlySpan<double> x) => LogSumExp64.Of(x);

    /// <summary>KL(N(mu, diag exp(logvar)) || N(0, I)).</summary>
    public static double GaussianKl(ReadOnlySpan<double> mu, ReadOnlySpan<double> logVariance)
    {
        Distributions.SameShape(mu.Length, logVariance.Length, "Gaussian KL");
        double s = 0;
        for (int i = 0; i < mu.Length; i++)
            s += VaeMath.Kl(mu[i], logVariance[i]);
        return s;
    }

    /// <summary>
    /// KL(N(m1, s1^2) || N(m2, s2^2)) = ln(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2, in nats.
    /// </summary>
    public static double GaussianKl(double mean1, double sd1, double mean2, double sd2)
    {
        if (!(sd1 > 0) || !(sd2 > 0) || !double.IsFinite(sd1) || !double.IsFinite(sd2))
            throw new InfoGpuException($"Gaussian KL: standard deviations must be finite and > 0 (got {sd1} and {sd2})");
        double d = mean1 - mean2;
        return Math.Log(sd2 / sd1) + (sd1 * sd1 + d * d) / (2 * sd2 * sd2) - 0.5;
    }

    private static double Kl(ReadOnlySpan<double> p, ReadOnlySpan<double> q, double? epsilon)
    {
        double s = 0;
        if (epsilon is double e)
        {
            if (!(e > 0 && e < 1))
                throw new InfoGpuException($"epsilon {e} is out of range: use 0 < epsilon < 1");
            for (int i = 0; i < p.Length; i++)
            {
                double pc = Math.Clamp(p[i], e, 1), qc = Math.Clamp(q[i], e, 1);
                s += pc * Math.Log(pc / qc);
            }
            return s;
        }
        for (int i = 0; i < p.Length; i++)
            s += ScalarMath.XLogXOverY(p[i], q[i]);
        return s;
    }

    private static void Pair(ref ReadOnlySpan<double> p, ref ReadOnlySpan<double> q, string what, DistributionOptions? options)
    {
        Distributions.SameShape(p.Length, q.Length, what);
        int cols = Math.Max(p.Length, 1);
        p = Distributions.Check(p, cols, what + " p", options);
        q = Distributions.Check(q, cols, what + " q", options);
    }
}
