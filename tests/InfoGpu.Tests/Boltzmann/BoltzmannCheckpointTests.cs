using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InfoGpu.Boltzmann;
using InfoGpu.Checkpoints;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Training;

namespace InfoGpu.Tests.Boltzmann;

/// <summary>Checkpoints, resume, mini-batches and divergence of the general Boltzmann machine's training.</summary>
public class BoltzmannCheckpointTests
{
    // 14 bars-and-stripes patterns of 3x3 in batches of 4: 4 steps per epoch (the last of 2 rows).
    private static readonly float[] Data = BarsAndStripes.Generate(3);

    private static BoltzmannTrainingOptions Options(bool persistent) =>
        new() { LearningRate = 0.1, BurnIn = 3, Samples = 3, PositiveChains = 2, NegativeChains = 37, Persistent = persistent, Seed = 5, BatchSize = 4 };

    private static BoltzmannMachine Machine()
    {
        var m = new BoltzmannMachine(9, 3);
        m.InitializeRandom(6, 0.1);
        return m;
    }

    [Theory]
    [InlineData("cpu", true)]
    [InlineData("cpu", false)]
    [InlineData("ilgpu-cpu", true)]
    public void ResumeFromAMidEpochCheckpointIsBitIdentical(string kind, bool persistent)
    {
        string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        var straight = Machine();
        var (straightFigures, resumedFigures, resumed) = TestDevices.Use(kind, d =>
        {
            var s = new List<BoltzmannEpochMetrics>();
            using (var t = new BoltzmannTrainer(d, straight, Data, Options(persistent)))
            {
                Assert.Equal(4, t.StepsPerEpoch);
                for (int e = 0; e < 3; e++)
                    s.Add(t.TrainEpoch().Metrics!);
            }
            using (var t = new BoltzmannTrainer(d, Machine(), Data, Options(persistent)))
            {
                t.TrainEpoch();
                // Stops after step 6 of the run: epoch 2, 2 of its 4 steps done.
                Assert.False(t.TrainEpoch(CancellationToken.None, stopEvery: 6).Completed);
                Assert.Equal((1, 2, 6L), (t.Epoch, t.StepInEpoch, t.Step));
                SafeTensors.Write(path, t.SaveState());
            }
            var set = BoltzmannCheckpoint.Read(path);
            var options = BoltzmannCheckpoint.ReadOptions(set);
            Assert.Equal(Options(persistent), options);
            Assert.Equal(persistent, set.Contains("chains"));
            using var r = BoltzmannTrainer.Resume(d, set, Data);
            Assert.Equal((1, 2, 6L), (r.Epoch, r.StepInEpoch, r.Step));
            var figures = new List<BoltzmannEpochMetrics> { r.TrainEpoch().Metrics!, r.TrainEpoch().Metrics! };
            return (s, figures, r.Machine);
        });
        Assert.True(straight.Weights.AsSpan().SequenceEqual(resumed.Weights), "resumed weights differ from the uninterrupted run");
        Assert.True(straight.Biases.AsSpan().SequenceEqual(resumed.Biases), "resumed biases differ from the uninterrupted run");
        Assert.Equal(straightFigures[1].ExactLogLikelihood, resumedFigures[0].ExactLogLikelihood);
        Assert.Equal(straightFigures[2].ExactLogLikelihood, resumedFigures[1].ExactLogLikelihood);
        Assert.Equal([2, 3], resumedFigures.Select(f => f.Epoch));
    }

    [Fact]
    public void CancellationStopsBetweenStepsAndAFullBatchIsOneStepPerEpoch()
    {
        TestDevices.Use("cpu", d =>
        {
            using var cancel = new CancellationTokenSource();
            cancel.Cancel();
            using var t = new BoltzmannTrainer(d, Machine(), Data, Options(true));
            Assert.False(t.TrainEpoch(cancel.Token).Completed);
            Assert.Equal(0, t.Step);
            using var full = new BoltzmannTrainer(d, Machine(), Data, Options(true) with { BatchSize = 0 });
            Assert.Equal((14, 1), (full.BatchSize, full.StepsPerEpoch));
            Assert.Equal(1, full.TrainEpoch().Metrics!.Epoch);
            Assert.Equal(1, full.Step);
            return 0;
        });
    }

