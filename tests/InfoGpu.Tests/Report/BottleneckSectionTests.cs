using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Report;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Variational;

namespace InfoGpu.Tests.Report;

/// <summary>The report's information-bottleneck section: its curve, its device check, and the VAE sweep it shows beside the curve.</summary>
public class BottleneckSectionTests
{
    private static ReportSettings Settings(string dir)
    {
        var context = new CommandContext(Args.Parse(new ReportCommand().Spec, []), TextWriter.Null, TextWriter.Null);
        return new ReportSettings(dir, null, true, context) { Images = FashionMnist.LoadEmbedded(10), ImageSource = "test" };
    }

    [Fact]
    public void TheSectionDrawsTheCurveAndShowsTheVaeSweepBesideIt()
    {
        string dir = TestPaths.TempDir();
        var report = new ReportDocument("test");
        // What the VAE section leaves: its sweep in its JSON and its rate-distortion figure.
        var vae = report.Add("vae", "VAE");
        var sweep = new[] { new VaeBetaPoint(0.5, 30, 80, -110, 12, 1), new VaeBetaPoint(1, 20, 90, -110, 8, 1), new VaeBetaPoint(4, 8, 120, -128, 3, 1) };
        vae.Json["beta_sweep"] = new JsonArray(sweep.Select(p => (JsonNode)new JsonObject { ["beta"] = p.Beta, ["rate"] = p.Rate, ["distortion"] = p.Distortion }).ToArray());
        InfoGpu.Host.Output.VaePlots.RateDistortion(Path.Combine(dir, "vae_rate_distortion.png"), sweep);

        TestDevices.Use("cpu", d =>
        {
            ReportSections.Bottleneck(d, Settings(dir), report);
            return 0;
        });
        var s = report.Sections.Single(x => x.Id == "bottleneck");
        Assert.Equal(["ib_curve.png", "vae_rate_distortion.png"], s.Figures.Select(f => f.File).ToArray());
        Assert.True(new FileInfo(Path.Combine(dir, "ib_curve.png")).Length > 1000);
        Assert.Equal(3, s.Json["vae_beta_sweep"]!.AsArray().Count);
        Assert.Contains(s.Paragraphs, p => p.Contains("upper bound on the information I(X;Z)", StringComparison.Ordinal));

        double ixy = s.Json["i_xy"]!.GetValue<double>(), hx = s.Json["h_x"]!.GetValue<double>();
        var points = s.Json["points"]!.AsArray();
        foreach (var p in points)
        {
            Assert.InRange(p!["i_ty"]!.GetValue<double>(), 0, ixy + 1e-12);
            Assert.InRange(p["i_xt"]!.GetValue<double>(), 0, hx + 1e-12);
        }
        // At beta = 300 the 4 groups of X are separated: nearly all of I(X;Y) kept.
        Assert.True(points[^1]!["i_ty"]!.GetValue<double>() >= 0.99 * ixy, $"I(T;Y) = {points[^1]!["i_ty"]} of I(X;Y) = {ixy} at the largest beta");
        // Fewer clusters keep less: the |T| = 2 curve ends below the |T| = 8 curve.
        var two = s.Json["curves"]!["2"]!.AsArray();
        Assert.True(two[^1]!["i_ty"]!.GetValue<double>() < points[^1]!["i_ty"]!.GetValue<double>() - 1e-3);
        Assert.True(two.All(p => p!["clusters_used"]!.GetValue<int>() <= 2));
        // The float32 lanes agree with float64 (see InformationBottleneckDeviceTests for the tolerance).
        Assert.InRange(s.Json["device_max_difference"]!.GetValue<double>(), 0, 1e-4);
    }

    [Fact]
    public void WithoutTheVaeSweepTheSectionSaysSo()
    {
        string dir = TestPaths.TempDir();
        var report = new ReportDocument("test");
        TestDevices.Use("cpu", d =>
        {
            ReportSections.Bottleneck(d, Settings(dir), report);
            return 0;
        });
        var s = report.Sections.Single(x => x.Id == "bottleneck");
        Assert.Equal(["ib_curve.png"], s.Figures.Select(f => f.File).ToArray());
        Assert.Contains(s.Paragraphs, p => p.Contains("not in this report", StringComparison.Ordinal));
        Assert.Null(s.Json["vae_beta_sweep"]);
    }
}
