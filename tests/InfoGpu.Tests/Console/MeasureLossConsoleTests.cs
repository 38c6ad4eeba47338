using System.Globalization;
using System.Text;
using System.Text.Json;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Tests.Measures;

namespace InfoGpu.Tests.Console;

/// <summary>
/// The console's exact joint/MI default, <c>measure loss</c>, <c>measure softmax</c> and
/// <c>measure elbo</c>, against Reference/exact_measures.json.
/// </summary>
public class MeasureLossConsoleTests
{
    /// <summary>The console prints doubles in round-trip form: the engine's float64 accuracy is what is left.</summary>
    private const double Exact = 1e-12;

    private static JsonElement Run(params string[] args)
    {
        var (code, output, err) = ConsoleRunner.Run(args);
        Assert.True(code == 0, $"exit {code}: {err}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private static double[] Doubles(JsonElement e) => ExactMeasuresTests.Doubles(e);

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string WriteCsv(string name, string text)
    {
        string path = Path.Combine(TestPaths.TempDir(), name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Rows(JsonElement matrix) =>
        string.Join("\n", matrix.EnumerateArray().Select(r => string.Join(",", Doubles(r).Select(R)))) + "\n";

    [Fact]
    public void JointDefaultsToTheExactFloat64Values()
    {
        foreach (var t in ExactMeasuresTests.Reference().GetProperty("tables").EnumerateArray())
        {
            string name = t.GetProperty("name").GetString()!;
            var doc = Run("measure", "joint", "--table", t.GetProperty("table").GetString()!, "--json");
            Assert.Equal("double", doc.GetProperty("precision").GetString());
            double mi = t.GetProperty("mi_nats").GetDouble();
            double got = doc.GetProperty("I_XY").GetDouble();
            if (mi == 0)
                Assert.True(got == 0, $"{name}: I_XY = {R(got)}, want exactly 0");
            else
                Tolerance.Close(mi, got, Exact, 0, $"{name} I_XY");
            Tolerance.Close(t.GetProperty("h_x_given_y_nats").GetDouble(), doc.GetProperty("H_X_given_Y").GetDouble(), Exact, 0, $"{name} H_X_given_Y");
            Tolerance.Close(t.GetProperty("h_y_given_x_nats").GetDouble(), doc.GetProperty("H_Y_given_X").GetDouble(), Exact, 0, $"{name} H_Y_given_X");
        }
    }

    [Fact]
    public void SinglePrecisionStillRunsOnTheDevice()
    {
        var doc = Run("measure", "joint", "--table", "0.2,0.1;0.15,0.55", "--json", "--precision", "single", "--accelerator", "cpu");
        Assert.Equal("single", doc.GetProperty("precision").GetString());
        Tolerance.Close(0.09278650115482784, doc.GetProperty("I_XY").GetDouble(), 1e-5, 0, "float32 I_XY");
    }

    [Fact]
    public void MutualInformationOfSamplesDefaultsToTheExactValue()
    {
        foreach (var s in ExactMeasuresTests.Reference().GetProperty("samples").EnumerateArray())
        {
            string x = string.Join(",", s.GetProperty("x").EnumerateArray().Select(v => v.GetInt32()));
            string y = string.Join(",", s.GetProperty("y").EnumerateArray().Select(v => v.GetInt32()));
            var doc = Run("measure", "mi", "--x", x, "--y", y, "--json");
            Assert.Equal("double", doc.GetProperty("precision").GetString());
            Tolerance.Close(s.GetProperty("mi_nats").GetDouble(), doc.GetProperty("value").GetDouble(), Exact, 0, s.GetProperty("name").GetString());
        }
    }

    [Theory]
    [InlineData("cross_entropy", "cross-entropy", null, null)]
    [InlineData("cross_entropy_torch_0.1", "cross-entropy", "0.1", null)]
    [InlineData("cross_entropy_textbook_0.3", "cross-entropy", "0.3", "textbook")]
    [InlineData("kl_div_torch_0.3", "kl-div", "0.3", "torch")]
    [InlineData("kl_div_textbook_0.1", "kl-div", "0.1", "textbook")]
    public void LossFromACsvOfLogitsMatchesPyTorch(string key, string kind, string? epsilon, string? convention)
    {
        var l = ExactMeasuresTests.Reference().GetProperty("losses");
        string csv = WriteCsv("logits.csv", Rows(l.GetProperty("logits")));
        var args = new List<string> { "measure", "loss", "--logits-csv", csv, "--targets", string.Join(",", l.GetProperty("targets").EnumerateArray().Select(v => v.GetInt32())), "--kind", kind, "--json" };
        if (epsilon is not null)
            args.AddRange(["--label-smoothing", epsilon]);
        if (convention is not null)
            args.AddRange(["--smoothing-convention", convention]);
        var doc = Run([.. args]);
        var want = Doubles(l.GetProperty(key));
        Tolerance.AllClose(want, Doubles(doc.GetProperty("values")), Exact, 1e-15, key);
        Tolerance.Close(want.Average(), doc.GetProperty("mean").GetDouble(), Exact, 0, key + " mean");
        Assert.Equal(kind, doc.GetProperty("kind").GetString());
        Assert.Equal(convention ?? "torch", doc.GetProperty("smoothing_convention").GetString());
        Assert.Equal(want.Length, doc.GetProperty("rows").GetInt32());
    }

    [Fact]
    public void LossOfOneRowOfLogits()
    {
        var doc = Run("measure", "loss", "--logits", "1,3.5,0.5,0.8", "--targets", "1", "--json");
        var want = ExactMeasuresTests.Reference().GetProperty("losses").GetProperty("cross_entropy")[0].GetDouble();
        Tolerance.Close(want, doc.GetProperty("value").GetDouble(), Exact, 0, "cross-entropy of the chapter's good logits");
    }

    [Fact]
    public void SoftmaxAndTemperedLogSoftmaxMatchPyTorch()
    {
        var l = ExactMeasuresTests.Reference().GetProperty("losses");
        string csv = WriteCsv("logits.csv", Rows(l.GetProperty("logits")));
        var doc = Run("measure", "softmax", "--logits-csv", csv, "--json");
        Tolerance.AllClose(ExactMeasuresTests.Flat(l.GetProperty("softmax")), ExactMeasuresTests.Flat(doc.GetProperty("probabilities")), Exact, 1e-300, "softmax");
        doc = Run("measure", "softmax", "--logits-csv", csv, "--log", "--temperature", R(l.GetProperty("softmax_temperature").GetDouble()), "--json");
        Tolerance.AllClose(ExactMeasuresTests.Flat(l.GetProperty("log_softmax_temperature")), ExactMeasuresTests.Flat(doc.GetProperty("log_probabilities")), Exact, 1e-15, "log-softmax at T");
    }

    [Fact]
    public void ElboFromACsvMatchesPyTorch()
    {
        var e = ExactMeasuresTests.Reference().GetProperty("elbo");
        int rows = e.GetProperty("x").GetArrayLength();
        int d = e.GetProperty("x")[0].GetArrayLength(), l = e.GetProperty("mu")[0].GetArrayLength();
        var sb = new StringBuilder();
        // Groups in a shuffled order (mu before logit) with mixed spellings: the header decides.
        sb.AppendLine(string.Join(",", Enumerable.Range(1, d).Select(i => $"x{i}")
            .Concat(Enumerable.Range(1, l).Select(i => $"mu_{i}"))
            .Concat(Enumerable.Range(1, d).Select(i => $"logit{i}"))
            .Concat(Enumerable.Range(1, l).Select(i => $"logvar_{i}"))));
        for (int r = 0; r < rows; r++)
        {
            var cells = Doubles(e.GetProperty("x")[r]).Concat(Doubles(e.GetProperty("mu")[r]))
                .Concat(Doubles(e.GetProperty("logits")[r])).Concat(Doubles(e.GetProperty("logvar")[r]));
            sb.AppendLine(string.Join(",", cells.Select(R)));
        }
        var doc = Run("measure", "elbo", "--csv", WriteCsv("vae.csv", sb.ToString()), "--json");
        Assert.Equal(rows, doc.GetProperty("rows").GetInt32());
        Assert.Equal(d, doc.GetProperty("features").GetInt32());
        Assert.Equal(l, doc.GetProperty("latent").GetInt32());
        Tolerance.AllClose(Doubles(e.GetProperty("bce_per_row")), Doubles(doc.GetProperty("bce")), Exact, 0, "bce");
        Tolerance.AllClose(Doubles(e.GetProperty("kl_per_row")), Doubles(doc.GetProperty("kl")), Exact, 0, "kl");
        Tolerance.AllClose(Doubles(e.GetProperty("elbo_per_row")), Doubles(doc.GetProperty("elbo")), Exact, 0, "elbo");
        Tolerance.Close(e.GetProperty("mean_elbo").GetDouble(), doc.GetProperty("mean_elbo").GetDouble(), Exact, 0, "mean_elbo");
        Tolerance.Close(e.GetProperty("mean_sigma").GetDouble(), doc.GetProperty("latent_statistics").GetProperty("sigma_mean").GetDouble(), Exact, 0, "sigma_mean");
    }

    [Theory]
    [InlineData(2, "measure", "loss", "--targets", "0")]
    [InlineData(2, "measure", "loss", "--logits", "1,2", "--logits-csv", "x.csv", "--targets", "0")]
    [InlineData(2, "measure", "loss", "--logits", "1,nan", "--targets", "0")]
    [InlineData(2, "measure", "loss", "--logits", "1,2", "--targets", "0", "--kind", "hinge")]
    [InlineData(2, "measure", "loss", "--logits", "1,2", "--targets", "0", "--label-smoothing", "0.1", "--smoothing-convention", "keras")]
    [InlineData(2, "measure", "loss", "--logits", "1,2", "--targets", "a")]
    [InlineData(1, "measure", "loss", "--logits", "1,2", "--targets", "2")]
    [InlineData(1, "measure", "loss", "--logits", "1,2", "--targets", "0,1")]
    [InlineData(1, "measure", "loss", "--logits", "1,2", "--targets", "0", "--label-smoothing", "1")]
    [InlineData(1, "measure", "loss", "--logits", "1,2", "--targets", "0", "--label-smoothing", "-0.1")]
    [InlineData(1, "measure", "loss", "--logits-csv", "/nonexistent/logits.csv", "--targets", "0")]
    [InlineData(2, "measure", "softmax")]
    [InlineData(1, "measure", "softmax", "--logits", "1,2", "--temperature", "0")]
    [InlineData(2, "measure", "softmax", "--logits", "1,2", "--temperature", "inf")]
    [InlineData(2, "measure", "elbo")]
    [InlineData(1, "measure", "elbo", "--csv", "/nonexistent/vae.csv")]
    [InlineData(2, "measure", "joint", "--table", "0.5,0.5", "--precision", "half")]
    public void BadInputGivesOneLineErrorAndExitCode(int expected, params string[] args)
    {
        var (code, output, err) = ConsoleRunner.Run(args);
        Assert.True(expected == code, $"exit {code}, want {expected}: {err}");
        Assert.Equal("", output);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData("x1,y1,logit1,mu1,logvar1\n0,0,1,0,0\n", "'y1' is not")]
    [InlineData("x1,x2,logit1,mu1,logvar1\n0,0,1,0,0\n", "2 x columns but 1 logit")]
    [InlineData("x1,logit1,mu1,mu2,logvar1\n0,1,0,0,0\n", "2 mu columns but 1 logvar")]
    [InlineData("x1,logit1,mu1,logvar1\n1.5,1,0,0\n", "targets must be in [0, 1]")]
    [InlineData("x1,logit1,mu1,logvar1\n0.5,abc,0,0\n", "'abc' is not a number")]
    [InlineData("x1,logit1,mu1,logvar1\n", "no rows")]
    public void BadElboCsvNamesTheProblem(string text, string message)
    {
        var (code, output, err) = ConsoleRunner.Run("measure", "elbo", "--csv", WriteCsv("bad.csv", text));
        Assert.True(code == 1, $"exit {code}: {err}");
        Assert.Equal("", output);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
    }
}
