using InfoGpu.Kernels;

namespace InfoGpu.Boltzmann;

/// <summary>Which units the total-variation distance of <see cref="GibbsDiagnostics"/> compares.</summary>
public enum TotalVariationUnits
{
    /// <summary>The visible units: the chains' visible states against the exact marginal p(v) (hidden units summed out).</summary>
    Visible = 0,

    /// <summary>All units: the chains' full states against the exact p(s).</summary>
    All = 1,
}

/// <summary>Settings of <see cref="GibbsDiagnostics.Run"/>.</summary>
public sealed record GibbsDiagnosticsOptions
{
    /// <summary>The units whose distribution TV compares (default: the visible ones, fewer states, so a lower floor for the same chains).</summary>
    public TotalVariationUnits Over { get; init; } = TotalVariationUnits.Visible;

    /// <summary>Independent chains run side by side on the device (at least 2).</summary>
    public int Chains { get; init; } = 1000;

    /// <summary>Sweeps run in all; the total-variation distance is recorded after every one (at least 2).</summary>
    public int Sweeps { get; init; } = 300;

    /// <summary>Sweeps discarded before the energy series of the autocorrelation starts (0 or more, below <see cref="Sweeps"/> - 1).</summary>
    public int BurnIn { get; init; } = 100;

    /// <summary>Largest lag of the energy autocorrelation reported (at least 1; cut to the series' length - 1).</summary>
    public int MaxLag { get; init; } = 50;

    /// <summary>c of Sokal's automatic window: the smallest window M with M &gt;= c tau(M).</summary>
    public double WindowFactor { get; init; } = 5;

    /// <summary>Repetitions of the exact sampler that give the total-variation floor (at least 2).</summary>
    public int FloorRepetitions { get; init; } = 10;

    /// <summary>Philox seed of the chains' start, their updates and the exact sampler.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Throws <see cref="InfoGpuException"/> naming the settings out of range.</summary>
    public void Validate()
    {
        if (Chains < 2)
            throw new InfoGpuException($"Gibbs diagnostics need at least 2 chains (got {Chains})");
        if (Sweeps < 2 || BurnIn < 0 || BurnIn > Sweeps - 2)
            throw new InfoGpuException($"Gibbs diagnostics need sweeps >= 2 and 0 <= burn-in <= sweeps - 2, so that at least 2 sweeps follow the burn-in (got {Sweeps} sweeps, burn-in {BurnIn})");
        if (MaxLag < 1)
            throw new InfoGpuException($"the largest autocorrelation lag must be >= 1 (got {MaxLag})");
        if (!(WindowFactor >= 1) || !double.IsFinite(WindowFactor))
            throw new InfoGpuException($"the window factor c of the autocorrelation time must be a number >= 1 (got {WindowFactor})");
        if (FloorRepetitions < 2)
            throw new InfoGpuException($"the exact-sampler floor needs at least 2 repetitions (got {FloorRepetitions})");
        if (Chains > 1_000_000 || (long)Chains * Sweeps > 10_000_000)
            throw new InfoGpuException($"{Chains} chains x {Sweeps} sweeps: at most 1,000,000 chains and 10 million recorded states (chains x sweeps); give fewer chains or sweeps");
    }
}

/// <summary>
/// The autocorrelation of a stationary series, its integrated autocorrelation time and the
/// effective sample size (see <see cref="GibbsDiagnostics.Autocorrelation"/>).
/// </summary>
/// <param name="Rho">rho(k) for k = 0 .. the largest lag asked (rho(0) = 1); NaN throughout when the series is constant.</param>
/// <param name="Tau">Integrated autocorrelation time tau = 1 + 2 sum_{k=1}^{M} rho(k) with Sokal's window M; NaN when the series is constant.</param>
/// <param name="Window">The window M used.</param>
/// <param name="WindowReached">Whether some M searched met M &gt;= c tau(M); when false the series is too short (or too correlated) for the window and tau is a lower estimate.</param>
/// <param name="Samples">Values in all: chains x length.</param>
/// <param name="EffectiveSampleSize">Samples / tau; NaN when the series is constant.</param>
public sealed record AutocorrelationEstimate(double[] Rho, double Tau, int Window, bool WindowReached, long Samples, double EffectiveSampleSize);

