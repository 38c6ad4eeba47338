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

    /// <summary>Entropies, conditional entropies and mutual information of an nx-by-ny joint table (row-major, rows are X), in float64.</summary>
    /// <remarks>
    /// H(X), H(Y) and H(X, Y) are -sum p ln p. H(X | Y) = sum_y p(y) H(X | Y = y) and
    /// H(Y | X) are computed directly, not as differences, and I(X; Y) as
    /// sum p(x,y) ln(p(x,y) / (p(x) p(y))) in a form whose every term is non-negative (see
    /// <c>ExactJoint</c>): never negative, exactly 0 for a table that is exactly the product of
    /// its marginals, and within a few ulps (about 1e-15 relative) of the true value of the given
    /// float64 table also when X and Y are nearly independent. A table within the tolerance of
    /// summing to 1 (or normalized with <see cref="DistributionOptions.Normalize"/>) is treated as
    /// the table divided by its sum. Thread-safe.
    /// </remarks>
    public static JointInformation Joint(ReadOnlySpan<double> table, int nx, int ny, LogBase logBase, DistributionOptions? options = null)
    {
        if (nx <= 0 || ny <= 0 || table.Length != nx * ny)
            throw new InfoGpuException($"joint table: {table.Length} values do not make a {nx}x{ny} table");
        table = Distributions.Check(table, nx * ny, "joint table", options);
        var (hx, hy, hxy) = CpuTableKernels.JointEntropies(table, nx, ny, new double[ny]);
        var (hxGivenY, hyGivenX, mi) = ExactJoint.FromTable(table, nx, ny);
        double s = logBase.Scale;
        return new JointInformation(hx * s, hy * s, hxy * s, hxGivenY * s, hyGivenX * s, mi * s);
    }

    /// <summary>Plug-in entropies, conditional entropies and mutual information of paired discrete samples, in float64.</summary>
    /// <remarks>
    /// The joint counts c(x, y) of n pairs give p = c / n; the conditional entropies and the
    /// mutual information are computed directly from the integer counts as in
    /// <see cref="Joint"/> (the numerator c n - c(x) c(y) of each ratio is exact), so the mutual
    /// information is never negative and is exactly 0 when the counts factorize. Thread-safe.
    /// </remarks>
    public static JointInformation MutualInformation(ReadOnlySpan<int> x, ReadOnlySpan<int> y, LogBase logBase)
    {
        var (cx, nx, cy, ny) = Samples.EncodePair(x, y);
        var counts = new int[nx * ny];
        CpuTableKernels.JointCounts(cx, cy, counts, ny);
        var table = new double[counts.Length];
        for (int i = 0; i < table.Length; i++)
            table[i] = (double)counts[i] / x.Length;
        var (hx, hy, hxy) = CpuTableKernels.JointEntropies(table, nx, ny, new double[ny]);
        var (hxGivenY, hyGivenX, mi) = ExactJoint.FromCounts(counts, nx, ny);
        double s = logBase.Scale;
        return new JointInformation(hx * s, hy * s, hxy * s, hxGivenY * s, hyGivenX * s, mi * s);
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
            total += RowCrossEntropy(logits.Slice(r * columns, columns), targets[r], smoothing);
        }
        return rows == 0 ? 0 : total / rows;
    }

    /// <summary>
    /// Cross-entropy of each row of logits against its class target, optionally label-smoothed,
    /// in float64: row r gets -sum_k t_k ln softmax(x_r)_k with t the (smoothed) target distribution.
    /// </summary>
    /// <remarks>
    /// ln softmax(x)_k = x_k - lse(x) through a shifted log-sum-exp. Without smoothing t is one-hot;
    /// <see cref="LabelSmoothing.Uniform"/> is PyTorch's <c>cross_entropy(label_smoothing=eps)</c>
    /// ((1 - eps) one-hot + eps / K), <see cref="LabelSmoothing.OtherClasses"/> the textbook's
    /// (1 - eps on the target, eps / (K - 1) on the others). Throws <see cref="InfoGpuException"/>
    /// for a non-finite logit, a target outside 0..K-1, or eps outside [0, 1). Thread-safe.
    /// </remarks>
    public static double[] CrossEntropyFromLogits(ReadOnlySpan<double> logits, ReadOnlySpan<int> targets, int columns, LabelSmoothing smoothing = default)
    {
        int rows = CheckLogits(logits, targets, columns, smoothing, "cross-entropy from logits");
        var losses = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            losses[r] = RowCrossEntropy(logits.Slice(r * columns, columns), targets[r], smoothing);
        }
        return losses;
    }

    /// <summary>
    /// KL(t || softmax(x)) of each row: the (smoothed) target distribution t against the softmax of
    /// the logits, as PyTorch's <c>kl_div(log_softmax(x), t, reduction="sum")</c> per row, in float64.
    /// </summary>
    /// <remarks>
    /// sum_k t_k (ln t_k - ln softmax(x)_k), with 0 ln 0 = 0; it equals the cross-entropy of
    /// <see cref="CrossEntropyFromLogits"/> minus the entropy H(t) of the target distribution, so
    /// without smoothing (t one-hot) the two agree. Same checks as
    /// <see cref="CrossEntropyFromLogits"/>. Thread-safe.
    /// </remarks>
    public static double[] KlDivergenceFromLogits(ReadOnlySpan<double> logits, ReadOnlySpan<int> targets, int columns, LabelSmoothing smoothing = default)
    {
        int rows = CheckLogits(logits, targets, columns, smoothing, "KL divergence from logits");
        var losses = new double[rows];
        var t = new double[columns];
        for (int r = 0; r < rows; r++)
        {
            var x = logits.Slice(r * columns, columns);
            double lse = LogSumExp(x);
            SmoothedTarget(targets[r], smoothing, t);
            double s = 0;
            for (int k = 0; k < columns; k++)
            {
                if (t[k] > 0)
                    s += t[k] * (Math.Log(t[k]) - (x[k] - lse));
            }
            losses[r] = s;
        }
        return losses;
    }

    /// <summary>The target distribution of a class under a label-smoothing setting, written into <paramref name="destination"/> (K entries).</summary>
    public static void SmoothedTarget(int target, LabelSmoothing smoothing, Span<double> destination)
    {
        int k = destination.Length;
        if ((uint)target >= (uint)k)
            throw new InfoGpuException($"target class {target} is outside 0..{k - 1}");
        smoothing.Validate(k);
        double eps = smoothing.Epsilon;
        double other = smoothing.Kind switch
        {
            LabelSmoothingKind.Uniform => eps / k,
            LabelSmoothingKind.OtherClasses => eps / (k - 1),
            _ => 0,
        };
        destination.Fill(other);
        destination[target] = smoothing.Kind switch
        {
            LabelSmoothingKind.Uniform => 1 - eps + eps / k,
            LabelSmoothingKind.OtherClasses => 1 - eps,
            _ => 1,
        };
    }

    /// <summary>Row-wise softmax(x / T), or its logarithm (x_k / T - lse(x / T)) with <paramref name="log"/>, in float64.</summary>
    /// <param name="logits">Rows of logits, row-major, every value finite.</param>
    /// <param name="columns">K, the number of classes per row.</param>
    /// <param name="temperature">T &gt; 0 (1 gives the plain softmax).</param>
    /// <param name="log">Return log-probabilities instead of probabilities.</param>
    /// <remarks>Through a shifted log-sum-exp, so no logit overflows. Thread-safe.</remarks>
    public static double[] Softmax(ReadOnlySpan<double> logits, int columns, double temperature = 1, bool log = false)
    {
        Distributions.Shape(logits.Length, columns, "softmax");
        if (logits.Length == 0)
            throw new InfoGpuException("softmax: no logits; give at least one row");
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new InfoGpuException($"softmax: temperature {temperature} is not a finite number > 0");
        FiniteLogits(logits, columns, "softmax");
        var y = new double[logits.Length];
        var scaled = new double[columns];
        for (int r = 0; r < logits.Length / columns; r++)
        {
            for (int k = 0; k < columns; k++)
                scaled[k] = logits[r * columns + k] / temperature;
            double lse = LogSumExp(scaled);
            for (int k = 0; k < columns; k++)
                y[r * columns + k] = log ? scaled[k] - lse : Math.Exp(scaled[k] - lse);
        }
        return y;
    }

    /// <summary>One row's (smoothed) cross-entropy from its logits and class target, in float64.</summary>
    private static double RowCrossEntropy(ReadOnlySpan<double> x, int target, LabelSmoothing smoothing)
    {
        double lse = LogSumExp(x);
        double sumNll = 0;
        foreach (double v in x)
            sumNll += lse - v;
        return LogitMath.Loss(lse - x[target], sumNll, x.Length, smoothing.Epsilon, smoothing.Mode);
    }

    private static int CheckLogits(ReadOnlySpan<double> logits, ReadOnlySpan<int> targets, int columns, LabelSmoothing smoothing, string what)
    {
        Distributions.Shape(logits.Length, columns, what);
        int rows = logits.Length / columns;
        if (rows == 0)
            throw new InfoGpuException($"{what}: no logits; give at least one row");
        FiniteLogits(logits, columns, what);
        Samples.CheckTargets(targets, rows, columns);
        smoothing.Validate(columns);
        return rows;
    }

    private static void FiniteLogits(ReadOnlySpan<double> logits, int columns, string what)
    {
        for (int i = 0; i < logits.Length; i++)
        {
            if (!double.IsFinite(logits[i]))
                throw Distributions.Bad(what + " logits", i / columns, $"entry {i % columns} is {Distributions.Fmt(logits[i])}; logits must be finite");
        }
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
