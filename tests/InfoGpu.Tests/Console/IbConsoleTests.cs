using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Console;

/// <summary><c>infogpu ib</c>: the JSON contract, the --out files and their protection, and one-line errors for bad input.</summary>
public class IbConsoleTests
{
    private const string Table = "0.3,0.05,0.05;0.05,0.3,0.05;0.1,0.05,0.05";

    private static readonly double[] Flat = [0.3, 0.05, 0.05, 0.05, 0.3, 0.05, 0.1, 0.05, 0.05];

    private static string Csv(string text)
    {
        string path = Path.Combine(TestPaths.TempDir(), "joint.csv");
        File.WriteAllText(path, text);
        return path;
    }

    private static JsonNode RunJson(params string[] args)
    {
        var (code, output, err) = ConsoleRunner.Run(args);
        Assert.True(code == 0, err);
        return JsonNode.Parse(output)!;
    }

    [Fact]
    public void JsonHasTheContractFieldsInNats()
    {
        var json = RunJson("ib", "--table", Table, "--betas", "0.5,5,20,1000", "--json");
        var exact = InformationMeasures64.Joint(Flat, 3, 3, LogBase.Nats);
        Tolerance.Close(exact.MutualInformation, json["i_xy"]!.GetValue<double>(), Tolerance.Float64Relative, what: "i_xy");
        Tolerance.Close(exact.HX, json["h_x"]!.GetValue<double>(), Tolerance.Float64Relative, what: "h_x");
        var points = json["points"]!.AsArray();
        Assert.Equal(4, points.Count);
        Assert.Equal([0.5, 5, 20, 1000], points.Select(p => p!["beta"]!.GetValue<double>()).ToArray());
        foreach (var p in points)
        {
            double ixt = p!["i_xt"]!.GetValue<double>(), ity = p["i_ty"]!.GetValue<double>();
            int used = p["clusters_used"]!.GetValue<int>();
            Assert.InRange(ity, 0, exact.MutualInformation + 1e-12);
            Assert.InRange(ixt, 0, exact.HX + 1e-12);
            Assert.InRange(used, 1, 3);
        }
        Assert.Equal(0, points[0]!["i_xt"]!.GetValue<double>(), 12);
        Assert.Equal(1, points[0]!["clusters_used"]!.GetValue<int>());
        // beta = 1000 with |T| = |X|: every x in its own cluster, all of I(X;Y) kept.
        Tolerance.Close(exact.MutualInformation, points[3]!["i_ty"]!.GetValue<double>(), 1e-6, what: "i_ty at beta 1000");
        Assert.Equal("nats", json["unit"]!.GetValue<string>());
        Assert.Equal("double", json["precision"]!.GetValue<string>());
    }

    [Fact]
    public void CsvTableOfCountsGivesTheSameAnswerAsTheNormalizedTable()
    {
        // The same joint as counts out of 20, one row per x.
        string csv = Csv("6,1,1\n1,6,1\n2,1,1\n");
        var a = RunJson("ib", "--csv", csv, "--beta-range", "1:50:6", "--json");
        var b = RunJson("ib", "--table", Table, "--beta-range", "1:50:6", "--json");
        Tolerance.Close(b["i_xy"]!.GetValue<double>(), a["i_xy"]!.GetValue<double>(), Tolerance.Float64Relative, what: "i_xy");
        var pa = a["points"]!.AsArray();
        var pb = b["points"]!.AsArray();
        Assert.Equal(6, pa.Count);
        for (int i = 0; i < pa.Count; i++)
        {
            Tolerance.Close(pb[i]!["beta"]!.GetValue<double>(), pa[i]!["beta"]!.GetValue<double>(), 1e-15, what: "beta");
            Tolerance.Close(pb[i]!["i_ty"]!.GetValue<double>(), pa[i]!["i_ty"]!.GetValue<double>(), 1e-9, 1e-12, "i_ty");
        }
        Tolerance.Close(1, pa[0]!["beta"]!.GetValue<double>(), 0, what: "first beta of the range");
        Tolerance.Close(50, pa[5]!["beta"]!.GetValue<double>(), 0, what: "last beta of the range");
    }

    [Fact]
    public void SinglePrecisionOnTheDeviceAgreesWithDouble()
    {
        var d = RunJson("ib", "--table", Table, "--betas", "0.5,5,20,200", "--json");
        var s = RunJson("ib", "--table", Table, "--betas", "0.5,5,20,200", "--precision", "single", "--accelerator", "cpu", "--json");
        Assert.Equal("single", s["precision"]!.GetValue<string>());
        Assert.Equal("cpu", s["device"]!.GetValue<string>());
        for (int i = 0; i < 4; i++)
        {
            // Float32 lanes converge to 1e-6 in p(t|x) (see InformationBottleneckDeviceTests).
            Tolerance.Close(d["points"]![i]!["i_xt"]!.GetValue<double>(), s["points"]![i]!["i_xt"]!.GetValue<double>(), 0, 2e-5, "i_xt");
            Tolerance.Close(d["points"]![i]!["i_ty"]!.GetValue<double>(), s["points"]![i]!["i_ty"]!.GetValue<double>(), 0, 2e-5, "i_ty");
        }
    }

