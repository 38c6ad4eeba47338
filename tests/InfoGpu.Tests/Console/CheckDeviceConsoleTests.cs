using System.Text.Json.Nodes;
using InfoGpu.Devices;
using InfoGpu.Host.Bench;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Console;

/// <summary>
/// <c>infogpu check-device</c>, the in-process half of benchmarks/gpu-check.sh: run here with the
/// simulated GPU (ilgpu-cpu) in place of cuda, so that what the GPU machine runs is exercised
/// without one; and its refusals.
/// </summary>
public class CheckDeviceConsoleTests
{
    [Fact]
    public void RunsEndToEndOnTheSimulatedGpuAndWritesOneJson()
    {
        string dir = TestPaths.TempDir();
        string file = Path.Combine(dir, "check.json");
        var (code, stdout, err) = ConsoleRunner.Run("check-device", "--accelerator", "ilgpu-cpu", "--against", "cpu", "--quick", "--checks", "gemm,measures,mi", "--no-timings", "--out", file, "--json");
        Assert.True(code == 0, err);
        var doc = JsonNode.Parse(stdout)!;
        Assert.Equal(File.ReadAllText(file).Trim(), stdout.Trim());
        Assert.Equal("ilgpu-cpu", (string?)doc["device"]);
        Assert.Equal("cpu", (string?)doc["against"]);
        Assert.Contains("register-blocked", (string?)doc["gemm"]);
        Assert.True((bool)doc["passed"]!);
        var checks = doc["checks"]!.AsArray();
        // 3 layouts x 2 shapes x (vs float64, vs cpu, draws) + entropy + KL + MI.
        Assert.Equal(3 * 2 * 3 + 2 + 1, checks.Count);
        foreach (var c in checks)
        {
            double value = (double)c!["value"]!;
            double tolerance = (double)c["tolerance"]!;
            Assert.True(value <= tolerance, $"{c["name"]}: {value} > {tolerance}");
            Assert.False(string.IsNullOrEmpty((string?)c["tolerance_name"]));
        }
        // The float64 comparisons measured something: a float32 GEMM of 65 terms is not exact.
        Assert.Contains(checks, c => ((string)c!["name"]!).Contains("17x33x65") && ((string)c["name"]!).EndsWith("vs float64", StringComparison.Ordinal) && (double)c["value"]! > 0);
        // The timings (minutes on the simulated GPU) are exercised by benchmarks/gpu-check.sh with INFOGPU_CHECK_DEVICE=ilgpu-cpu.
        Assert.Empty(doc["timings"]!.AsArray());
    }

    [Fact]
    public void ACheckFailsOnNaNAndOverItsTolerance()
    {
        Assert.False(new CheckResult("x", "m", double.NaN, 1, "T").Passed);
        Assert.False(new CheckResult("x", "m", 2e-5, 1e-5, "T").Passed);
        Assert.True(new CheckResult("x", "m", 1e-5, 1e-5, "T").Passed);
    }

    [Theory]
    [InlineData(2, "are both 'cpu'", "check-device", "--accelerator", "cpu", "--against", "cpu")]
    [InlineData(2, "--accelerator 'tpu' is not one of cuda, opencl, cpu, ilgpu-cpu", "check-device", "--accelerator", "tpu")]
    [InlineData(2, "--against 'auto' is not one of cuda, opencl, cpu, ilgpu-cpu", "check-device", "--accelerator", "ilgpu-cpu", "--against", "auto")]
    [InlineData(2, "is not one of gemm", "check-device", "--accelerator", "ilgpu-cpu", "--checks", "gemm,fft")]
    [InlineData(2, "--overwrite needs --out", "check-device", "--accelerator", "ilgpu-cpu", "--overwrite")]
    public void BadCommandLinesAreRefusedInOneLine(int expected, string message, params string[] argv)
    {
        var (code, _, err) = ConsoleRunner.Run(argv);
        Assert.Equal(expected, code);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void AnExistingOutFileIsKeptUnlessOverwriteIsGiven()
    {
        string dir = TestPaths.TempDir();
        string file = Path.Combine(dir, "check.json");
        File.WriteAllText(file, "earlier");
        var (code, _, err) = ConsoleRunner.Run("check-device", "--accelerator", "ilgpu-cpu", "--out", file);
        Assert.Equal(1, code);
        Assert.Contains("--overwrite", err);
        Assert.Equal("earlier", File.ReadAllText(file));
        var (missing, _, err2) = ConsoleRunner.Run("check-device", "--accelerator", "ilgpu-cpu", "--out", Path.Combine(dir, "no-such-folder", "c.json"));
        Assert.Equal(1, missing);
        Assert.Contains("does not exist", err2);
    }

    [SkippableFact]
    public void AnAbsentDeviceIsNamedWithThoseThatArePresent()
    {
        Skip.If(ComputeDevice.Available().Any(d => d.Kind == "cuda"), "this machine has a CUDA device");
        var (code, _, err) = ConsoleRunner.Run("check-device", "--accelerator", "cuda", "--no-timings");
        Assert.Equal(1, code);
        Assert.Contains("'cuda' is not present", err);
        Assert.Contains("ilgpu-cpu", err);
    }
}