/// <summary>Burn-in and mixing of Gibbs sampling of a machine small enough to enumerate (see <see cref="GibbsDiagnostics.Run"/>).</summary>
/// <param name="Chains">Chains run.</param>
/// <param name="Over">The units TV compares.</param>
/// <param name="TotalVariationBySweep">TV(s) for s = 0 .. sweeps: element s is the distance after s sweeps (element 0: the random start).</param>
/// <param name="TotalVariationFloor">Mean TV of <see cref="Chains"/> exact samples from p: what a perfect sampler with as many chains shows.</param>
/// <param name="TotalVariationFloorStdDev">Standard deviation of that TV over the repetitions.</param>
/// <param name="BurnIn">Sweeps discarded before the energy series.</param>
/// <param name="Energy">Autocorrelation of the energy after the burn-in, its integrated time and the effective sample size.</param>
/// <param name="Seconds">Wall time of the sweeps and the statistics.</param>
public sealed record GibbsDiagnosticsResult(
    int Chains,
    TotalVariationUnits Over,
    double[] TotalVariationBySweep,
    double TotalVariationFloor,
    double TotalVariationFloorStdDev,
    int BurnIn,
    AutocorrelationEstimate Energy,
    double Seconds)
{
    /// <summary>Sweeps run (the length of <see cref="TotalVariationBySweep"/> less one).</summary>
    public int Sweeps => TotalVariationBySweep.Length - 1;
}

/// <summary>
/// Burn-in and mixing diagnostics of the single-site Gibbs sampler of a general
/// <see cref="BoltzmannMachine"/> small enough to enumerate: the total-variation distance of the
/// chains' empirical distribution from the exact one against the number of sweeps, the
/// autocorrelation of the energy, its integrated autocorrelation time and the effective sample size.
/// </summary>
/// <remarks>
/// <para>C independent chains start at states of independent fair bits (the start of
/// <see cref="BoltzmannTrainer.Sample"/>, whose states after B sweeps these chains reproduce for
/// the same seed) and run on the device, batched, by the sampler of <see cref="BoltzmannTrainer"/>:
/// a sweep is Units single-site updates at sites drawn uniformly at random (random scan), so a
/// sweep need not visit every unit.</para>
/// <para>TV(s) = 1/2 sum_x |n_s(x)/C - p(x)|, with n_s(x) the chains in state x after s sweeps and
/// p exact (float64, by enumeration): x is the visible state and p(v) the marginal with the
/// hidden units summed out (<see cref="TotalVariationUnits.Visible"/>, the default), or x the full
/// state of all units and p(s) the joint (<see cref="TotalVariationUnits.All"/>). Even exact samples
/// leave TV of order sqrt(K / C) when C is small against the K states; <see cref="GibbsDiagnosticsResult.TotalVariationFloor"/>
/// is that floor measured on C exact samples (inverse-CDF draws from p), so burn-in is complete
/// when TV(s) reaches it.</para>
/// <para>The energy series E_c(t) of each chain after the burn-in gives the autocorrelation of
/// <see cref="Autocorrelation"/>.</para>
/// Thread-safe: the methods share no state (a <see cref="Devices.ComputeDevice"/> may be shared).
/// </remarks>
public static class GibbsDiagnostics
{
    /// <summary>Largest machine diagnosed: 20 units (2^20 states enumerated).</summary>
    public const int MaxUnits = 20;

    private const ulong FloorStream = 14;

    /// <summary>The largest window M that <see cref="Autocorrelation"/> searches beyond the lags asked for: 1,000 lags (each lag costs a pass over all the values).</summary>
    public const int MaxWindow = 1000;

