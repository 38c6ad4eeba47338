using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.Selection;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Selection;

/// <summary>The mutual-information estimators against scikit-learn's scores and a float64 brute-force reference.</summary>
public class MutualInformationTests
{
    /// <summary>scikit-learn's noise comes from numpy's generator, ours from Philox: the issue's bound.</summary>
    private const double NoisyAbsolute = 0.01;

    /// <summary>Same counts as scikit-learn's, float64 digamma sums of up to 1000 terms.</summary>
    private const double NoiseFreeAbsolute = 1e-6;

    /// <summary>The same integer counts summed in float64 in two orders.</summary>
    private const double SameCountsAbsolute = 1e-9;

    /// <summary>The first rows and columns of make_classification_1000x20 (the embedded copy of the reference CSV).</summary>
    private static (double[] X, double[] Y, int Rows, int Cols) Reference(int? rows = null, int? cols = null)
    {
        var table = MakeClassification.LoadEmbedded();
        int n = Math.Min(rows ?? table.Rows, table.Rows);
        int all = table.Names.Length;
        int f = Math.Min(cols ?? all, all);
        var x = new double[n * f];
        var y = new double[n];
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < f; c++)
                x[r * f + c] = table.Features[r * all + c];
            y[r] = table.Target[r];
        }
        return (x, y, n, f);
    }

    private static JsonNode ReferenceJson() => JsonNode.Parse(File.ReadAllText(TestPaths.Data("make-classification", "mutual_info_classif.json")))!;

    [Theory]
    [InlineData(NeighborSearch.Sorted)]
    [InlineData(NeighborSearch.Brute)]
    public void NoiseFreeScoresMatchScikitLearn(NeighborSearch search)
    {
        var (x, y, n, f) = Reference();
        var expected = ReferenceJson()["noise_free_nats"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var result = TestDevices.Use("cpu", d => new MutualInformationSelector(d).Select(x, n, f, y, new MutualInformationOptions(Noise: false, Search: search)));
        Assert.Equal(search == NeighborSearch.Sorted ? "sorted" : "brute", result.Method);
        Tolerance.AllClose(expected, result.Scores, 0, NoiseFreeAbsolute, "noise-free MI vs scikit-learn");
    }

    [Fact]
    public void NoisyScoresMatchScikitLearnAndSelectTheSameTopFive()
    {
        var (x, y, n, f) = Reference();
        var json = ReferenceJson();
        var expected = json["sklearn_mutual_info_classif_random_state_42_nats"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        var top5 = json["top5_desc"]!.AsArray().Select(v => v!.GetValue<int>()).ToHashSet();
        var result = TestDevices.Use("cpu", d => new MutualInformationSelector(d).Select(x, n, f, y));
        Tolerance.AllClose(expected, result.Scores, 0, NoisyAbsolute, "MI vs scikit-learn (random_state 42)");
        Assert.Equal(5, result.Selected.Length);
        Assert.True(top5.SetEquals(result.Selected), $"top 5 {string.Join(",", result.Selected)}, scikit-learn's {string.Join(",", top5)}");
    }

    [Theory]
    [InlineData(NeighborSearch.Brute)]
    [InlineData(NeighborSearch.Sorted)]
    public void IlgpuKernelsAgreeWithCpuOnTheReferenceSubset(NeighborSearch search)
    {
        var (x, y, n, f) = Reference(rows: 157, cols: 5);
        foreach (bool regression in new[] { false, true })
        {
            var options = new MutualInformationOptions(Regression: regression, Search: search);
            var cpu = TestDevices.Use("cpu", d => new MutualInformationSelector(d).Select(x, n, f, y, options));
            var gpu = TestDevices.Use("ilgpu-cpu", d => new MutualInformationSelector(d).Select(x, n, f, y, options));
            Assert.Equal(search == NeighborSearch.Sorted ? "sorted" : "brute", gpu.Method);
            Tolerance.AllClose(cpu.Scores, gpu.Scores, 0, NoiseFreeAbsolute, $"ilgpu-cpu vs cpu ({search}, regression {regression})");
        }
    }

    [Theory]
    [InlineData(NeighborSearch.Brute)]
    [InlineData(NeighborSearch.Sorted)]
    public void IlgpuAgreesWithCpuOnTiesBrokenByNoise(NeighborSearch search)
    {
        var (x, labels) = SmallClassification(61, 3, 2, ties: true);
        var t = labels.Select(l => (double)l).ToArray();
        var (rx, ry) = SmallRegression(29, 6, ties: true);
        var options = new MutualInformationOptions(Search: search);
        var regression = options with { Regression = true };
        var cpu = TestDevices.Use("cpu", d => (new MutualInformationSelector(d).Select(x, 61, 1, t, options).Scores[0], new MutualInformationSelector(d).Select(rx, 29, 1, ry, regression).Scores[0]));
        var gpu = TestDevices.Use("ilgpu-cpu", d => (new MutualInformationSelector(d).Select(x, 61, 1, t, options).Scores[0], new MutualInformationSelector(d).Select(rx, 29, 1, ry, regression).Scores[0]));
        Tolerance.Close(cpu.Item1, gpu.Item1, 0, SameCountsAbsolute, "Ross MI with ties and noise, ilgpu-cpu vs cpu");
        Tolerance.Close(cpu.Item2, gpu.Item2, 0, SameCountsAbsolute, "KSG MI with ties and noise, ilgpu-cpu vs cpu");
    }

    public static TheoryData<string, NeighborSearch> Searches => new()
    {
        { "cpu", NeighborSearch.Brute },
        { "cpu", NeighborSearch.Sorted },
        { "ilgpu-cpu", NeighborSearch.Brute },
        { "ilgpu-cpu", NeighborSearch.Sorted },
    };

    [Theory]
    [MemberData(nameof(Searches))]
    public void DiscreteFeaturesMatchFloat64Reference(string kind, NeighborSearch search)
    {
        // Column 0 continuous, column 1 discrete: contingency MI against class labels, Ross's
        // estimator with the roles exchanged against a continuous target.
        const int n = 53;
        var features = new double[2 * n];
        var labels = new int[n];
        var y = new double[n];
        var codes = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 3;
            codes[i] = (i * 7 + (int)(4 * Philox.Uniform(7, 0, (ulong)i))) % 4;
            features[2 * i] = Philox.Normal(7, 1, (ulong)i) + 0.5 * labels[i];
            features[2 * i + 1] = 10 * codes[i] - 5;
            y[i] = Philox.Normal(7, 2, (ulong)i) + 0.8 * codes[i];
        }
        var t = labels.Select(l => (double)l).ToArray();
        var options = new MutualInformationOptions(DiscreteFeatures: [1], Noise: false, Search: search);
        var (classification, regression) = TestDevices.Use(kind, d =>
        {
            var s = new MutualInformationSelector(d);
            return (s.Select(features, n, 2, t, options).Scores, s.Select(features, n, 2, y, options with { Regression = true }).Scores);
        });
        double[] wantClassification = [ReferenceRoss(features.Where((_, i) => i % 2 == 0).ToArray(), labels, 3), ReferenceContingency(codes, labels)];
        Tolerance.AllClose(wantClassification, classification, 0, SameCountsAbsolute, $"classification with a discrete feature on {kind}/{search}");
        Tolerance.Close(ReferenceRoss(y, codes, 3), regression[1], 0, SameCountsAbsolute, $"Ross MI of a discrete feature, continuous target, on {kind}/{search}");
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void SortedAndBruteBackendCountsAreTheSame(string kind)
    {
        // Two features, one with ties broken by noise-sized offsets; class 3 has no members.
        const int n = 67, features = 2, classes = 4;
        var values = new double[features * n];
        var y = new double[n];
        var labels = new int[n];
        var k = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 3;
            k[i] = 1 + i % 4;
            values[i] = Math.Round(2 * Philox.Normal(3, 0, (ulong)i)) + 1e-10 * Philox.Normal(3, 1, (ulong)i);
            values[n + i] = Philox.Normal(3, 2, (ulong)i) * (1 + labels[i]);
            y[i] = Math.Round(2 * Philox.Normal(3, 3, (ulong)i)) + 1e-10 * Philox.Normal(3, 4, (ulong)i);
        }
        TestDevices.Use(kind, d =>
        {
            var counts = new[] { new int[features * n], new int[features * n] };
            var nx = new[] { new int[features * n], new int[features * n] };
            var ny = new[] { new int[features * n], new int[features * n] };
            foreach (var (method, m) in new[] { (NeighborMethod.Brute, 0), (NeighborMethod.Sorted, 1) })
            {
                d.Backend.ClassNeighborCounts(values, labels, k, classes, counts[m], features, n, method);
                d.Backend.JointNeighborCounts(values, y, 3, nx[m], ny[m], features, n, method);
            }
            Assert.Equal(counts[0], counts[1]);
            Assert.Equal(nx[0], nx[1]);
            Assert.Equal(ny[0], ny[1]);
            Assert.All(counts[0], c => Assert.True(c >= 1));
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(Searches))]
    public void ClassificationMatchesFloat64Reference(string kind, NeighborSearch search)
    {
        foreach (var (n, classes, seed) in new[] { (37, 2, 1UL), (61, 3, 2UL), (23, 4, 3UL) })
        {
            // Exact ties make the radius test depend on the last bit of a difference: only the
            // float64 paths share the reference's rounding (ties with noise: IlgpuAgreesOnTies).
            var (x, labels) = SmallClassification(n, classes, seed, ties: seed == 2 && kind == "cpu");
            double[] expected = [ReferenceRoss(x, labels, 3)];
            var result = TestDevices.Use(kind, d => new MutualInformationSelector(d).Select(x, n, 1, labels.Select(l => (double)l).ToArray(), new MutualInformationOptions(Noise: false, Search: search)));
            Tolerance.AllClose(expected, result.Scores, 0, SameCountsAbsolute, $"Ross MI n={n} classes={classes} on {kind}/{search}");
        }
    }

    [Theory]
    [MemberData(nameof(Searches))]
    public void RegressionMatchesFloat64Reference(string kind, NeighborSearch search)
    {
        foreach (var (n, seed) in new[] { (41, 5UL), (29, 6UL) })
        {
            var (x, y) = SmallRegression(n, seed, ties: seed == 6 && kind == "cpu");
            double[] expected = [ReferenceKsg(Scaled(x), Scaled(y), 3)];
            var result = TestDevices.Use(kind, d => new MutualInformationSelector(d).Select(x, n, 1, y, new MutualInformationOptions(Regression: true, Noise: false, Search: search)));
            Tolerance.AllClose(expected, result.Scores, 0, SameCountsAbsolute, $"KSG MI n={n} on {kind}/{search}");
        }
    }

    [Fact]
    public void IndependentVariablesGiveNearZero()
    {
        const int n = 3000;
        var x = new double[n];
        var y = new double[n];
        var t = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = Philox.Normal(11, 0, (ulong)i);
            y[i] = Philox.Normal(11, 1, (ulong)i);
            t[i] = Philox.Uniform(11, 2, (ulong)i) < 0.4 ? 1 : 0;
        }
        var both = TestDevices.Use("cpu", d =>
        {
            var s = new MutualInformationSelector(d);
            return (s.Select(x, n, 1, t).Scores[0], s.Select(x, n, 1, y, new MutualInformationOptions(Regression: true)).Scores[0]);
        });
        // The estimators' spread at n = 3000 is about 0.005 nats.
        Assert.True(both.Item1 < 0.02, $"classification MI of independent variables {both.Item1}");
        Assert.True(both.Item2 < 0.02, $"regression MI of independent variables {both.Item2}");
    }

    [Fact]
    public void CopyOfTheTargetGivesItsEntropy()
    {
        const int n = 2000;
        var t = new double[n];
        var counts = new double[3];
        for (int i = 0; i < n; i++)
        {
            t[i] = Philox.Uniform(12, 0, (ulong)i) < 0.5 ? 0 : Philox.Uniform(12, 1, (ulong)i) < 0.6 ? 1 : 2;
            counts[(int)t[i]]++;
        }
        double h = -counts.Sum(c => c / n * Math.Log(c / n));
        var (asDiscrete, asContinuous) = TestDevices.Use("cpu", d =>
        {
            var s = new MutualInformationSelector(d);
            return (s.Select(t, n, 1, t, new MutualInformationOptions(DiscreteFeatures: [0])).Scores[0], s.Select(t, n, 1, t).Scores[0]);
        });
        Tolerance.Close(h, asDiscrete, 1e-12, 0, "contingency MI of a copy of the target");
        // Ross's estimate of a copy: psi(N) - <psi(N_c)> + O(k / N_c) = H(Y) up to about 0.01.
        Tolerance.Close(h, asContinuous, 0, 0.02, "Ross MI of a continuous copy of the target");
    }

    [Fact]
    public void CorrelatedGaussiansGiveTheirMutualInformation()
    {
        const int n = 4000;
        const double rho = 0.8;
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = Philox.Normal(13, 0, (ulong)i);
            y[i] = rho * x[i] + Math.Sqrt(1 - rho * rho) * Philox.Normal(13, 1, (ulong)i);
        }
        double score = TestDevices.Use("cpu", d => new MutualInformationSelector(d).Select(x, n, 1, y, new MutualInformationOptions(Regression: true)).Scores[0]);
        // KSG's bias at k = 3, n = 4000 is well under 0.02 nats for a Gaussian pair.
        Tolerance.Close(-0.5 * Math.Log(1 - rho * rho), score, 0, 0.03, "KSG MI of correlated Gaussians");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(37)]
    [InlineData(1031)]
    public void RadixSortOrderSortsLikeArraySort(int n)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++)
            v[i] = i % 7 == 0 ? Math.Round(Philox.Normal(9, 0, (ulong)i)) : i % 11 == 0 ? -0.0 : Philox.Normal(9, 0, (ulong)i) * Math.Pow(10, i % 5 - 2);
        var order = new int[n];
        var sorted = new double[n];
        InfoGpu.Kernels.Cpu.CpuNeighborKernels.SortOrder(v, order, sorted);
        var expected = v.OrderBy(a => a).ToArray();
        Assert.Equal(expected, sorted);
        Assert.Equal(Enumerable.Range(0, n), order.Order());
        for (int i = 0; i < n; i++)
            Assert.Equal(v[order[i]], sorted[i]);
    }

    [Fact]
    public void AutoSearchIsSortedOnCpuAndBruteOnGpusUpToTheLimit()
    {
        Assert.Equal("sorted", MutualInformationSelector.ChooseMethod(DeviceKind.Cpu, 1000, NeighborSearch.Auto));
        Assert.Equal("brute", MutualInformationSelector.ChooseMethod(DeviceKind.Cuda, 50_000, NeighborSearch.Auto));
        Assert.Equal("sorted", MutualInformationSelector.ChooseMethod(DeviceKind.Cuda, MutualInformationSelector.BruteForceLimit + 1, NeighborSearch.Auto));
        Assert.Equal("brute", MutualInformationSelector.ChooseMethod(DeviceKind.Cpu, 1000, NeighborSearch.Brute));
        Assert.Equal("sorted", MutualInformationSelector.ChooseMethod(DeviceKind.Cuda, 10, NeighborSearch.Sorted));
        Assert.Equal("sorted", MutualInformationSelector.ChooseMethod(DeviceKind.IlgpuCpu, 40, NeighborSearch.Auto));
    }

    [Fact]
    public void DigammaMatchesKnownValues()
    {
        Tolerance.Close(-SpecialFunctions.EulerGamma, SpecialFunctions.Digamma(1.0), 0, 4e-15, "psi(1)");
        Tolerance.Close(-SpecialFunctions.EulerGamma - 2 * Math.Log(2), SpecialFunctions.Digamma(0.5), 0, 1e-14, "psi(1/2)");
        Tolerance.Close(Math.Log(1e6) - 0.5e-6, SpecialFunctions.Digamma(1e6), 1e-14, 0, "psi(1e6)");
        var table = SpecialFunctions.DigammaTable(5000);
        for (int m = 1; m <= 5000; m += 37)
            Tolerance.Close(SpecialFunctions.Digamma((double)m), table[m], 0, 1e-12, $"psi table at {m}");
        Tolerance.Close(SpecialFunctions.Digamma(3.7), SpecialFunctions.Digamma(3.7f), 1e-6, 0, "float32 psi(3.7)");
    }

    [Fact]
    public void BadInputGivesOneLineErrors()
    {
        var x = new double[] { 1, 2, double.NaN, 4, 5, 6 };
        var y = new double[] { 0, 1, 0, 1, 0, 1 };
        TestDevices.Use("cpu", d =>
        {
            var s = new MutualInformationSelector(d);
            var e = Assert.Throws<InfoGpuException>(() => s.Select(x, 6, 1, y, new MutualInformationOptions(Neighbors: 2)));
            Assert.Contains("row 2", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            e = Assert.Throws<InfoGpuException>(() => s.Select([1, 2, 3, 4, 5, 6], 6, 1, [0, 1, 0.5, 1, 0, 1], new MutualInformationOptions(Neighbors: 2)));
            Assert.Contains("regression", e.Message);
            e = Assert.Throws<InfoGpuException>(() => s.Select([1, 2, 3], 3, 1, [0, 1, 0]));
            Assert.Contains("neighbors", e.Message);
            return 0;
        });
    }

    // ---------------------------------------------------------------- small inputs and references

    private static (double[] X, int[] Labels) SmallClassification(int n, int classes, ulong seed, bool ties)
    {
        var x = new double[n];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % classes;
            double v = Philox.Normal(seed, 0, (ulong)i) + 0.7 * labels[i];
            x[i] = ties ? Math.Round(v * 4) / 4 : v;
        }
        labels[n - 1] = classes; // a class with one member: dropped by the estimator
        return (x, labels);
    }

    private static (double[] X, double[] Y) SmallRegression(int n, ulong seed, bool ties)
    {
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = Philox.Normal(seed, 0, (ulong)i);
            y[i] = x[i] + Philox.Normal(seed, 1, (ulong)i);
            if (ties)
                (x[i], y[i]) = (Math.Round(x[i] * 2) / 2, Math.Round(y[i] * 2) / 2);
        }
        return (x, y);
    }

    private static double[] Scaled(double[] v)
    {
        double mean = v.Average();
        double std = Math.Sqrt(v.Sum(a => (a - mean) * (a - mean)) / v.Length);
        return v.Select(a => a / std).ToArray();
    }

    /// <summary>Ross 2014 by the definition: all distances sorted, radius shrunk to the next float towards 0, inclusive counts.</summary>
    private static double ReferenceRoss(double[] raw, int[] labels, int k)
    {
        double[] c = Scaled(raw);
        var keep = Enumerable.Range(0, c.Length).Where(i => labels.Count(l => l == labels[i]) > 1).ToArray();
        int n = keep.Length;
        double sum = 0;
        foreach (int i in keep)
        {
            int size = keep.Count(j => labels[j] == labels[i]);
            int ki = Math.Min(k, size - 1);
            var within = keep.Where(j => j != i && labels[j] == labels[i]).Select(j => Math.Abs(c[j] - c[i])).OrderBy(d => d).ToArray();
            double r = Math.BitDecrement(within[ki - 1]);
            if (within[ki - 1] == 0)
                r = 0;
            int m = keep.Count(j => Math.Abs(c[j] - c[i]) <= r);
            sum += SpecialFunctions.Digamma((double)ki) - SpecialFunctions.Digamma((double)size) - SpecialFunctions.Digamma((double)m);
        }
        return Math.Max(0, SpecialFunctions.Digamma((double)n) + sum / n);
    }

    /// <summary>sum p(x,y) ln(p(x,y) / (p(x) p(y))) of two code vectors, by the definition.</summary>
    private static double ReferenceContingency(int[] x, int[] y)
    {
        int n = x.Length;
        double mi = 0;
        foreach (var cell in x.Zip(y).GroupBy(p => p))
        {
            double pxy = (double)cell.Count() / n;
            double px = (double)x.Count(v => v == cell.Key.First) / n;
            double py = (double)y.Count(v => v == cell.Key.Second) / n;
            mi += pxy * Math.Log(pxy / (px * py));
        }
        return Math.Max(0, mi);
    }

    /// <summary>KSG (first algorithm, max-norm) by the definition.</summary>
    private static double ReferenceKsg(double[] x, double[] y, int k)
    {
        int n = x.Length;
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var d = Enumerable.Range(0, n).Where(j => j != i).Select(j => Math.Max(Math.Abs(x[j] - x[i]), Math.Abs(y[j] - y[i]))).OrderBy(v => v).ToArray();
            double r = d[k - 1] == 0 ? 0 : Math.BitDecrement(d[k - 1]);
            int nx = Enumerable.Range(0, n).Count(j => Math.Abs(x[j] - x[i]) <= r);
            int ny = Enumerable.Range(0, n).Count(j => Math.Abs(y[j] - y[i]) <= r);
            sum += SpecialFunctions.Digamma((double)nx) + SpecialFunctions.Digamma((double)ny);
        }
        return Math.Max(0, SpecialFunctions.Digamma((double)n) + SpecialFunctions.Digamma((double)k) - sum / n);
    }
}
