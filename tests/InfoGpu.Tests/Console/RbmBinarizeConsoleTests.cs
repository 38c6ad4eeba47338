using System.Text.Json;
using InfoGpu.Checkpoints;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Console;

public class RbmBinarizeConsoleTests
{
    private static string[] Train(string dir, params string[] extra) =>
        ["rbm", "train", "--data", TestPaths.Data("digits"), "--hidden", "8", "--epochs", "1", "--batch", "50", "--sample-steps", "2", "--out", dir, "--accelerator", "cpu", "--json", .. extra];

    [Fact]
    public void GreyLevelsAreStoredResumedAndEvaluated()
    {
        string dir = Path.Combine(TestPaths.TempDir(), "grey");
        var (code, output, err) = ConsoleRunner.Run(Train(dir, "--binarize", "none"));
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(output))
        {
            var config = doc.RootElement.GetProperty("config");
            Assert.Equal("none", config.GetProperty("binarize_mode").GetString());
            Assert.Contains("grey", config.GetProperty("binarize").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(InfoGpu.Data.BinarizeMode.None, RbmCheckpoint.ReadOptions(RbmCheckpoint.Read(Path.Combine(dir, "model.safetensors"))).Binarize);

        // --resume keeps the mode: another one is refused in one line, the same one or none given is accepted.
        (code, output, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--epochs", "2", "--binarize", "threshold", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Contains("--binarize threshold differs from the run's none", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
        (code, output, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--epochs", "2", "--binarize", "none", "--sample-steps", "2", "--accelerator", "cpu", "--json");
        Assert.True(code == 0, err);
        (code, output, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--epochs", "3", "--sample-steps", "2", "--accelerator", "cpu", "--json");
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(output))
            Assert.Equal(3, doc.RootElement.GetProperty("epochs")[0].GetProperty("epoch").GetInt32());

        // rbm eval takes the mode from the checkpoint: grey levels for the monitors, the likelihood of binarized images.
        string[] eval = ["rbm", "eval", "--model", dir, "--data", TestPaths.Data("digits"), "--exact", "--ais-runs", "8", "--ais-betas", "200", "--accelerator", "cpu", "--json"];
        (code, output, err) = ConsoleRunner.Run(eval);
        Assert.True(code == 0, err);
        using var grey = JsonDocument.Parse(output);
        Assert.Equal("none", grey.RootElement.GetProperty("binarize_mode").GetString());
        Assert.Contains("binarized at 0.5", grey.RootElement.GetProperty("log_likelihood_data").GetString(), StringComparison.Ordinal);
        (code, output, err) = ConsoleRunner.Run([.. eval, "--binarize", "threshold"]);
        Assert.True(code == 0, err);
        using var binary = JsonDocument.Parse(output);
        Assert.Equal("threshold", binary.RootElement.GetProperty("binarize_mode").GetString());
        // The exact log-likelihood is of the same binarized images either way; the pseudo-log-likelihood is not.
        Assert.Equal(grey.RootElement.GetProperty("test_log_likelihood_exact").GetDouble(), binary.RootElement.GetProperty("test_log_likelihood_exact").GetDouble(), 9);
        Assert.NotEqual(grey.RootElement.GetProperty("reconstruction_error").GetDouble(), binary.RootElement.GetProperty("reconstruction_error").GetDouble());
    }

    [Fact]
    public void ThresholdIsTheDefaultAndStochasticDrawsBinaryData()
    {
        string dir = Path.Combine(TestPaths.TempDir(), "default");
        var (code, output, err) = ConsoleRunner.Run(Train(dir));
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(output))
        {
            Assert.Equal("threshold", doc.RootElement.GetProperty("config").GetProperty("binarize_mode").GetString());
            Assert.Equal("pixel/255 > 0.5", doc.RootElement.GetProperty("config").GetProperty("binarize").GetString());
        }
        string stochastic = Path.Combine(TestPaths.TempDir(), "stochastic");
        (code, output, err) = ConsoleRunner.Run(Train(stochastic, "--binarize", "stochastic", "--seed", "5"));
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(output))
            Assert.Equal("stochastic", doc.RootElement.GetProperty("config").GetProperty("binarize_mode").GetString());
        // The same seed draws the same data: resuming finds the data fingerprint it stored.
        (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", stochastic, "--epochs", "2", "--sample-steps", "2", "--accelerator", "cpu", "--json");
        Assert.True(code == 0, err);

        (code, _, err) = ConsoleRunner.Run(Train(Path.Combine(TestPaths.TempDir(), "bad"), "--binarize", "grey"));
        Assert.Equal(2, code);
        Assert.Contains("--binarize 'grey' is not one of threshold, stochastic, none", err, StringComparison.Ordinal);
    }

    [Fact]
    public void VisibleDataModes()
    {
        var images = new InfoGpu.Data.ImageSet([0f, 0.25f, 0.5f, 0.75f, 1f, 0.6f], 1, 2, 3, null, "test");
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f], images.AsVisibleData(InfoGpu.Data.BinarizeMode.Threshold, 1, false).Images);
        Assert.Same(images, images.AsVisibleData(InfoGpu.Data.BinarizeMode.None, 1, false));
        var s = images.AsVisibleData(InfoGpu.Data.BinarizeMode.Stochastic, 1, false).Images;
        Assert.All(s, v => Assert.True(v is 0f or 1f));
        Assert.Equal(0f, s[0]);
        Assert.Equal(1f, s[4]);
        var bad = new InfoGpu.Data.ImageSet([0f, 1.5f], 1, 1, 2, null, "bad set");
        var e = Assert.Throws<InfoGpuException>(() => bad.AsVisibleData(InfoGpu.Data.BinarizeMode.None, 1, false));
        Assert.Contains("bad set", e.Message, StringComparison.Ordinal);

        // Stochastic binarization is Bernoulli(intensity): 20,000 draws of a 0.3 pixel give 0.3 within
        // 5 standard errors (sqrt(0.21 / 20000) = 0.0032), and held-out draws are other draws.
        var grey = new InfoGpu.Data.ImageSet(Enumerable.Repeat(0.3f, 20_000).ToArray(), 20_000, 1, 1, null, "grey");
        var train = grey.AsVisibleData(InfoGpu.Data.BinarizeMode.Stochastic, 3, false).Images;
        var held = grey.AsVisibleData(InfoGpu.Data.BinarizeMode.Stochastic, 3, true).Images;
        Assert.InRange(train.Average(), 0.3 - 5 * 0.0032, 0.3 + 5 * 0.0032);
        Assert.InRange(held.Average(), 0.3 - 5 * 0.0032, 0.3 + 5 * 0.0032);
        Assert.NotEqual(train, held);
    }
}