    /// <summary>
    /// Runs <see cref="GibbsDiagnosticsOptions.Chains"/> chains for <see cref="GibbsDiagnosticsOptions.Sweeps"/>
    /// sweeps on <paramref name="device"/>, reading the states back after every sweep (synchronizes
    /// with the device once per sweep), and returns TV against sweeps, its floor and the energy's
    /// autocorrelation after the burn-in.
    /// </summary>
    /// <exception cref="InfoGpuException">The machine has more than <see cref="MaxUnits"/> units, or the options are out of range.</exception>
    public static GibbsDiagnosticsResult Run(Devices.ComputeDevice device, BoltzmannMachine machine, GibbsDiagnosticsOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int n = machine.Units;
        if (n > MaxUnits)
            throw new InfoGpuException($"Gibbs diagnostics enumerate all 2^units states: at most {MaxUnits} units (this machine has {n})");
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var negativeEnergy = BoltzmannExact.NegativeEnergies(machine);
        double logZ = LogSumExp64.Of(negativeEnergy);
        bool visibleOnly = options.Over == TotalVariationUnits.Visible;
        int mask = visibleOnly ? (1 << machine.Visible) - 1 : -1;
        var p = new double[visibleOnly ? 1 << machine.Visible : negativeEnergy.Length];
        for (int x = 0; x < negativeEnergy.Length; x++)
            p[x & mask] += Math.Exp(negativeEnergy[x] - logZ);
        var observed = new int[options.Chains];

        int chains = options.Chains, sweeps = options.Sweeps;
        int length = sweeps - options.BurnIn;
        var tv = new double[sweeps + 1];
        var energy = new double[(long)chains * length];
        var host = new float[chains * n];
        var index = new int[chains];
        using (var w = device.Allocate<float>(n * n))
        using (var a = device.Allocate<float>(n))
        using (var s = device.Allocate<float>((long)chains * n))
        {
            w.CopyFrom(machine.Weights.Select(v => (float)v).ToArray());
            a.CopyFrom(machine.Biases.Select(v => (float)v).ToArray());
            for (int k = 0; k < host.Length; k++)
                host[k] = Philox.Uniform(options.Seed, BoltzmannTrainer.InitStream, (ulong)k) < 0.5f ? 1f : 0f;
            s.CopyFrom(host);
            for (int sweep = 0; sweep <= sweeps; sweep++)
            {
                if (sweep > 0)
                {
                    device.Backend.BoltzmannGibbs(s, w, a, chains, n, 0, n, (long)(sweep - 1) * n, options.Seed, BoltzmannTrainer.NegativeStream);
                    s.CopyTo(host);
                }
                for (int c = 0; c < chains; c++)
                {
                    index[c] = BoltzmannExact.Index(host.AsSpan(c * n, n));
                    observed[c] = index[c] & mask;
                }
                tv[sweep] = TotalVariation(observed, p);
                int t = sweep - options.BurnIn - 1;
                if (t >= 0)
                {
                    for (int c = 0; c < chains; c++)
                        energy[(long)c * length + t] = -negativeEnergy[index[c]];
                }
            }
        }
        var (floor, floorSd) = ExactSamplerFloor(p, chains, options.FloorRepetitions, options.Seed);
        var auto = Autocorrelation(energy, chains, length, options.MaxLag, options.WindowFactor);
        return new GibbsDiagnosticsResult(chains, options.Over, tv, floor, floorSd, options.BurnIn, auto, System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds);
    }

    /// <summary>
    /// TV = 1/2 sum_x |n(x)/C - p(x)| between the empirical distribution of the states
    /// <paramref name="states"/> (indices into <paramref name="p"/>, C of them) and <paramref name="p"/>.
    /// </summary>
    /// <remarks>Sums over the states seen and adds the mass of p on the states not seen, so the cost is C log C, not 2^Units.</remarks>
    public static double TotalVariation(ReadOnlySpan<int> states, ReadOnlySpan<double> p)
    {
        if (states.IsEmpty)
            throw new InfoGpuException("the total-variation distance needs at least one state");
        var sorted = states.ToArray();
        Array.Sort(sorted);
        double c = sorted.Length, seenMass = 0, sum = 0;
        for (int k = 0; k < sorted.Length;)
        {
            int x = sorted[k], j = k;
            while (j < sorted.Length && sorted[j] == x)
                j++;
            if ((uint)x >= (uint)p.Length)
                throw new InfoGpuException($"state {x} is outside the {p.Length} states of the distribution");
            sum += Math.Abs((j - k) / c - p[x]);
            seenMass += p[x];
            k = j;
        }
        return 0.5 * (sum + Math.Max(0, 1 - seenMass));
    }

    /// <summary>
    /// The TV floor of <paramref name="count"/> samples: mean and standard deviation, over
    /// <paramref name="repetitions"/>, of the TV between <paramref name="count"/> exact draws from
    /// <paramref name="p"/> (inverse CDF of 53-bit Philox uniforms, stream 14) and <paramref name="p"/>.
    /// </summary>
    public static (double Mean, double StdDev) ExactSamplerFloor(ReadOnlySpan<double> p, int count, int repetitions, ulong seed)
    {
        if (count < 1 || repetitions < 2 || p.IsEmpty)
            throw new InfoGpuException($"the exact-sampler floor needs a distribution, count >= 1 and repetitions >= 2 (got {p.Length} states, {count}, {repetitions})");
        var cdf = new double[p.Length];
        double acc = 0;
        for (int x = 0; x < p.Length; x++)
        {
            acc += p[x];
            cdf[x] = acc;
        }
        var draws = new int[count];
        double sum = 0, sumSq = 0;
        for (int r = 0; r < repetitions; r++)
        {
            for (int k = 0; k < count; k++)
            {
                var b = Philox.Block(seed, FloorStream, (ulong)r * (ulong)count + (ulong)k);
                double u = (((ulong)(b.X0 >> 5) << 26) + (b.X1 >> 6) + 0.5) / 9007199254740992.0 * acc;
                int x = Array.BinarySearch(cdf, u);
                x = x >= 0 ? x : ~x;
                draws[k] = Math.Min(x, p.Length - 1);
            }
            double tv = TotalVariation(draws, p);
            sum += tv;
            sumSq += tv * tv;
        }
        double mean = sum / repetitions;
        double variance = Math.Max(0, (sumSq - repetitions * mean * mean) / (repetitions - 1));
        return (mean, Math.Sqrt(variance));
    }

