using System.Globalization;
using System.Text.Json;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Measures;

/// <summary>
/// The float64 mutual information, conditional entropies, ELBO and losses against
/// Reference/exact_measures.json (exact fractions with 60-digit logarithms; PyTorch in float64).
/// </summary>
public class ExactMeasuresTests(ITestOutputHelper output)
{
    /// <summary>Float64 against a reference correct to the last bit: a few ulps, with room for the logarithm's own rounding.</summary>
    private const double Exact = 1e-12;

    /// <summary>
    /// The stated bound of the float32 device path for I(X;Y) (nats), in units of
    /// H(X) + H(Y) + H(X,Y) + 1 (see <see cref="InformationMeasures.Joint"/>).
    /// Measured worst on cpu 3.0e-8, on ilgpu-cpu 5.4e-8: the bound 2^-22 leaves a factor 4.
    /// </summary>
    private const double Float32Bound = 2.384185791015625e-7;

    internal static JsonElement Reference() =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("exact_measures.json"))).RootElement;

    internal static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    internal static double[] Flat(JsonElement e) => e.EnumerateArray().SelectMany(Doubles).ToArray();

    internal static double[] ParseTable(string rows) =>
        rows.Split(';').SelectMany(r => r.Split(',')).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    [Fact]
    public void JointTablesGiveTheExactMutualInformationAndConditionalEntropies()
    {
        foreach (var t in Reference().GetProperty("tables").EnumerateArray())
        {
            string name = t.GetProperty("name").GetString()!;
            var table = ParseTable(t.GetProperty("table").GetString()!);
            int nx = t.GetProperty("nx").GetInt32(), ny = t.GetProperty("ny").GetInt32();
            var j = InformationMeasures64.Joint(table, nx, ny, LogBase.Nats);
            double mi = t.GetProperty("mi_nats").GetDouble();
            if (mi == 0)
                Assert.True(j.MutualInformation == 0, $"{name}: I(X;Y) = {j.MutualInformation:R}, want exactly 0");
            else
                Tolerance.Close(mi, j.MutualInformation, Exact, 0, $"{name} I(X;Y)");
            Tolerance.Close(t.GetProperty("h_x_given_y_nats").GetDouble(), j.HXGivenY, Exact, 0, $"{name} H(X|Y)");
            Tolerance.Close(t.GetProperty("h_y_given_x_nats").GetDouble(), j.HYGivenX, Exact, 0, $"{name} H(Y|X)");
            var bits = InformationMeasures64.Joint(table, nx, ny, LogBase.Bits);
            Tolerance.Close(mi / Math.Log(2), bits.MutualInformation, Exact, 0, $"{name} I(X;Y) in bits");
        }
    }

    [Fact]
    public void SamplesGiveTheExactPlugInMutualInformation()
    {
        foreach (var s in Reference().GetProperty("samples").EnumerateArray())
        {
            string name = s.GetProperty("name").GetString()!;
            var x = s.GetProperty("x").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var y = s.GetProperty("y").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var j = InformationMeasures64.MutualInformation(x, y, LogBase.Nats);
            Tolerance.Close(s.GetProperty("mi_nats").GetDouble(), j.MutualInformation, Exact, 0, $"{name} I(X;Y)");
            Tolerance.Close(s.GetProperty("h_x_given_y_nats").GetDouble(), j.HXGivenY, Exact, 0, $"{name} H(X|Y)");
            Tolerance.Close(s.GetProperty("h_y_given_x_nats").GetDouble(), j.HYGivenX, Exact, 0, $"{name} H(Y|X)");
        }
    }

    [Fact]
    public void IndependentSamplesGiveExactlyZero()
    {
        // Every (x, y) pair once: the counts factorize, so I(X;Y) is 0 exactly, not -2e-16.
        var x = new List<int>();
        var y = new List<int>();
        for (int a = 0; a < 3; a++)
        {
            for (int b = 0; b < 5; b++)
            {
                x.Add(a);
                y.Add(b);
            }
        }
        var j = InformationMeasures64.MutualInformation(x.ToArray(), y.ToArray(), LogBase.Bits);
        Assert.Equal(0.0, j.MutualInformation);
        Tolerance.Close(Math.Log2(3), j.HXGivenY, 1e-15, 0, "H(X|Y) of independent samples");
    }

    [Fact]
    public void ChainRuleHoldsBetweenIndependentlyComputedEntropies()
    {
        // H(X|Y) is summed directly, H(X,Y) and H(Y) from their own sums: the chain rule ties them.
        var rng = new System.Random(20);
        for (int trial = 0; trial < 200; trial++)
        {
            int nx = rng.Next(1, 7), ny = rng.Next(1, 7);
            var t = new double[nx * ny];
            bool nearIndependent = trial % 2 == 1;
            var px = Enumerable.Range(0, nx).Select(_ => rng.NextDouble() + 0.1).ToArray();
            var py = Enumerable.Range(0, ny).Select(_ => rng.NextDouble() + 0.1).ToArray();
            for (int i = 0; i < t.Length; i++)
            {
                t[i] = nearIndependent
                    ? px[i / ny] * py[i % ny] * (1 + 1e-4 * (rng.NextDouble() - 0.5))
                    : (rng.Next(5) == 0 ? 0 : rng.NextDouble());
            }
            double sum = t.Sum();
            if (sum == 0)
                continue;
            for (int i = 0; i < t.Length; i++)
                t[i] /= sum;
            var j = InformationMeasures64.Joint(t, nx, ny, LogBase.Nats, new DistributionOptions(false, 1e-9));
            string what = $"trial {trial} ({nx}x{ny})";
            Tolerance.Close(j.HXY, j.HY + j.HXGivenY, 1e-14, 1e-14, $"{what}: H(X,Y) = H(Y) + H(X|Y)");
            Tolerance.Close(j.HXY, j.HX + j.HYGivenX, 1e-14, 1e-14, $"{what}: H(X,Y) = H(X) + H(Y|X)");
            Tolerance.Close(j.HX - j.HXGivenY, j.MutualInformation, 0, 1e-14, $"{what}: I = H(X) - H(X|Y)");
            Assert.True(j.MutualInformation >= 0, $"{what}: I(X;Y) = {j.MutualInformation:R} < 0");
        }
    }

    [Fact]
    public void ChapterTableConditionalEntropiesAndTheListingsWrongAxis()
    {
        var j = InformationMeasures64.Joint(ChapterExamples.JointTable, 2, 2, LogBase.Bits);
        Assert.Equal(0.7474, Math.Round(j.HXGivenY, 4));
        Assert.Equal(0.8002, Math.Round(j.HYGivenX, 4));
        var listing = ChapterExamples.ListingConditionalEntropies();
        Assert.Equal(0.7391, Math.Round(listing.HXGivenY, 4));
        Assert.Equal(0.7921, Math.Round(listing.HYGivenX, 4));
        Assert.Equal(0.0081, Math.Round(listing.GapYGivenX, 4));
        Assert.Equal(0.0083, Math.Round(listing.GapXGivenY, 4));
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void Float32DevicePathStaysWithinItsStatedBound(string kind)
    {
        var rng = new System.Random(21);
        const int nx = 4, ny = 3, count = 64;
        var tables = new float[count * nx * ny];
        for (int t = 0; t < count; t++)
        {
            var v = Enumerable.Range(0, nx * ny).Select(_ => t % 3 == 0 ? 1 + 1e-3 * rng.NextDouble() : rng.NextDouble()).ToArray();
            double s = v.Sum();
            for (int i = 0; i < v.Length; i++)
                tables[t * nx * ny + i] = (float)(v[i] / s);
        }
        double worst = 0;
        TestDevices.Use(kind, d =>
        {
            var got = new InformationMeasures(d).Joint(tables, nx, ny, LogBase.Nats);
            for (int t = 0; t < count; t++)
            {
                var exact = InformationMeasures64.Joint(tables.AsSpan(t * nx * ny, nx * ny).ToArray().Select(v => (double)v).ToArray(), nx, ny, LogBase.Nats, new DistributionOptions(false, 1e-6));
                double scale = exact.HX + exact.HY + exact.HXY + 1;
                double ratio = Math.Abs(got[t].MutualInformation - exact.MutualInformation) / scale;
                worst = Math.Max(worst, ratio);
                Assert.True(got[t].MutualInformation >= 0, $"table {t}: float32 I(X;Y) = {got[t].MutualInformation} < 0");
                Assert.True(ratio <= Float32Bound, $"table {t}: |I32 - I| = {ratio * scale:G3} nats exceeds {Float32Bound} x (H(X) + H(Y) + H(X,Y) + 1) = {Float32Bound * scale:G3}");
            }
            return 0;
        });
        output.WriteLine($"{kind}: worst |I32 - I| / (H(X) + H(Y) + H(X,Y) + 1) = {worst:G3}");
    }

    [Fact]
    public void ElboOfGivenTensorsMatchesPyTorch()
    {
        var e = Reference().GetProperty("elbo");
        var x = Flat(e.GetProperty("x"));
        var logits = Flat(e.GetProperty("logits"));
        var mu = Flat(e.GetProperty("mu"));
        var logvar = Flat(e.GetProperty("logvar"));
        int rows = e.GetProperty("x").GetArrayLength();
        var r = ElboMeasures.Compute(x, logits, mu, logvar, x.Length / rows, mu.Length / rows);
        Assert.Equal(rows, r.Rows);
        Tolerance.AllClose(Doubles(e.GetProperty("bce_per_row")), r.Reconstruction, Exact, 0, "BCE per row");
        Tolerance.AllClose(Doubles(e.GetProperty("kl_per_row")), r.Kl, Exact, 0, "KL per row");
        Tolerance.AllClose(Doubles(e.GetProperty("elbo_per_row")), r.Elbo, Exact, 0, "ELBO per row");
        Tolerance.Close(e.GetProperty("mean_elbo").GetDouble(), r.MeanElbo, Exact, 0, "mean ELBO");
        Tolerance.Close(e.GetProperty("mean_sigma").GetDouble(), r.LatentStatistics.SigmaMean, Exact, 0, "mean posterior standard deviation");
        Tolerance.AllClose(Doubles(e.GetProperty("kl_per_dimension")), r.LatentStatistics.KlPerDimension, Exact, 0, "KL per dimension");
    }

    [Fact]
    public void ElboKeepsTheSmallTermsOfConfidentLogitsAndPosteriorsNearThePrior()
    {
        // BCE of x = 1 at logit 40 is ln(1 + e^-40) = 4.248e-18; KL at lv = 1e-9 is lv^2 / 4 = 2.5e-19.
        var r = ElboMeasures.Compute([1.0], [40.0], [0.0], [1e-9], 1, 1);
        Tolerance.Close(Math.Exp(-40), r.Reconstruction[0], 1e-15, 0, "BCE of a confident, correct logit");
        Tolerance.Close(0.25e-18 * (1 + 1e-9 / 3), r.Kl[0], 1e-12, 0, "KL of a posterior next to the prior");
    }

    [Fact]
    public void ElboRejectsBadTensors()
    {
        Assert.Throws<InfoGpuException>(() => ElboMeasures.Compute([1.5], [0.0], [0.0], [0.0], 1, 1));
        Assert.Throws<InfoGpuException>(() => ElboMeasures.Compute([0.5], [double.NaN], [0.0], [0.0], 1, 1));
        Assert.Throws<InfoGpuException>(() => ElboMeasures.Compute([0.5, 0.5], [0.0], [0.0], [0.0], 2, 1));
        Assert.Throws<InfoGpuException>(() => ElboMeasures.Compute([0.5], [0.0], [0.0, 1.0], [0.0], 1, 1));
        Assert.Throws<InfoGpuException>(() => ElboMeasures.Compute([], [], [], [], 1, 1));
        Assert.Throws<InfoGpuException>(() => ElboMeasures.Compute([0.5], [0.0], [double.PositiveInfinity], [0.0], 1, 1));
    }

    [Theory]
    [InlineData("cross_entropy", "cross-entropy", "none", 0.0)]
    [InlineData("cross_entropy_torch_0.1", "cross-entropy", "torch", 0.1)]
    [InlineData("cross_entropy_torch_0.3", "cross-entropy", "torch", 0.3)]
    [InlineData("cross_entropy_textbook_0.1", "cross-entropy", "textbook", 0.1)]
    [InlineData("cross_entropy_textbook_0.3", "cross-entropy", "textbook", 0.3)]
    [InlineData("kl_div", "kl-div", "none", 0.0)]
    [InlineData("kl_div_torch_0.1", "kl-div", "torch", 0.1)]
    [InlineData("kl_div_torch_0.3", "kl-div", "torch", 0.3)]
    [InlineData("kl_div_textbook_0.1", "kl-div", "textbook", 0.1)]
    [InlineData("kl_div_textbook_0.3", "kl-div", "textbook", 0.3)]
    public void LossesFromLogitsMatchPyTorch(string key, string kind, string convention, double epsilon)
    {
        var l = Reference().GetProperty("losses");
        var logits = Flat(l.GetProperty("logits"));
        var targets = l.GetProperty("targets").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int k = logits.Length / targets.Length;
        var smoothing = convention switch
        {
            "torch" => LabelSmoothing.Uniform(epsilon),
            "textbook" => LabelSmoothing.OtherClasses(epsilon),
            _ => LabelSmoothing.None,
        };
        var got = kind == "kl-div"
            ? InformationMeasures64.KlDivergenceFromLogits(logits, targets, k, smoothing)
            : InformationMeasures64.CrossEntropyFromLogits(logits, targets, k, smoothing);
        // 1e-12 relative, and 1e-15 absolute for the tiny loss of a 15-nat margin (2.3e-5).
        Tolerance.AllClose(Doubles(l.GetProperty(key)), got, Exact, 1e-15, key);
    }

    [Fact]
    public void SoftmaxAndTemperedLogSoftmaxMatchPyTorch()
    {
        var l = Reference().GetProperty("losses");
        var logits = Flat(l.GetProperty("logits"));
        int k = l.GetProperty("logits")[0].GetArrayLength();
        double temperature = l.GetProperty("softmax_temperature").GetDouble();
        Tolerance.AllClose(Flat(l.GetProperty("softmax")), InformationMeasures64.Softmax(logits, k), Exact, 1e-300, "softmax");
        Tolerance.AllClose(Flat(l.GetProperty("log_softmax_temperature")), InformationMeasures64.Softmax(logits, k, temperature, log: true), Exact, 1e-15, "log-softmax at T");
    }

    [Fact]
    public void LossesRejectBadInput()
    {
        Assert.Throws<InfoGpuException>(() => InformationMeasures64.CrossEntropyFromLogits([1.0, 2.0], [2], 2));
        Assert.Throws<InfoGpuException>(() => InformationMeasures64.CrossEntropyFromLogits([1.0, double.NaN], [0], 2));
        Assert.Throws<InfoGpuException>(() => InformationMeasures64.CrossEntropyFromLogits([], [], 2));
        Assert.Throws<InfoGpuException>(() => InformationMeasures64.CrossEntropyFromLogits([1.0, 2.0], [0], 2, LabelSmoothing.Uniform(1.0)));
        Assert.Throws<InfoGpuException>(() => InformationMeasures64.KlDivergenceFromLogits([1.0, 2.0], [0], 2, LabelSmoothing.OtherClasses(-0.1)));
        Assert.Throws<InfoGpuException>(() => InformationMeasures64.Softmax([1.0, 2.0], 2, 0));
    }
}
