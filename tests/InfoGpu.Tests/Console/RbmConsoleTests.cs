using System.Text.Json;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Console;

public class RbmConsoleTests
{
    [Fact]
    public void TrainWritesTheFilesAndTheJsonContract()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-console-{Environment.ProcessId}");
        try
        {
            var (code, output, err) = ConsoleRunner.Run("rbm", "train", "--hidden", "12", "--epochs", "2", "--limit", "300", "--batch", "50", "--sampler", "pcd", "--sample-steps", "20", "--out", dir, "--accelerator", "cpu", "--json");
            Assert.True(code == 0, err);
            using var doc = JsonDocument.Parse(output);
            var root = doc.RootElement;
            Assert.Equal("pcd", root.GetProperty("config").GetProperty("sampler").GetString());
            var epochs = root.GetProperty("epochs");
            Assert.Equal(2, epochs.GetArrayLength());
            foreach (var name in new[] { "epoch", "seconds", "reconstruction_error", "pseudo_log_likelihood", "free_energy_gap" })
                Assert.True(epochs[1].TryGetProperty(name, out _), $"epochs[1] has no '{name}'");
            Assert.Equal(Path.Combine(dir, "model.safetensors"), root.GetProperty("model").GetString());
            foreach (var f in new[] { "metrics.csv", "model.safetensors", "filters.png", "samples.png" })
                Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} was not written");
            Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);

            // Resume to 3 epochs: the metrics file keeps the first two and adds the third.
            (code, output, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--epochs", "3", "--sample-steps", "20", "--accelerator", "cpu", "--json");
            Assert.True(code == 0, err);
            using var doc2 = JsonDocument.Parse(output);
            Assert.Equal(3, doc2.RootElement.GetProperty("epochs")[0].GetProperty("epoch").GetInt32());
            Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);

            (code, output, err) = ConsoleRunner.Run("rbm", "eval", "--model", dir, "--limit", "300", "--exact", "--ais-runs", "20", "--ais-betas", "300", "--accelerator", "cpu", "--json");
            Assert.True(code == 0, err);
            using var doc3 = JsonDocument.Parse(output);
            foreach (var name in new[] { "log_z", "log_z_stderr", "log_z_exact", "test_log_likelihood", "train_log_likelihood", "pseudo_log_likelihood" })
                Assert.True(doc3.RootElement.TryGetProperty(name, out _), $"eval JSON has no '{name}'");
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("--sampler", "gibbs")]
    [InlineData("--k", "0")]
    [InlineData("--momentum", "0.5,0.9,0.99")]
    [InlineData("--sparsity-target", "0.1")]
    public void BadFlagsAreUsageErrors(string flag, string value)
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "train", flag, value, "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void CorruptResumeCheckpointIsAOneLineError()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-bad-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
            var (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--accelerator", "cpu");
            Assert.Equal(1, code);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("model.safetensors", err, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
