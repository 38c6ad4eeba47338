using System.Text.Json;

namespace InfoGpu.Tests.Console;

public class RbmCompareConsoleTests
{
    [Fact]
    public void CompareTrainsFourSamplersAndWritesTheTableJsonAndPlot()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-compare-{Environment.ProcessId}");
        try
        {
            var (code, output, err) = ConsoleRunner.Run(
                "rbm", "compare", "--limit", "200", "--hidden", "8", "--epochs", "2", "--k", "3", "--gibbs-steps", "5",
                "--ais-runs", "16", "--ais-betas", "200", "--curve-betas", "50", "--out", dir, "--accelerator", "cpu", "--json");
            Assert.True(code == 0, err);
            using var doc = JsonDocument.Parse(output);
            var methods = doc.RootElement.GetProperty("methods");
            Assert.Equal(["Gibbs-5", "CD-1", "CD-3", "PCD-1"], methods.EnumerateArray().Select(m => m.GetProperty("method").GetString()!).ToArray());
            foreach (var m in methods.EnumerateArray())
            {
                Assert.Equal(2, m.GetProperty("epochs").GetInt32());
                Assert.Equal(2, m.GetProperty("curve").GetArrayLength());
                double ll = m.GetProperty("test_log_likelihood").GetDouble();
                // A binary image of 784 pixels: log p(v) is below 0 and above the uniform model's -784 ln 2.
                Assert.InRange(ll, -784 * Math.Log(2), 0);
                Assert.True(m.GetProperty("seconds_per_epoch").GetDouble() > 0);
            }
            foreach (var f in new[] { "compare.md", "compare.json", "loglik_vs_time.png" })
                Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} was not written");
            Assert.Contains("| PCD-1 | 2 |", File.ReadAllText(Path.Combine(dir, "compare.md")));
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BadSettingsAreUsageErrors()
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "compare", "--ais-runs", "1", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
    }
}