    [Fact]
    public void TextOutputIsATable()
    {
        var (code, output, err) = ConsoleRunner.Run("ib", "--table", Table, "--betas", "2,20");
        Assert.True(code == 0, err);
        Assert.Contains("I(X;T) (nats)", output);
        Assert.Contains("clusters used", output);
        Assert.Equal(2 + 1 + 2, output.Trim().Split('\n').Length);
    }

    [Fact]
    public void OutWritesTheCurveAndTheEncodersAndRefusesToOverwrite()
    {
        string dir = TestPaths.TempDir();
        var json = RunJson("ib", "--table", Table, "--betas", "1,5,50", "--clusters", "2", "--out", dir, "--json");
        string png = Path.Combine(dir, "ib_curve.png"), csv = Path.Combine(dir, "encoders.csv");
        Assert.Equal(png, json["plot"]!.GetValue<string>());
        Assert.True(new FileInfo(png).Length > 1000);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("beta,x,t,p_t_given_x", lines[0]);
        Assert.Equal(1 + 3 * 3 * 2, lines.Length);
        // Each (beta, x) row of p(t|x) sums to 1.
        foreach (var g in lines.Skip(1).Select(l => l.Split(',')).GroupBy(f => (f[0], f[1])))
            Tolerance.Close(1, g.Sum(f => double.Parse(f[3], CultureInfo.InvariantCulture)), 1e-12, what: $"p(t|x) at beta {g.Key.Item1}, x {g.Key.Item2}");

        string before = File.ReadAllText(csv);
        var (code, output, err) = ConsoleRunner.Run("ib", "--table", Table, "--betas", "2", "--out", dir);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("--overwrite", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Equal(before, File.ReadAllText(csv));

        (code, _, err) = ConsoleRunner.Run("ib", "--table", Table, "--betas", "2", "--out", dir, "--overwrite", "--quiet");
        Assert.True(code == 0, err);
        Assert.Equal(1 + 3 * 3, File.ReadAllLines(csv).Length);
    }

    [Theory]
    [InlineData(new[] { "--table", "0.1,-0.2;0.5,0.6" }, "row 1, column 2")]
    [InlineData(new[] { "--table", "0.1,NaN;0.5,0.6" }, "item 2 is NaN")]
    [InlineData(new[] { "--table", "0,0;0,0" }, "every entry is zero")]
    [InlineData(new[] { "--table", "0.1,0.2;0.5" }, "different lengths")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--betas", "1,0" }, "beta 0")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--betas", "1,-2" }, "beta -2")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--betas", "1,,2" }, "item 2 is empty")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--beta-range", "1:10" }, "LO:HI:COUNT")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--beta-range", "10:1:5" }, "LO <= HI")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--beta-range", "0:1:5" }, "LO <= HI")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--beta-range", "1:10:x" }, "COUNT")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--beta-range", "1:10:0" }, "COUNT")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--betas", "1", "--beta-range", "1:10:3" }, "not both")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--clusters", "0" }, "--clusters 0")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--clusters", "1000000" }, "--clusters 1000000")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--seed", "-1" }, "--seed")]
    [InlineData(new[] { "--table", "0.1,0.2;0.3,0.4", "--precision", "half" }, "--precision")]
    [InlineData(new[] { "--betas", "1" }, "--table")]
    public void UsageErrorsExitWithTwoAndOneLine(string[] args, string mention)
    {
        var (code, output, err) = ConsoleRunner.Run(["ib", .. args]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith("error:", err);
        Assert.Contains(mention, err);
    }

    [Theory]
    [InlineData("0.1,0.2\n0.5,-0.6\n", "line 2, column 2")]
    [InlineData("0.1,0.2\n0.5,0.6,0.7\n", "line 2")]
    [InlineData("0,0\n0,0\n", "every entry is zero")]
    [InlineData("0.1,0.2\nabc,0.6\n", "line 2")]
    [InlineData("", "no rows")]
    public void BadCsvFilesExitWithOneAndOneLine(string text, string mention)
    {
        var (code, output, err) = ConsoleRunner.Run("ib", "--csv", Csv(text), "--betas", "1");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Single(err.Trim().Split('\n'));
        Assert.StartsWith("error:", err);
        Assert.Contains(mention, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void MissingCsvFileIsOneLine()
    {
        var (code, _, err) = ConsoleRunner.Run("ib", "--csv", Path.Combine(TestPaths.TempDir(), "absent.csv"));
        Assert.Equal(1, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", err);
    }
}
