using InfoGpu.Boltzmann;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Boltzmann;

public class GibbsDiagnosticsTests
{
    /// <summary>
    /// Statistical bound on the integrated autocorrelation time of a long AR(1) series: Sokal's
    /// variance var(tau)/tau^2 ~ 2 (2M + 1) / N gives a relative standard deviation of about 2% for
    /// rho = 0.9 (M ~ 95) and N = 10^6; 10% is five of them, and the window's truncation bias
    /// (2 rho^(M+1) / (1 - rho) ~ 1e-3) is far below.
    /// </summary>
    private const double AutocorrelationTimeRelative = 0.10;

    /// <summary>rho(k) of N = 10^6 AR(1) values has a standard error near sqrt((1 + rho^2) / (1 - rho^2) / N) ~ 0.003; 0.02 is six of them.</summary>
    private const double AutocorrelationAbsolute = 0.02;

    private static double[] Ar1(double rho, int chains, int length, ulong seed)
    {
        var x = new double[chains * length];
        double sd = Math.Sqrt(1 - rho * rho);
        ulong k = 0;
        for (int c = 0; c < chains; c++)
        {
            double v = Philox.Normal(seed, 5, k++) / sd; // the stationary start, variance 1 / (1 - rho^2) of unit innovations
            for (int t = 0; t < length; t++)
            {
                x[c * length + t] = v;
                v = rho * v + Philox.Normal(seed, 5, k++);
            }
        }
        return x;
    }

    [Theory]
    [InlineData(0.9)]
    [InlineData(0.5)]
    [InlineData(0.0)]
    public void Ar1AutocorrelationTimeMatchesTheory(double rho)
    {
        const int chains = 20, length = 50_000;
        var x = Ar1(rho, chains, length, 7);
        var est = GibbsDiagnostics.Autocorrelation(x, chains, length, 10);
        double tau = (1 + rho) / (1 - rho);
        Assert.Equal(1.0, est.Rho[0]);
        Assert.True(est.WindowReached, "the window was not reached on a series 2500 times longer than tau");
        Tolerance.Close(tau, est.Tau, AutocorrelationTimeRelative, 0, "integrated autocorrelation time");
        Tolerance.Close((double)chains * length / tau, est.EffectiveSampleSize, AutocorrelationTimeRelative, 0, "effective sample size");
        Assert.Equal((long)chains * length, est.Samples);
        for (int k = 1; k <= 10; k++)
            Tolerance.Close(Math.Pow(rho, k), est.Rho[k], 0, AutocorrelationAbsolute, $"rho({k})");
        Assert.True(est.Window >= 5 * est.Tau, $"window {est.Window} below 5 tau = {5 * est.Tau}");
    }

    [Fact]
    public void AutocorrelationMatchesTheDirectFormula()
    {
        // A float64 reference written out plainly: mean over all values, covariance at each lag
        // over the pairs within each chain, normalised by the lag-0 one.
        const int chains = 3, length = 41;
        var x = Ar1(0.7, chains, length, 11);
        double mu = x.Average();
        double C(int k)
        {
            double s = 0;
            int pairs = 0;
            for (int c = 0; c < chains; c++)
            {
                for (int t = 0; t + k < length; t++)
                {
                    s += (x[c * length + t] - mu) * (x[c * length + t + k] - mu);
                    pairs++;
                }
            }
            return s / pairs;
        }
        var est = GibbsDiagnostics.Autocorrelation(x, chains, length, 8, 3);
        double tau = 1;
        int m = 0;
        for (int k = 1; k < length; k++)
        {
            tau += 2 * C(k) / C(0);
            m = k;
            if (k >= 3 * tau)
                break;
        }
        for (int k = 0; k <= 8; k++)
            Tolerance.Close(C(k) / C(0), est.Rho[k], Tolerance.Float64Relative, 1e-12, $"rho({k})");
        Tolerance.Close(tau, est.Tau, Tolerance.Float64Relative, 0, "tau");
        Assert.Equal(m, est.Window);
    }

    [Fact]
    public void ConstantSeriesHasNoAutocorrelationTime()
    {
        var est = GibbsDiagnostics.Autocorrelation(new double[40], 2, 20, 5);
        Assert.True(double.IsNaN(est.Tau) && double.IsNaN(est.EffectiveSampleSize) && est.Rho.All(double.IsNaN));
    }

    [Fact]
    public void TotalVariationOfKnownCounts()
    {
        double[] p = [0.5, 0.25, 0.125, 0.125];
        // Empirical (2/4, 1/4, 1/4, 0): |0| + |0| + |1/8| + |1/8| = 1/4, halved.
        Assert.Equal(0.125, GibbsDiagnostics.TotalVariation([0, 2, 1, 0], p), 12);
        // Empirical (0, 1, 0, 0): (1/2 + 3/4 + 1/8 + 1/8) / 2.
        Assert.Equal(0.75, GibbsDiagnostics.TotalVariation([1, 1], p), 12);
        Assert.Throws<InfoGpuException>(() => GibbsDiagnostics.TotalVariation([4], p));
    }