    /// <summary>
    /// Autocorrelation of <paramref name="chains"/> series of <paramref name="length"/> values each
    /// (row-major: chain c's values at c * length ..), all from the same stationary process; float64.
    /// </summary>
    /// <remarks>
    /// With mu the mean of all the values, C(k) = sum_c sum_{t &lt; length - k} (x_c(t) - mu)(x_c(t + k) - mu) / (chains (length - k))
    /// and rho(k) = C(k) / C(0). tau(M) = 1 + 2 sum_{k=1}^{M} rho(k); Sokal's automatic window takes the
    /// smallest M &gt;= 1 with M &gt;= c tau(M) (c = <paramref name="windowFactor"/>, 5 by default), searched
    /// up to lag min(length - 1, max(<paramref name="maxLag"/>, <see cref="MaxWindow"/>)). The effective
    /// sample size is chains x length / tau.
    /// </remarks>
    /// <param name="values">The series, chains x length values.</param>
    /// <param name="chains">Number of series (at least 1).</param>
    /// <param name="length">Values per series (at least 2).</param>
    /// <param name="maxLag">Lags reported: rho(0 .. min(maxLag, length - 1)).</param>
    /// <param name="windowFactor">c of the window rule (at least 1).</param>
    public static AutocorrelationEstimate Autocorrelation(ReadOnlySpan<double> values, int chains, int length, int maxLag, double windowFactor = 5)
    {
        if (chains < 1 || length < 2 || values.Length != (long)chains * length)
            throw new InfoGpuException($"the autocorrelation needs chains >= 1 series of length >= 2 ({values.Length} values for {chains} x {length})");
        if (maxLag < 1 || !(windowFactor >= 1))
            throw new InfoGpuException($"the autocorrelation needs a largest lag >= 1 and a window factor >= 1 (got {maxLag}, {windowFactor})");
        foreach (double v in values)
        {
            if (!double.IsFinite(v))
                throw new InfoGpuException($"the autocorrelation needs finite values (found {v})");
        }
        long total = (long)chains * length;
        double mu = 0;
        foreach (double v in values)
            mu += v;
        mu /= total;
        var centered = new double[values.Length];
        for (int k = 0; k < centered.Length; k++)
            centered[k] = values[k] - mu;
        int lags = Math.Min(maxLag, length - 1);
        var rho = new double[lags + 1];
        double c0 = Covariance(centered, chains, length, 0);
        if (!(c0 > 0))
        {
            Array.Fill(rho, double.NaN);
            return new AutocorrelationEstimate(rho, double.NaN, 0, false, total, double.NaN);
        }
        rho[0] = 1;
        double tau = 1;
        int window = 0;
        bool reached = false;
        int search = Math.Min(length - 1, Math.Max(lags, MaxWindow));
        for (int k = 1; k <= search; k++)
        {
            double r = k <= lags ? (rho[k] = Covariance(centered, chains, length, k) / c0) : Covariance(centered, chains, length, k) / c0;
            if (!reached)
            {
                tau += 2 * r;
                window = k;
                if (k >= windowFactor * tau)
                    reached = true;
            }
            if (reached && k >= lags)
                break;
        }
        tau = Math.Max(tau, 1.0 / total);
        return new AutocorrelationEstimate(rho, tau, window, reached, total, total / tau);
    }

    private static double Covariance(double[] centered, int chains, int length, int lag)
    {
        double sum = 0;
        for (int c = 0; c < chains; c++)
        {
            int o = c * length;
            for (int t = 0; t + lag < length; t++)
                sum += centered[o + t] * centered[o + t + lag];
        }
        return sum / ((double)chains * (length - lag));
    }
}
