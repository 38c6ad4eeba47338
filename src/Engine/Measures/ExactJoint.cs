namespace InfoGpu.Measures;

/// <summary>
/// Float64 mutual information and conditional entropies of a joint table or of joint counts,
/// each computed directly (never as a difference of entropies), accurate to a few ulps also
/// for near-independent tables.
/// </summary>
/// <remarks>
/// Mutual information. With the table normalized to sum 1 (p = t / S), q = p(x) p(y) and
/// d = p / q - 1, I = sum p ln(p / q) = sum (p ln(p / q) - p + q) = sum q phi(d) with
/// phi(d) = (1 + d) ln(1 + d) - d &gt;= 0 (adding sum (q - p) = 1 - 1 = 0 changes nothing
/// mathematically). Every term is non-negative, so the sum never goes below 0 and no clamp is
/// used; and the first-order parts of the terms, which cancel in the plain sum and cost a
/// near-independent table most of its digits, are gone. What is left needs d to full relative
/// precision: for a table, d = (t S - t_x t_y) / (t_x t_y) with the sums S, t_x, t_y and the two
/// products carried in double-double arithmetic (error-free sums and fused multiply-add
/// products); for counts, the numerator c n - c_x c_y is exact in integers. phi comes from its
/// series for |d| &lt;= 1/4 and from the closed form otherwise. Empty cells (d = -1) add q.
/// Conditional entropy: H(X | Y) = -sum p ln(p / p(y)) = sum_y p(y) H(X | Y = y), every term
/// non-negative; the normalization cancels in the ratio t / t_y.
/// Thread-safe: pure functions of their arguments.
/// </remarks>
internal static class ExactJoint
{
    /// <summary>(H(X|Y), H(Y|X), I(X;Y)) in nats of an nx-by-ny table of non-negative values (row-major, rows are X), normalized by its sum.</summary>
    public static (double HXGivenY, double HYGivenX, double MutualInformation) FromTable(ReadOnlySpan<double> table, int nx, int ny)
    {
        var rows = new DoubleDouble[nx];
        var cols = new DoubleDouble[ny];
        var total = default(DoubleDouble);
        for (int a = 0; a < nx; a++)
        {
            for (int b = 0; b < ny; b++)
            {
                double t = table[a * ny + b];
                rows[a] = rows[a].Add(t);
                cols[b] = cols[b].Add(t);
                total = total.Add(t);
            }
        }
        double s = total.Value;
        double mi = 0, hxGivenY = 0, hyGivenX = 0;
        for (int a = 0; a < nx; a++)
        {
            for (int b = 0; b < ny; b++)
            {
                double t = table[a * ny + b];
                var q = DoubleDouble.Product(rows[a], cols[b]);
                double weight = q.Value / s / s;
                if (t > 0)
                {
                    var diff = DoubleDouble.Product(t, total).Subtract(q);
                    mi += weight * Phi(diff.Value / q.Value);
                    double p = t / s;
                    hxGivenY -= p * Math.Log(t / cols[b].Value);
                    hyGivenX -= p * Math.Log(t / rows[a].Value);
                }
                else
                {
                    mi += weight;
                }
            }
        }
        return (hxGivenY, hyGivenX, mi);
    }

    /// <summary>(H(X|Y), H(Y|X), I(X;Y)) in nats of an nx-by-ny table of joint counts (row-major), the plug-in estimates.</summary>
    public static (double HXGivenY, double HYGivenX, double MutualInformation) FromCounts(ReadOnlySpan<int> counts, int nx, int ny)
    {
        var cx = new long[nx];
        var cy = new long[ny];
        long n = 0;
        for (int a = 0; a < nx; a++)
        {
            for (int b = 0; b < ny; b++)
            {
                int c = counts[a * ny + b];
                cx[a] += c;
                cy[b] += c;
                n += c;
            }
        }
        double mi = 0, hxGivenY = 0, hyGivenX = 0;
        double n2 = (double)n * n;
        for (int a = 0; a < nx; a++)
        {
            for (int b = 0; b < ny; b++)
            {
                long c = counts[a * ny + b];
                Int128 q = (Int128)cx[a] * cy[b];
                double weight = (double)q / n2;
                if (c > 0)
                {
                    Int128 diff = (Int128)c * n - q;
                    mi += weight * Phi((double)diff / (double)q);
                    double p = (double)c / n;
                    hxGivenY -= p * Math.Log((double)c / cy[b]);
                    hyGivenX -= p * Math.Log((double)c / cx[a]);
                }
                else
                {
                    mi += weight;
                }
            }
        }
        return (hxGivenY, hyGivenX, mi);
    }

    /// <summary>phi(d) = (1 + d) ln(1 + d) - d for d &gt;= -1, to a few ulps: 1 at d = -1, d^2/2 - d^3/6 + ... near 0.</summary>
    internal static double Phi(double d)
    {
        if (d <= -1)
            return 1;
        if (Math.Abs(d) <= 0.25)
        {
            // sum_{k >= 2} (-d)^k / (k (k - 1)); |d| <= 1/4 reaches 1e-17 relative within 30 terms.
            double power = d * d, sum = 0;
            for (int k = 2; k < 60; k++)
            {
                double term = power / (k * (k - 1.0));
                sum += term;
                if (Math.Abs(term) <= 1e-18 * Math.Abs(sum))
                    break;
                power *= -d;
            }
            return sum;
        }
        return (1 + d) * Math.Log(1 + d) - d;
    }

    /// <summary>ln(1 + x) accurate also for tiny x (the ratio trick: the rounding of 1 + x cancels).</summary>
    internal static double Log1p(double x)
    {
        double u = 1 + x;
        if (u == 1)
            return x;
        return Math.Log(u) * x / (u - 1);
    }

    /// <summary>A value hi + lo carried to about 32 significant digits.</summary>
    private readonly record struct DoubleDouble(double Hi, double Lo)
    {
        public double Value => Hi + Lo;

        public DoubleDouble Add(double x)
        {
            double s = Hi + x;
            double bb = s - Hi;
            double err = (Hi - (s - bb)) + (x - bb);
            return Normalize(s, err + Lo);
        }

        public DoubleDouble Subtract(DoubleDouble other)
        {
            double s = Hi - other.Hi;
            double bb = s - Hi;
            double err = (Hi - (s - bb)) + (-other.Hi - bb);
            return Normalize(s, err + Lo - other.Lo);
        }

        public static DoubleDouble Product(DoubleDouble a, DoubleDouble b)
        {
            double p = a.Hi * b.Hi;
            double e = Math.FusedMultiplyAdd(a.Hi, b.Hi, -p);
            return Normalize(p, e + a.Hi * b.Lo + a.Lo * b.Hi);
        }

        public static DoubleDouble Product(double a, DoubleDouble b) => Product(new DoubleDouble(a, 0), b);

        private static DoubleDouble Normalize(double hi, double lo)
        {
            double s = hi + lo;
            return new DoubleDouble(s, lo - (s - hi));
        }
    }
}
