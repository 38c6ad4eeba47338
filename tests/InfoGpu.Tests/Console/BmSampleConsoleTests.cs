using System.Text.Json;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Console;

public class BmSampleConsoleTests
{
    private static string TrainSmall()
    {
        string dir = TestPaths.TempDir();
        var (code, _, err) = ConsoleRunner.Run("bm", "train", "--size", "2", "--hidden", "2", "--epochs", "30", "--chains", "50", "--out", Path.Combine(dir, "bm"), "--accelerator", "cpu", "--json");
        Assert.True(code == 0, err);
        return Path.Combine(dir, "bm");
    }

    [Fact]
    public void DiagnosticsJsonCarriesTheContract()
    {
        string model = TrainSmall();
        var (code, output, err) = ConsoleRunner.Run("bm", "sample", "--model", model, "--count", "3", "--accelerator", "cpu", "--json");
        Assert.True(code == 0, err);
        using (var plain = JsonDocument.Parse(output))
        {
            // Without --diagnostics the document is what it always was.
            Assert.Equal(["samples", "visible"], plain.RootElement.EnumerateObject().Select(p => p.Name).ToArray());
            Assert.Equal(3, plain.RootElement.GetProperty("samples").GetArrayLength());
        }

        (code, output, err) = ConsoleRunner.Run("bm", "sample", "--model", model, "--count", "3", "--diagnostics", "--chains", "400", "--sweeps", "60", "--burn-in", "20", "--max-lag", "7", "--accelerator", "cpu", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("samples").GetArrayLength());
        var d = root.GetProperty("diagnostics");
        Assert.Equal(400, d.GetProperty("chains").GetInt32());
        Assert.Equal("visible units", d.GetProperty("tv_over").GetString());
        var tv = d.GetProperty("tv_by_sweep").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(61, tv.Length);
        Assert.All(tv, v => Assert.InRange(v, 0, 1));
        double floor = d.GetProperty("tv_floor").GetDouble();
        Assert.InRange(floor, 1e-3, 1);
        var rho = d.GetProperty("energy_autocorrelation").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(8, rho.Length);
        Assert.Equal(1.0, rho[0]);
        double tau = d.GetProperty("integrated_autocorrelation_time").GetDouble();
        double ess = d.GetProperty("effective_sample_size").GetDouble();
        Assert.True(tau >= 1, $"tau {tau}");
        Assert.Equal(400 * 40, d.GetProperty("energy_samples").GetInt64());
        Assert.True(ess <= 400 * 40 && ess > 0, $"ESS {ess}");
        Tolerance.Close(400 * 40 / tau, ess, Tolerance.Float64Relative, 0, "ESS = chains x samples / tau");

        (code, output, err) = ConsoleRunner.Run("bm", "sample", "--model", model, "--count", "1", "--diagnostics", "--chains", "300", "--sweeps", "30", "--burn-in", "5", "--tv-over", "all", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        Assert.Contains("(all units)", output, StringComparison.Ordinal);
        Assert.Contains("integrated autocorrelation time", output, StringComparison.Ordinal);
        Assert.Contains("effective sample size", output, StringComparison.Ordinal);
    }

    [Fact]
    public void DiagnosticsRefuseWhatTheyCannotDo()
    {
        string dir = TestPaths.TempDir();
        string big = Path.Combine(dir, "big.json");
        const int n = 21;
        File.WriteAllText(big, $"{{\"format\":\"infogpu-boltzmann-machine-1\",\"visible\":{n},\"hidden\":0,\"weights\":[{string.Join(",", Enumerable.Repeat("0", n * n))}],\"biases\":[{string.Join(",", Enumerable.Repeat("0", n))}]}}");
        var (code, output, err) = ConsoleRunner.Run("bm", "sample", "--model", big, "--diagnostics", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("at most 20 units", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Equal("", output);

        // Sampling that machine without --diagnostics still works.
        Assert.Equal(0, ConsoleRunner.Run("bm", "sample", "--model", big, "--count", "1", "--burn-in", "1", "--accelerator", "cpu", "--json").Code);

        string small = Path.Combine(dir, "small.json");
        File.WriteAllText(small, "{\"format\":\"infogpu-boltzmann-machine-1\",\"visible\":2,\"hidden\":0,\"weights\":[0,1,1,0],\"biases\":[0,0]}");
        Assert.Equal(2, ConsoleRunner.Run("bm", "sample", "--model", small, "--chains", "10").Code);
        Assert.Equal(2, ConsoleRunner.Run("bm", "sample", "--model", small, "--diagnostics", "--tv-over", "hidden").Code);
        Assert.Equal(2, ConsoleRunner.Run("bm", "sample", "--model", small, "--diagnostics", "--sweeps", "10", "--burn-in", "9").Code);
        Assert.Equal(2, ConsoleRunner.Run("bm", "sample", "--model", small, "--diagnostics", "--chains", "1").Code);
        Assert.Equal(2, ConsoleRunner.Run("bm", "sample", "--model", small, "--burn-in", "-1").Code);
    }
}
