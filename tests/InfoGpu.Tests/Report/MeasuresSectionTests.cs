using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Report;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Report;

/// <summary>The report's information-measures section: the conditional-entropy sentence and the label-smoothing figure.</summary>
public class MeasuresSectionTests
{
    [Fact]
    public void LabelSmoothingCurveHasItsMinimumAtTheSmoothedTarget()
    {
        const int k = 3;
        const double e = 0.1;
        var c = ChapterExamples.LabelSmoothingCurve(k, e, 2001);
        double step = c.Confidence[1] - c.Confidence[0];
        Assert.True(Math.Abs(c.TorchMinimum - (1 - e + e / k)) <= step, $"torch minimum at {c.TorchMinimum}, want {1 - e + e / k}");
        Assert.True(Math.Abs(c.TextbookMinimum - (1 - e)) <= step, $"textbook minimum at {c.TextbookMinimum}, want {1 - e}");
        // Every point against the closed form -t0 ln p - (1 - t0) ln((1 - p) / (K - 1)).
        for (int i = 0; i < c.Confidence.Length; i++)
        {
            double p = c.Confidence[i], rest = Math.Log((1 - p) / (k - 1));
            Tolerance.Close(-Math.Log(p), c.Plain[i], 1e-12, 1e-15, $"plain at p = {p}");
            double t0 = 1 - e + e / k;
            Tolerance.Close(-t0 * Math.Log(p) - (1 - t0) * rest, c.Torch[i], 1e-12, 1e-15, $"torch at p = {p}");
            Tolerance.Close(-(1 - e) * Math.Log(p) - e * rest, c.Textbook[i], 1e-12, 1e-15, $"textbook at p = {p}");
        }
        // Plain cross-entropy keeps falling towards p = 1.
        Assert.Equal(c.Plain.Length - 1, Array.IndexOf(c.Plain, c.Plain.Min()));
    }

    [Fact]
    public void MeasuresSectionStatesTheListingsWrongAxisAndDrawsTheSmoothingFigure()
    {
        string dir = TestPaths.TempDir();
        var command = new ExamplesCommand();
        var context = new CommandContext(Args.Parse(command.Spec, ["--quiet"]), TextWriter.Null, TextWriter.Null);
        var settings = new ReportSettings(dir, null, true, context) { Images = FashionMnist.LoadEmbedded(10), ImageSource = "test" };
        var report = new ReportDocument("test");
        var measures = ReportSections.All.Single(s => s.Name == "information measures").Run;
        TestDevices.Use("cpu", d =>
        {
            measures(d, settings, report);
            return 0;
        });
        var section = report.Sections.Single();
        string text = string.Join("\n", section.Paragraphs);
        Assert.Contains("H(X|Y) = 0.7474 and H(Y|X) = 0.8002 bits", text);
        Assert.Contains("sums over the wrong axis", text);
        Assert.Contains("prints 0.7391 and 0.7921", text);
        Assert.Contains("0.0081 bits", text);
        Assert.Contains("1 - E + E/K = 0.9333", text);
        Assert.Contains(section.Figures, f => f.File == "label_smoothing.png");
        Assert.True(new FileInfo(Path.Combine(dir, "label_smoothing.png")).Length > 1000, "label_smoothing.png was not drawn");
        Assert.Equal(0.9333, Math.Round(section.Json["label_smoothing"]!["torch_optimum_confidence"]!.GetValue<double>(), 4));
    }
}
