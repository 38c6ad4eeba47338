namespace InfoGpu.Kernels;

/// <summary>
/// Float64 log-sum-exp on the host, the one implementation every layer uses: over a span
/// (shifted by the maximum so that it neither overflows nor underflows) and as a running
/// accumulator for values that arrive one at a time.
/// </summary>
internal static class LogSumExp64
{
    /// <summary>
    /// log(sum_i exp(x_i)) = max + log(sum_i exp(x_i - max)); -inf for an empty span or when
    /// every entry is -inf.
    /// </summary>
    public static double Of(ReadOnlySpan<double> x) => Of(x, default);

    /// <summary>
    /// log(sum_i w_i exp(x_i)) with the same shift: the log of partial sums kept as
    /// (maximum, sum of exp(x - maximum)) pairs, as <see cref="Running"/> leaves them. An empty
    /// <paramref name="weights"/> means every weight is 1.
    /// </summary>
    public static double Of(ReadOnlySpan<double> x, ReadOnlySpan<double> weights)
    {
        double max = double.NegativeInfinity;
        foreach (double v in x)
            max = Math.Max(max, v);
        if (double.IsNegativeInfinity(max))
            return max;
        double s = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = Math.Exp(x[i] - max);
            s += weights.IsEmpty ? e : weights[i] * e;
        }
        return max + Math.Log(s);
    }

    /// <summary>
    /// A streaming log-sum-exp: the largest value seen and the sum of exp(v - <see cref="Max"/>),
    /// rescaled whenever a new maximum arrives. Start from <see cref="Empty"/>.
    /// </summary>
    public struct Running
    {
        /// <summary>The largest value added so far.</summary>
        public double Max;

        /// <summary>sum of exp(v - Max) over the values added so far.</summary>
        public double Sum;

        /// <summary>Nothing added yet.</summary>
        public static Running Empty => new() { Max = double.NegativeInfinity, Sum = 0 };

        /// <summary>Adds exp(<paramref name="v"/>) to the sum.</summary>
        public void Add(double v)
        {
            if (v > Max)
            {
                Sum = Sum * Math.Exp(Max - v) + 1;
                Max = v;
            }
            else
            {
                Sum += Math.Exp(v - Max);
            }
        }

        /// <summary>log of the sum of exp(v) over the values added.</summary>
        public readonly double Value => Max + Math.Log(Sum);
    }
}