    private static BoltzmannMachine RandomMachine(int visible, int hidden, ulong seed, double scale)
    {
        var m = new BoltzmannMachine(visible, hidden);
        m.InitializeRandom(seed, scale);
        for (int i = 0; i < m.Units; i++)
            m.Biases[i] = scale * Philox.Normal(seed, 9, (ulong)i);
        return m;
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void TotalVariationFallsToTheExactSamplerFloor(string kind)
    {
        var m = RandomMachine(3, 2, 5, 2.0);
        var o = new GibbsDiagnosticsOptions { Over = TotalVariationUnits.All, Chains = 2000, Sweeps = 60, BurnIn = 20, MaxLag = 10, FloorRepetitions = 20, Seed = 3 };
        var r = TestDevices.Use(kind, d => GibbsDiagnostics.Run(d, m, o));
        Assert.Equal(61, r.TotalVariationBySweep.Length);
        Assert.True(r.TotalVariationBySweep[0] > 4 * r.TotalVariationFloor, $"the random start is already at TV {r.TotalVariationBySweep[0]:F4} (floor {r.TotalVariationFloor:F4})");
        // At stationarity each sweep's C states are C exact samples, so TV has the floor's law.
        double tail = r.TotalVariationBySweep[^20..].Average();
        Assert.True(Math.Abs(tail - r.TotalVariationFloor) < 3 * r.TotalVariationFloorStdDev + 1e-9,
            $"TV over the last 20 sweeps {tail:F4}, floor {r.TotalVariationFloor:F4} +- {r.TotalVariationFloorStdDev:F4}");
        Assert.True(r.TotalVariationBySweep[10] < r.TotalVariationBySweep[0] && r.TotalVariationBySweep[5] < r.TotalVariationBySweep[1]);
        Assert.Equal(1.0, r.Energy.Rho[0]);
        Assert.True(r.Energy.EffectiveSampleSize <= r.Energy.Samples, $"ESS {r.Energy.EffectiveSampleSize} above the {r.Energy.Samples} samples");
        Assert.Equal(2000L * 40, r.Energy.Samples);
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ChainsAreThoseOfSample(string kind)
    {
        // The diagnostics' chains after B sweeps are the states BoltzmannTrainer.Sample draws with
        // burn-in B and the same seed: the TV of those states equals the diagnostics' TV(B) exactly.
        var m = RandomMachine(3, 2, 6, 1.0);
        var o = new GibbsDiagnosticsOptions { Over = TotalVariationUnits.All, Chains = 300, Sweeps = 8, BurnIn = 2, Seed = 12 };
        var (r, samples) = TestDevices.Use(kind, d => (GibbsDiagnostics.Run(d, m, o), BoltzmannTrainer.Sample(d, m, 300, 5, 12)));
        var index = Enumerable.Range(0, 300).Select(c => BoltzmannExact.Index(samples.AsSpan(c * m.Units, m.Units))).ToArray();
        Assert.Equal(GibbsDiagnostics.TotalVariation(index, BoltzmannExact.Distribution(m)), r.TotalVariationBySweep[5], 12);
    }

    [Fact]
    public void VisibleMarginalIsNeverFartherThanTheJoint()
    {
        // The same chains (same seed) seen through their visible units: summing out the hidden
        // units cannot increase the total-variation distance, sweep by sweep, and the visible
        // marginal's 8 states give a lower floor than the joint's 32.
        var m = RandomMachine(3, 2, 5, 2.0);
        var all = new GibbsDiagnosticsOptions { Over = TotalVariationUnits.All, Chains = 700, Sweeps = 30, BurnIn = 5, Seed = 8 };
        var joint = TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, m, all));
        var visible = TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, m, all with { Over = TotalVariationUnits.Visible }));
        for (int s = 0; s <= 30; s++)
            Assert.True(visible.TotalVariationBySweep[s] <= joint.TotalVariationBySweep[s] + 1e-12, $"sweep {s}: visible {visible.TotalVariationBySweep[s]} > joint {joint.TotalVariationBySweep[s]}");
        Assert.True(visible.TotalVariationFloor < joint.TotalVariationFloor);
        Assert.Equal(joint.Energy.Tau, visible.Energy.Tau);
        Assert.Equal(TotalVariationUnits.Visible, visible.Over);
    }

    [Fact]
    public void IndependentUnitsFollowTheirExactLawAfterEverySweep()
    {
        // Zero weights: each unit is independent. Random scan updates a unit with probability 1/n
        // per step, and an update draws it exactly, so after s sweeps (n s steps) unit i is 1 with
        // q_i = p_i + (1/2 - p_i)(1 - 1/n)^(n s) (the start is a fair bit). |TV(emp, p) - TV(q, p)|
        // <= TV(emp, q), whose law is the floor of q.
        const int n = 5, chains = 4000;
        var m = new BoltzmannMachine(n, 0);
        double[] bias = [-1.5, 0.5, 2.0, -0.3, 1.0];
        bias.CopyTo(m.Biases, 0);
        var o = new GibbsDiagnosticsOptions { Chains = chains, Sweeps = 12, BurnIn = 2, FloorRepetitions = 20, Seed = 9 };
        var r = TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, m, o));
        var p = BoltzmannExact.Distribution(m);
        foreach (int s in new[] { 0, 1, 2, 3, 5, 12 })
        {
            var q = new double[1 << n];
            double stay = Math.Pow(1 - 1.0 / n, n * s);
            for (int x = 0; x < q.Length; x++)
            {
                double prob = 1;
                for (int i = 0; i < n; i++)
                {
                    double pi = 1 / (1 + Math.Exp(-bias[i]));
                    double qi = pi + (0.5 - pi) * stay;
                    prob *= ((x >> i) & 1) == 1 ? qi : 1 - qi;
                }
                q[x] = prob;
            }
            double trueTv = 0.5 * p.Zip(q, (a, b) => Math.Abs(a - b)).Sum();
            var (floorQ, sdQ) = GibbsDiagnostics.ExactSamplerFloor(q, chains, 20, 77);
            Assert.True(Math.Abs(r.TotalVariationBySweep[s] - trueTv) <= floorQ + 4 * sdQ,
                $"sweep {s}: TV {r.TotalVariationBySweep[s]:F4}, exact chain law {trueTv:F4}, floor of q {floorQ:F4} +- {sdQ:F4}");
        }
    }

    [Fact]
    public void UniformMachineIsAtTheFloorFromTheStart()
    {
        // Zero weights and biases: p is uniform and the fair-bit start is already exact, so TV(1)
        // (and every sweep) has the law of the floor.
        var m = new BoltzmannMachine(4, 2);
        var o = new GibbsDiagnosticsOptions { Over = TotalVariationUnits.All, Chains = 500, Sweeps = 10, BurnIn = 1, FloorRepetitions = 30, Seed = 4 };
        var r = TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, m, o));
        foreach (int s in new[] { 1, 5, 10 })
        {
            Assert.True(Math.Abs(r.TotalVariationBySweep[s] - r.TotalVariationFloor) < 4 * r.TotalVariationFloorStdDev,
                $"sweep {s}: TV {r.TotalVariationBySweep[s]:F4}, floor {r.TotalVariationFloor:F4} +- {r.TotalVariationFloorStdDev:F4}");
        }
        // 64 states and 500 samples: the floor is about 1/2 sum_x E|n_x/C - 1/64| ~ 0.14.
        Assert.InRange(r.TotalVariationFloor, 0.08, 0.2);
        Assert.True(double.IsNaN(r.Energy.Tau), "a constant energy has no autocorrelation time");
    }

    private static BoltzmannMachine Ferromagnet(int n, double w)
    {
        // All pairs linked by w and biases -w (n - 1) / 2 + 0.3: all-on is the likelier of two modes
        // of different energies, so the energy sees the slow switches between them.
        var m = new BoltzmannMachine(n, 0);
        for (int i = 0; i < n; i++)
        {
            m.Biases[i] = -w * (n - 1) / 2 + 0.3;
            for (int j = i + 1; j < n; j++)
                m.SetWeight(i, j, w);
        }
        return m;
    }

    [Fact]
    public void StrongCouplingMixesSlowerThanWeak()
    {
        var o = new GibbsDiagnosticsOptions { Chains = 300, Sweeps = 400, BurnIn = 50, MaxLag = 20, Seed = 2 };
        var weak = TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, Ferromagnet(6, 0.2), o));
        var strong = TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, Ferromagnet(6, 1.5), o));
        Assert.True(strong.Energy.Tau > 3 * weak.Energy.Tau, $"tau strong {strong.Energy.Tau:F2}, weak {weak.Energy.Tau:F2}");
        Assert.True(strong.Energy.EffectiveSampleSize < weak.Energy.EffectiveSampleSize);
        Assert.True(weak.Energy.Tau >= 1, $"weak tau {weak.Energy.Tau:F3}: random-scan Gibbs has nonnegative autocorrelations");
    }

    [Fact]
    public void TooLargeMachinesAndBadOptionsAreRefused()
    {
        var big = new BoltzmannMachine(GibbsDiagnostics.MaxUnits + 1, 0);
        var e = Assert.Throws<InfoGpuException>(() => TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, big, new GibbsDiagnosticsOptions())));
        Assert.Contains(GibbsDiagnostics.MaxUnits.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
        var m = new BoltzmannMachine(3, 0);
        Assert.Throws<InfoGpuException>(() => TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, m, new GibbsDiagnosticsOptions { Sweeps = 10, BurnIn = 9 })));
        Assert.Throws<InfoGpuException>(() => TestDevices.Use("cpu", d => GibbsDiagnostics.Run(d, m, new GibbsDiagnosticsOptions { Chains = 1 })));
    }
}
