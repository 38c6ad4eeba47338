using System.Text.Json;

namespace InfoGpu.Tests.Console;

public class RbmCompareConsoleTests
{
    [Fact]
    public void CompareTrainsTheExactGradientAndFourSamplersAndWritesTheTableJsonAndPlot()
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
            // 8 hidden units: small enough for the exact gradient and exact log-likelihoods.
            Assert.Equal(["exact gradient", "long chain (burn-in 5)", "CD-1", "CD-3", "PCD-1"], methods.EnumerateArray().Select(m => m.GetProperty("method").GetString()!).ToArray());
            Assert.Equal("exact", doc.RootElement.GetProperty("log_likelihood").GetString());
            Assert.Equal(0.5, doc.RootElement.GetProperty("momentum").GetDouble());
            foreach (var m in methods.EnumerateArray())
            {
                Assert.Equal(2, m.GetProperty("epochs").GetInt32());
                Assert.Equal(2, m.GetProperty("curve").GetArrayLength());
                double ll = m.GetProperty("test_log_likelihood").GetDouble();
                // A binary image of 784 pixels: log p(v) is below 0 and above the uniform model's -784 ln 2.
                Assert.InRange(ll, -784 * Math.Log(2), 0);
                Assert.True(m.GetProperty("seconds_per_epoch").GetDouble() > 0);
                Assert.Equal(0, m.GetProperty("log_z_stderr").GetDouble());
                Assert.Equal(ll, m.GetProperty("final_log_likelihood").GetDouble());
                double cosine = m.GetProperty("gradient_cosine").GetDouble();
                Assert.InRange(cosine, -1, 1);
                Assert.True(m.GetProperty("relative_error").GetDouble() >= 0);
                Assert.True(m.GetProperty("bias").GetDouble() >= 0);
                Assert.True(m.GetProperty("variance").GetDouble() >= 0);
                Assert.True(m.GetProperty("seconds_per_update").GetDouble() > 0);
            }
            var byName = methods.EnumerateArray().ToDictionary(m => m.GetProperty("method").GetString()!);
            // The exact row has only the mini-batch noise of the data term; CD-1 adds its bias and its chains' noise.
            Assert.True(byName["exact gradient"].GetProperty("relative_error").GetDouble() < byName["CD-1"].GetProperty("relative_error").GetDouble(),
                $"exact {byName["exact gradient"].GetProperty("relative_error").GetDouble()} vs CD-1 {byName["CD-1"].GetProperty("relative_error").GetDouble()}");
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
    public void LargeHiddenLayersUseAisAndLeaveTheGradientColumnsEmpty()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-compare-ais-{Environment.ProcessId}");
        try
        {
            var (code, output, err) = ConsoleRunner.Run(
                "rbm", "compare", "--limit", "100", "--hidden", "24", "--downscale", "2", "--epochs", "1", "--k", "2", "--gibbs-steps", "3", "--momentum", "0",
                "--ais-runs", "8", "--ais-betas", "100", "--curve-betas", "0", "--out", dir, "--accelerator", "cpu", "--json");
            Assert.True(code == 0, err);
            using var doc = JsonDocument.Parse(output);
            Assert.Equal("ais", doc.RootElement.GetProperty("log_likelihood").GetString());
            Assert.Equal(196, doc.RootElement.GetProperty("visible").GetInt32());
            Assert.Equal(0, doc.RootElement.GetProperty("momentum").GetDouble());
            var methods = doc.RootElement.GetProperty("methods");
            Assert.Equal(["long chain (burn-in 3)", "CD-1", "CD-2", "PCD-1"], methods.EnumerateArray().Select(m => m.GetProperty("method").GetString()!).ToArray());
            foreach (var m in methods.EnumerateArray())
            {
                Assert.Equal(JsonValueKind.Null, m.GetProperty("gradient_cosine").ValueKind);
                Assert.Equal(JsonValueKind.Null, m.GetProperty("seconds_per_update").ValueKind);
                Assert.InRange(m.GetProperty("test_log_likelihood").GetDouble(), -196 * Math.Log(2), 0);
            }

            // The result is not replaced without --overwrite.
            var (again, _, againErr) = ConsoleRunner.Run("rbm", "compare", "--limit", "100", "--hidden", "24", "--out", dir, "--accelerator", "cpu");
            Assert.Equal(1, again);
            Assert.Contains("--overwrite", againErr);
            Assert.Single(againErr.Trim().Split('\n'));
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// <c>--seeds</c> repeats every method per seed, a sampler's seeds as one grid (fused here, on
    /// cpu): each seed's figures are those of the same comparison run with <c>--seed</c> alone, and
    /// the method's row is their mean with the standard deviation over the seeds.
    /// </summary>
    [Fact]
    public void SeedsRepeatEveryMethodAndGiveEachSeedsOwnFigures()
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-compare-seeds-{Environment.ProcessId}");
        try
        {
            string[] common = ["rbm", "compare", "--limit", "100", "--hidden", "6", "--epochs", "2", "--k", "2", "--gibbs-steps", "3", "--estimates", "2", "--curve-betas", "0", "--accelerator", "cpu", "--json", "--quiet"];
            var (code, output, err) = ConsoleRunner.Run([.. common, "--seeds", "2,5", "--grid-step", "fused", "--out", Path.Combine(root, "grid")]);
            Assert.True(code == 0, err);
            using var grid = JsonDocument.Parse(output);
            Assert.Equal([2, 5], grid.RootElement.GetProperty("seeds").EnumerateArray().Select(x => x.GetInt32()).ToArray());
            var alone = new Dictionary<int, JsonDocument>();
            foreach (int seed in new[] { 2, 5 })
            {
                var (c, o, e) = ConsoleRunner.Run([.. common, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", Path.Combine(root, $"seed-{seed}")]);
                Assert.True(c == 0, e);
                alone[seed] = JsonDocument.Parse(o);
            }
            var methods = grid.RootElement.GetProperty("methods").EnumerateArray().ToArray();
            Assert.Equal(5, methods.Length);
            for (int m = 0; m < methods.Length; m++)
            {
                var bySeed = methods[m].GetProperty("by_seed").EnumerateArray().ToArray();
                Assert.Equal([2, 5], bySeed.Select(x => x.GetProperty("seed").GetInt32()).ToArray());
                foreach (var run in bySeed)
                {
                    var single = alone[run.GetProperty("seed").GetInt32()].RootElement.GetProperty("methods")[m];
                    // The same bits: a model of the grid is the model trained alone with its seed.
                    Assert.Equal(single.GetProperty("test_log_likelihood").GetDouble(), run.GetProperty("test_log_likelihood").GetDouble());
                    Assert.Equal(single.GetProperty("log_z").GetDouble(), run.GetProperty("log_z").GetDouble());
                    Assert.Equal(single.GetProperty("pseudo_log_likelihood").GetDouble(), run.GetProperty("pseudo_log_likelihood").GetDouble());
                    Assert.Equal(2, run.GetProperty("epochs").GetInt32());
                }
                double a = bySeed[0].GetProperty("test_log_likelihood").GetDouble(), b = bySeed[1].GetProperty("test_log_likelihood").GetDouble();
                Assert.Equal((a + b) / 2, methods[m].GetProperty("test_log_likelihood").GetDouble(), 1e-12);
                // The sample standard deviation of two values is |a - b| / sqrt(2).
                Assert.Equal(Math.Abs(a - b) / Math.Sqrt(2), methods[m].GetProperty("test_log_likelihood_sd").GetDouble(), 1e-12);
                Assert.Equal(0, alone[2].RootElement.GetProperty("methods")[m].GetProperty("test_log_likelihood_sd").GetDouble());
            }
            string md = File.ReadAllText(Path.Combine(root, "grid", "compare.md"));
            Assert.Contains("mean over the 2 seeds", md, StringComparison.Ordinal);
            Assert.Contains("| CD-1 | 5 | 2 |", md, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("give --seed or --seeds, not both", "--seed", "1", "--seeds", "1-2")]
    [InlineData("--grid-step applies to --seeds", "--grid-step", "fused")]
    [InlineData("--seeds: the range '3-1' runs backwards", "--seeds", "3-1")]
    [InlineData("--seeds: 'x' is not a seed", "--seeds", "x")]
    public void BadSeedListsAreUsageErrors(string message, params string[] args)
    {
        var (code, _, err) = ConsoleRunner.Run(["rbm", "compare", "--accelerator", "cpu", .. args]);
        Assert.Equal(2, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-0.1")]
    [InlineData("NaN")]
    [InlineData("fast")]
    public void BadMomentaAreUsageErrors(string momentum)
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "compare", "--momentum", momentum, "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Contains("--momentum", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void AnImpossibleDownscaleIsAOneLineError()
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "compare", "--limit", "20", "--downscale", "3", "--out", Path.Combine(Path.GetTempPath(), $"infogpu-rbm-compare-ds-{Environment.ProcessId}"), "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("downscale", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void BadSettingsAreUsageErrors()
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "compare", "--ais-runs", "1", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
    }
}
