using System.Text.Json.Nodes;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Variational;

/// <summary>The console contract of <c>vae train</c>, <c>vae eval</c> and <c>vae sweep-beta</c> on a few hundred images.</summary>
public class VaeConsoleTests
{
    private static readonly string[] Small = ["--limit", "300", "--hidden", "32", "--latent", "4", "--batch", "64", "--accelerator", "cpu"];

    [Fact]
    public void TrainWritesItsFilesAndJsonThenEvalAndResumeReadThem()
    {
        string dir = TestPaths.TempDir();
        var (code, stdout, stderr) = ConsoleRunner.Run(["vae", "train", .. Small, "--epochs", "1", "--out", dir, "--json"]);
        Assert.True(code == 0, stderr);
        var doc = JsonNode.Parse(stdout)!;
        Assert.Equal(32, doc["config"]!["hidden"]!.GetValue<int>());
        var epoch = doc["epochs"]![0]!;
        foreach (string field in new[] { "epoch", "seconds", "train_loss", "test_loss", "test_reconstruction", "test_kl" })
            Assert.NotNull(epoch[field]);
        Assert.Equal(Path.Combine(dir, "model.safetensors"), doc["model"]!.GetValue<string>());
        foreach (string f in new[] { "metrics.csv", "model.safetensors", "reconstructions.png", "samples.png", "latent.png" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);

        (code, stdout, stderr) = ConsoleRunner.Run(["vae", "eval", "--model", Path.Combine(dir, "model.safetensors"), "--limit", "300", "--iwae-samples", "5", "--iwae-images", "20", "--accelerator", "cpu", "--json"]);
        Assert.True(code == 0, stderr);
        var eval = JsonNode.Parse(stdout)!;
        foreach (string field in new[] { "elbo", "reconstruction", "kl", "iwae_log_likelihood", "active_units", "latent" })
            Assert.NotNull(eval[field]);
        Assert.True(eval["elbo"]!.GetValue<double>() < 0);

        (code, stdout, stderr) = ConsoleRunner.Run(["vae", "train", "--limit", "300", "--accelerator", "cpu", "--resume", dir, "--epochs", "2", "--json"]);
        Assert.True(code == 0, stderr);
        var resumed = JsonNode.Parse(stdout)!;
        Assert.Equal(2, resumed["epochs"]![0]!["epoch"]!.GetValue<int>());
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);
    }

    [Fact]
    public void CorruptModelGivesAOneLineErrorAndExitCode1()
    {
        string dir = TestPaths.TempDir();
        Assert.Equal(0, ConsoleRunner.Run(["vae", "train", .. Small, "--epochs", "1", "--out", dir, "--quiet"]).Code);
        string path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 1;
        File.WriteAllBytes(path, bytes);
        var (code, _, stderr) = ConsoleRunner.Run(["vae", "eval", "--model", path, "--limit", "300", "--accelerator", "cpu"]);
        Assert.Equal(1, code);
        Assert.Contains("corrupt", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void ResumeTakesItsDataFromTheCheckpointAndRefusesACorruptOne()
    {
        string dir = TestPaths.TempDir();
        Assert.Equal(0, ConsoleRunner.Run(["vae", "train", .. Small, "--epochs", "1", "--checkpoint-every", "2", "--out", dir, "--quiet"]).Code);
        // No --limit: the checkpoint's 300 images, not the whole embedded subset.
        var (code, stdout, stderr) = ConsoleRunner.Run(["vae", "train", "--resume", dir, "--epochs", "2", "--accelerator", "cpu", "--json"]);
        Assert.True(code == 0, stderr);
        var doc = JsonNode.Parse(stdout)!;
        Assert.Equal(300, doc["config"]!["train_images"]!.GetValue<int>());
        Assert.Equal(2, doc["epochs"]![0]!["epoch"]!.GetValue<int>());

        string path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        (code, _, stderr) = ConsoleRunner.Run(["vae", "train", "--resume", dir, "--epochs", "3", "--accelerator", "cpu"]);
        Assert.Equal(1, code);
        Assert.Equal($"error: checkpoint {path} is corrupt: checksum mismatch", Assert.Single(stderr.Trim().Split('\n')));
    }

    [Fact]
    public void SweepBetaGivesOnePointPerBeta()
    {
        string dir = TestPaths.TempDir();
        var (code, stdout, stderr) = ConsoleRunner.Run(["vae", "sweep-beta", "--betas", "0.5,4", .. Small, "--epochs", "1", "--out", dir, "--json"]);
        Assert.True(code == 0, stderr);
        var points = JsonNode.Parse(stdout)!["points"]!.AsArray();
        Assert.Equal(2, points.Count);
        Assert.True(points[1]!["rate"]!.GetValue<double>() < points[0]!["rate"]!.GetValue<double>(), "a larger beta carries fewer nats");
        Assert.True(File.Exists(Path.Combine(dir, "rate_distortion.png")));
    }

    /// <summary>
    /// <c>--grid-step</c> trains the betas together as one grid (fused: one set of launches for every
    /// beta; one-by-one: each model's own step in turn): every point equals the sweep's one beta after
    /// another, but for the seconds (each model has its bits alone on cpu).
    /// </summary>
    [Theory]
    [InlineData("fused")]
    [InlineData("one-by-one")]
    public void SweepBetaTrainedTogetherGivesTheSamePoints(string stepping)
    {
        string[] sweep = ["vae", "sweep-beta", "--betas", "0.5,2,4", .. Small, "--epochs", "2", "--json"];
        var alone = ConsoleRunner.Run(sweep);
        Assert.True(alone.Code == 0, alone.Err);
        var together = ConsoleRunner.Run([.. sweep, "--grid-step", stepping]);
        Assert.True(together.Code == 0, together.Err);
        var a = JsonNode.Parse(alone.Out)!["points"]!.AsArray();
        var b = JsonNode.Parse(together.Out)!["points"]!.AsArray();
        Assert.Equal(3, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            foreach (string field in new[] { "beta", "rate", "distortion", "elbo", "active_units" })
                Assert.Equal(a[i]![field]!.ToJsonString(), b[i]![field]!.ToJsonString());
        }
    }

    [Fact]
    public void BadFlagsAreUsageErrors()
    {
        Assert.Equal(2, ConsoleRunner.Run(["vae", "train", "--epochs", "0"]).Code);
        Assert.Equal(2, ConsoleRunner.Run(["vae", "sweep-beta", "--betas", "1,-2"]).Code);
        Assert.Equal(2, ConsoleRunner.Run(["vae", "eval"]).Code);
    }
}