    [Fact]
    public void CorruptAndTruncatedCheckpointsAreNamedInOneLine()
    {
        string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        TestDevices.Use("cpu", d =>
        {
            using var t = new BoltzmannTrainer(d, Machine(), Data, Options(true));
            t.TrainEpoch();
            SafeTensors.Write(path, t.SaveState());
            return 0;
        });
        var bytes = File.ReadAllBytes(path);
        var flipped = (byte[])bytes.Clone();
        flipped[^10] ^= 0x40;
        File.WriteAllBytes(path, flipped);
        var e = Assert.Throws<InfoGpuException>(() => BoltzmannCheckpoint.Read(path));
        Assert.Equal($"checkpoint {path} is corrupt: checksum mismatch", e.Message);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        e = Assert.Throws<InfoGpuException>(() => BoltzmannCheckpoint.Read(path));
        Assert.StartsWith($"checkpoint {path} is corrupt: truncated", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void NonFiniteParametersStopTrainingWithTheStepAndTensor(string kind)
    {
        var m = Machine();
        m.SetWeight(1, 4, double.NaN);
        var e = TestDevices.Use(kind, d =>
        {
            using var t = new BoltzmannTrainer(d, m, Data, Options(true));
            return Assert.Throws<TrainingDivergedException>(() => t.TrainEpoch());
        });
        Assert.Contains("diverged at step 1 (epoch 1, step 1 of the epoch)", e.Message, StringComparison.Ordinal);
        Assert.Contains("W[1, 4] = NaN", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("checkpoint", e.Message, StringComparison.Ordinal); // a trainer alone writes none: only a session can say what was kept
    }

    [Fact]
    public void ConsoleResumesFromItsCheckpointWithTheSameResultAsOneRun()
    {
        string one = TestPaths.TempDir(), two = TestPaths.TempDir();
        string[] train = ["bm", "train", "--size", "3", "--hidden", "2", "--batch", "5", "--chains", "50", "--burn-in", "3", "--samples", "3", "--seed", "4", "--accelerator", "cpu", "--json"];
        var (code, stdout, stderr) = ConsoleRunner.Run([.. train, "--epochs", "6", "--out", one]);
        Assert.True(code == 0, stderr);
        var whole = JsonNode.Parse(stdout)!;
        Assert.Equal(6, whole["epochs"]!.AsArray().Count);
        Assert.Equal(5, whole["config"]!["batch"]!.GetValue<int>());
        foreach (string f in new[] { "bm.json", "metrics.csv", "model.safetensors" })
            Assert.True(File.Exists(Path.Combine(one, f)), f);

        Assert.Equal(0, ConsoleRunner.Run([.. train, "--epochs", "4", "--out", two]).Code);
        // --resume alone: size, hidden, batch, seed ... come from the checkpoint; --epochs raises the total.
        (code, stdout, stderr) = ConsoleRunner.Run(["bm", "train", "--resume", two, "--epochs", "6", "--accelerator", "cpu", "--json"]);
        Assert.True(code == 0, stderr);
        var resumed = JsonNode.Parse(stdout)!;
        var a = whole["epochs"]!.AsArray();
        var b = resumed["epochs"]!.AsArray();
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
            Assert.Equal(a[i]!["exact_log_likelihood"]!.GetValue<double>(), b[i]!["exact_log_likelihood"]!.GetValue<double>());
        Assert.Equal(File.ReadAllText(Path.Combine(one, "bm.json")), File.ReadAllText(Path.Combine(two, "bm.json")));
        Assert.Equal(7, File.ReadAllLines(Path.Combine(two, "metrics.csv")).Length);
    }

    [Fact]
    public void ConsoleFlagErrorsAreUsageErrors()
    {
        Assert.Equal(2, ConsoleRunner.Run("bm", "train", "--checkpoint-every", "5").Code);
        Assert.Equal(2, ConsoleRunner.Run("bm", "train", "--checkpoint-every", "-1", "--out", TestPaths.TempDir()).Code);
        Assert.Equal(2, ConsoleRunner.Run("bm", "train", "--batch", "0").Code);
        var (code, _, err) = ConsoleRunner.Run("bm", "train", "--resume", TestPaths.TempDir());
        Assert.Equal(1, code);
        Assert.Contains("no model.safetensors there", Assert.Single(err.Trim().Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public void ConsoleRefusesACorruptCheckpointInOneLine()
    {
        string dir = TestPaths.TempDir();
        Assert.Equal(0, ConsoleRunner.Run("bm", "train", "--size", "2", "--hidden", "1", "--epochs", "3", "--accelerator", "cpu", "--out", dir, "--quiet").Code);
        string path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        bytes[^7] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        var (code, _, stderr) = ConsoleRunner.Run("bm", "train", "--resume", dir, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Equal($"error: checkpoint {path} is corrupt: checksum mismatch", Assert.Single(stderr.Trim().Split('\n')));
        File.WriteAllBytes(path, bytes.AsSpan(0, 40).ToArray());
        (code, _, stderr) = ConsoleRunner.Run("bm", "train", "--resume", dir, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.StartsWith($"error: checkpoint {path} is corrupt: truncated", Assert.Single(stderr.Trim().Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public void ConsoleStopsAtTheFirstNonFiniteParameterAndKeepsTheLastGoodCheckpoint()
    {
        // lr 1e308: the first updates overflow a weight or bias to infinity within a few steps.
        string dir = TestPaths.TempDir();
        var (code, stdout, stderr) = ConsoleRunner.Run("bm", "train", "--size", "3", "--lr", "1e308", "--epochs", "50", "--checkpoint-every", "1", "--accelerator", "cpu", "--out", dir, "--quiet");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Trim().Split('\n'));
        var match = Regex.Match(line, @"^error: Boltzmann training diverged at step (\d+) \(epoch \d+, step \d+ of the epoch\): (W\[\d+, \d+\]|a\[\d+\]) = (-?Infinity|NaN); lower --lr or raise --weight-decay; the last good checkpoint, from step (\d+), is kept in ");
        Assert.True(match.Success, line);
        long bad = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(bad >= 2, $"diverged at step {bad}: the test needs a good checkpoint before it");
        var set = BoltzmannCheckpoint.Read(Path.Combine(dir, "model.safetensors"));
        Assert.Equal(bad - 1, set.GetInt64("counters")[2]);
        Assert.Equal(bad - 1, long.Parse(match.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.All(set.GetDouble("W"), w => Assert.True(double.IsFinite(w)));
        Assert.All(set.GetDouble("a"), x => Assert.True(double.IsFinite(x)));
        Assert.False(File.Exists(Path.Combine(dir, "bm.json")), "no final outputs after a diverged run");
    }
}
