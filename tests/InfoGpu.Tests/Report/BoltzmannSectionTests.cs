using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Report;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Report;

public class BoltzmannSectionTests
{
    [Fact]
    public void TheSectionPlotsTotalVariationAgainstSweepsWithItsFloor()
    {
        string dir = TestPaths.TempDir();
        var command = new ReportCommand();
        var context = new CommandContext(Args.Parse(command.Spec, ["--quick", "--quiet"]), TextWriter.Null, TextWriter.Null);
        var settings = new ReportSettings(dir, null, true, context) { Images = FashionMnist.LoadEmbedded(10), ImageSource = "embedded" };
        var report = new ReportDocument("test");
        var section = ReportSections.All.Single(s => s.Name == "general Boltzmann machine").Run;
        TestDevices.Use("cpu", d =>
        {
            section(d, settings, report);
            return 0;
        });
        var s = report.Sections.Single();
        Assert.Contains(s.Figures, f => f.File == "boltzmann_tv.png");
        Assert.True(new FileInfo(Path.Combine(dir, "boltzmann_tv.png")).Length > 1000, "boltzmann_tv.png was not drawn");
        var g = s.Json["gibbs_diagnostics"]!;
        var tv = g["tv_by_sweep"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        double floor = g["tv_floor"]!.GetValue<double>(), sd = g["tv_floor_stddev"]!.GetValue<double>();
        Assert.Equal(101, tv.Length);
        // The learned machine's chains start far from p(v) and reach the exact sampler's floor.
        Assert.True(tv[0] > 2 * floor, $"TV at the start {tv[0]:F3}, floor {floor:F3}");
        Assert.True(tv[^10..].Average() < floor + 4 * sd + 0.02, $"TV over the last 10 sweeps {tv[^10..].Average():F3}, floor {floor:F3} +- {sd:F3}");
        Assert.True(g["effective_sample_size"]!.GetValue<double>() <= g["energy_samples"]!.GetValue<long>());
        Assert.Contains(s.Tables, t => t.Caption == "Gibbs mixing of the learned machine");
    }
}
