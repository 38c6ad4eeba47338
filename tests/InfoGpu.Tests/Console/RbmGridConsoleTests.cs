using System.Text.Json;
using InfoGpu.Checkpoints;

namespace InfoGpu.Tests.Console;

/// <summary>
/// <c>rbm train --seeds/--grid</c>: one folder per model and grid.json, and every model of the grid
/// bit-identical on <c>cpu</c> to the same model trained alone (the reference is an independent
/// single-model run of the same command, not a stored value).
/// </summary>
public class RbmGridConsoleTests
{
    private static readonly string[] Shape = ["--hidden", "12", "--epochs", "2", "--limit", "240", "--batch", "40", "--sample-steps", "5", "--monitor-rows", "60", "--accelerator", "cpu"];

    [Theory]
    [InlineData("pcd", "threshold", "lr=0.02,0.1", "seed-3_lr-0.1", "--lr", "0.1", "fused", true)]
    [InlineData("cd", "threshold", "lr=0.02,0.1", "seed-3_lr-0.1", "--lr", "0.1", "auto", false)]
    [InlineData("cd", "stochastic", "weight-decay=0,0.001;final-momentum=0.8", "seed-3_weight-decay-0.001_final-momentum-0.8", "--weight-decay", "0.001", "fused", false)]
    public void EveryModelOfTheGridIsBitIdenticalToTrainingItAlone(string sampler, string binarize, string grid, string probe, string flag, string value, string stepping, bool fused)
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-grid-{Environment.ProcessId}-{sampler}-{stepping}");
        try
        {
            string gridDir = Path.Combine(root, "grid"), aloneDir = Path.Combine(root, "alone");
            var (code, output, err) = ConsoleRunner.Run([.. "rbm train --sampler".Split(' '), sampler, "--binarize", binarize, "--seeds", "2-3", "--grid", grid, "--grid-step", stepping, .. Shape, "--out", gridDir, "--json"]);
            Assert.True(code == 0, err);
            using var doc = JsonDocument.Parse(output);
            var models = doc.RootElement.GetProperty("models");
            int expected = 2 * grid.Split(';').Select(p => p.Split(',').Length).Aggregate(1, (x, y) => x * y);
            Assert.Equal(expected, models.GetArrayLength());
            Assert.Equal(expected, doc.RootElement.GetProperty("count").GetInt32());
            Assert.True(File.Exists(Path.Combine(gridDir, "grid.json")), "grid.json was not written");

            // Threshold images are the same for every seed: one set of launches per step when asked
            // for (auto steps one model after another on cpu). Stochastic binarization draws each
            // seed's own images, so the models step one after another even when fused is asked for.
            Assert.Equal(fused, doc.RootElement.GetProperty("fused").GetBoolean());
            using (var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(gridDir, "grid.json"))))
                Assert.Equal(fused, index.RootElement.GetProperty("fused").GetBoolean());
            var folders = models.EnumerateArray().Select(m => m.GetProperty("folder").GetString()!).ToList();
            Assert.Equal(folders.Count, folders.Distinct().Count());
            Assert.Contains(probe, folders);
            foreach (var m in models.EnumerateArray())
            {
                string folder = Path.Combine(gridDir, m.GetProperty("folder").GetString()!);
                foreach (var f in new[] { "model.safetensors", "metrics.csv", "filters.png", "samples.png" })
                    Assert.True(File.Exists(Path.Combine(folder, f)), $"{folder}/{f} was not written");
                Assert.Equal(2, m.GetProperty("final").GetProperty("epoch").GetInt32());
                Assert.True(double.IsFinite(m.GetProperty("final").GetProperty("pseudo_log_likelihood").GetDouble()));
            }

            // The probed model alone: seed 3 and the grid's values as plain flags.
            string[] alone = [.. "rbm train --sampler".Split(' '), sampler, "--binarize", binarize, "--seed", "3", flag, value, .. Shape, "--out", aloneDir];
            if (grid.Contains("final-momentum=0.8", StringComparison.Ordinal))
                alone = [.. alone, "--momentum", "0.5,0.8"];
            (code, _, err) = ConsoleRunner.Run(alone);
            Assert.True(code == 0, err);
            AssertSameState(Path.Combine(gridDir, probe, "model.safetensors"), Path.Combine(aloneDir, "model.safetensors"));
            Assert.Equal(File.ReadAllBytes(Path.Combine(aloneDir, "samples.png")), File.ReadAllBytes(Path.Combine(gridDir, probe, "samples.png")));

            // The models differ from each other (the grid did vary them).
            var first = SafeTensors.Read(Path.Combine(gridDir, folders[0], "model.safetensors"));
            var last = SafeTensors.Read(Path.Combine(gridDir, folders[^1], "model.safetensors"));
            Assert.NotEqual(first.Tensors["W"].Data, last.Tensors["W"].Data);

            // A second grid into the same folder is refused without --overwrite, in one line.
            (code, _, err) = ConsoleRunner.Run([.. "rbm train --sampler".Split(' '), sampler, "--binarize", binarize, "--seeds", "2-3", "--grid", grid, .. Shape, "--out", gridDir]);
            Assert.Equal(1, code);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("grid.json", err, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void AResumedGridContinuesEveryModelBitForBit()
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-grid-resume-{Environment.ProcessId}");
        string[] grid = ["rbm", "train", "--sampler", "pcd", "--seeds", "4,7", "--grid", "lr=0.03,0.08", "--hidden", "10", "--limit", "200", "--batch", "40", "--sample-steps", "5", "--monitor-rows", "50", "--accelerator", "cpu"];
        try
        {
            string straight = Path.Combine(root, "straight"), resumed = Path.Combine(root, "resumed");
            // The straight run is fused; the resumed one starts one model after another and resumes fused:
            // the stepping changes nothing in the bits.
            var (code, _, err) = ConsoleRunner.Run([.. grid, "--epochs", "3", "--grid-step", "fused", "--out", straight]);
            Assert.True(code == 0, err);
            Assert.Contains("fused: one set of launches for 4 models", err, StringComparison.Ordinal);
            (code, _, err) = ConsoleRunner.Run([.. grid, "--epochs", "1", "--out", resumed]);
            Assert.True(code == 0, err);
            Assert.Contains("not fused: on cpu a launch costs nothing", err, StringComparison.Ordinal);

            // Settings cannot change on a grid's resume.
            (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", resumed, "--lr", "0.5", "--accelerator", "cpu");
            Assert.Equal(2, code);
            Assert.Single(err.Trim().Split('\n'));

            (code, var output, err) = ConsoleRunner.Run("rbm", "train", "--resume", resumed, "--epochs", "3", "--sample-steps", "5", "--grid-step", "fused", "--accelerator", "cpu", "--json");
            Assert.True(code == 0, err);
            Assert.True(IndexSaysFused(output), "the resumed grid's index does not say it was fused");
            using var doc = JsonDocument.Parse(output);
            var models = doc.RootElement.GetProperty("models");
            Assert.Equal(4, models.GetArrayLength());
            foreach (var m in models.EnumerateArray())
            {
                string folder = m.GetProperty("folder").GetString()!;
                Assert.Equal(3, m.GetProperty("epochs_done").GetInt32());
                AssertSameState(Path.Combine(resumed, folder, "model.safetensors"), Path.Combine(straight, folder, "model.safetensors"));
                Assert.Equal(4, File.ReadAllLines(Path.Combine(resumed, folder, "metrics.csv")).Length);
            }
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    private static bool IndexSaysFused(string json)
    {
        using var d = JsonDocument.Parse(json);
        return d.RootElement.GetProperty("fused").GetBoolean();
    }

    /// <summary><c>--grid-step</c> belongs to grids: a single run refuses it; a value not among the choices is a usage error.</summary>
    [Fact]
    public void GridStepIsForGridsOnly()
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "train", "--grid-step", "fused", "--limit", "40", "--epochs", "1", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Contains("--grid-step applies to grids", err, StringComparison.Ordinal);
        (code, _, err) = ConsoleRunner.Run("vae", "train", "--grid-step", "one-by-one", "--limit", "40", "--epochs", "1", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Contains("--grid-step applies to grids", err, StringComparison.Ordinal);
        (code, _, err) = ConsoleRunner.Run("rbm", "train", "--seeds", "1-2", "--grid-step", "fast", "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("auto, fused, one-by-one", err, StringComparison.Ordinal);
    }

    [Fact]
    public void ACorruptGridIndexIsAOneLineError()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-grid-bad-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "grid.json"), "{\"command\": \"rbm train\", \"models\": [");
            var (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--accelerator", "cpu");
            Assert.Equal(1, code);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("grid.json", err, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "grid.json"), "{\"command\": \"rbm train\", \"config\": {}, \"models\": [{\"folder\": \"../x\", \"settings\": {\"seed\": 1}}]}");
            (code, _, err) = ConsoleRunner.Run("rbm", "train", "--resume", dir, "--accelerator", "cpu");
            Assert.Equal(1, code);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("plain folder name", err, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// <c>vae train --seeds/--grid</c>: every model bit-identical to training it alone, fused or not
    /// (<c>--grid-step fused</c> steps the VAEs in one set of launches and says so in grid.json;
    /// <c>auto</c> steps them one after another on cpu), and a grid stopped and resumed equals the straight run.
    /// </summary>
    [Theory]
    [InlineData("auto", "1,2", false)]
    [InlineData("fused", "1-3", true)]
    public void EveryVaeOfTheGridIsBitIdenticalToTrainingItAlone(string stepping, string seeds, bool fused)
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-vae-grid-{Environment.ProcessId}-{stepping}");
        string[] sizes = ["--hidden", "16", "--latent", "3", "--limit", "200", "--batch", "40", "--accelerator", "cpu"];
        string[] shape = [.. sizes, "--epochs", "2"];
        try
        {
            string gridDir = Path.Combine(root, "grid"), aloneDir = Path.Combine(root, "alone");
            var (code, output, err) = ConsoleRunner.Run(["vae", "train", "--seeds", seeds, "--grid", "beta=0.5,2;lr=0.001,0.003", "--grid-step", stepping, .. shape, "--out", gridDir, "--json"]);
            Assert.True(code == 0, err);
            using var doc = JsonDocument.Parse(output);
            var models = doc.RootElement.GetProperty("models");
            Assert.Equal(4 * (fused ? 3 : 2), models.GetArrayLength());
            Assert.Equal(fused, doc.RootElement.GetProperty("fused").GetBoolean());
            Assert.Equal(fused, IndexSaysFused(File.ReadAllText(Path.Combine(gridDir, "grid.json"))));
            var folders = models.EnumerateArray().Select(m => m.GetProperty("folder").GetString()!).ToList();
            Assert.Contains("seed-2_beta-2_lr-0.003", folders);
            foreach (var m in models.EnumerateArray())
                Assert.True(double.IsFinite(m.GetProperty("final").GetProperty("test_loss").GetDouble()), $"{m.GetProperty("folder")} has no finite test loss");
            (code, _, err) = ConsoleRunner.Run(["vae", "train", "--seed", "2", "--beta", "2", "--lr", "0.003", .. shape, "--out", aloneDir]);
            Assert.True(code == 0, err);
            AssertSameState(Path.Combine(gridDir, "seed-2_beta-2_lr-0.003", "model.safetensors"), Path.Combine(aloneDir, "model.safetensors"));

            // A grid stopped after one epoch and resumed to two equals the straight run, model by model.
            string resumedDir = Path.Combine(root, "resumed");
            (code, _, err) = ConsoleRunner.Run(["vae", "train", "--seeds", seeds, "--grid", "beta=0.5,2;lr=0.001,0.003", "--grid-step", stepping, .. sizes, "--epochs", "1", "--out", resumedDir]);
            Assert.True(code == 0, err);
            (code, output, err) = ConsoleRunner.Run("vae", "train", "--resume", resumedDir, "--epochs", "2", "--grid-step", stepping, "--accelerator", "cpu", "--json");
            Assert.True(code == 0, err);
            Assert.Equal(fused, IndexSaysFused(output));
            foreach (string folder in folders)
                AssertSameState(Path.Combine(resumedDir, folder, "model.safetensors"), Path.Combine(gridDir, folder, "model.safetensors"));
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("--grid", "latent=2,3")]
    [InlineData("--grid", "beta=-1")]
    [InlineData("--grid", "weight-decay=0.1")]
    public void BadVaeGridsAreOneLineUsageErrors(string flag, string value)
    {
        var (code, _, err) = ConsoleRunner.Run("vae", "train", flag, value, "--limit", "50", "--accelerator", "cpu");
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Single(err.Trim().Split('\n'));
    }

    /// <summary>Every tensor bit for bit; the history's columns except the timings.</summary>
    internal static void AssertSameState(string gridPath, string alonePath)
    {
        var g = SafeTensors.Read(gridPath);
        var a = SafeTensors.Read(alonePath);
        Assert.Equal(a.Tensors.Keys.Order(), g.Tensors.Keys.Order());
        foreach (var (name, t) in a.Tensors)
        {
            if (name == "history")
                continue;
            var other = g.Tensors[name];
            Assert.Equal(t.Shape, other.Shape);
            int diff = Enumerable.Range(0, t.Data.Length).FirstOrDefault(i => t.Data[i] != other.Data[i], -1);
            Assert.True(diff < 0, $"tensor {name} differs from the model trained alone at byte {diff}");
        }
        string[] columns = a.GetMetadata("history_columns").Split(',');
        double[] ha = a.GetDouble("history"), hg = g.GetDouble("history");
        Assert.Equal(ha.Length, hg.Length);
        for (int i = 0; i < ha.Length; i++)
        {
            string col = columns[i % columns.Length];
            if (col.Contains("seconds", StringComparison.Ordinal) || col.Contains("per_s", StringComparison.Ordinal))
                continue;
            Assert.False(double.IsNaN(ha[i]) != double.IsNaN(hg[i]), $"history {col} row {i / columns.Length}: {ha[i]} alone, {hg[i]} in the grid");
            Assert.True(double.IsNaN(ha[i]) || BitConverter.DoubleToInt64Bits(ha[i]) == BitConverter.DoubleToInt64Bits(hg[i]), $"history {col} row {i / columns.Length}: {ha[i]} alone, {hg[i]} in the grid");
        }
        Assert.Equal(a.GetMetadata("config"), g.GetMetadata("config"));
    }

    [Theory]
    [InlineData("--grid", "hidden=10,20")]
    [InlineData("--grid", "batch=10")]
    [InlineData("--grid", "nonsense=1")]
    [InlineData("--grid", "lr=0.1,0.1")]
    [InlineData("--grid", "lr=0.1;lr=0.2")]
    [InlineData("--grid", "lr=-1")]
    [InlineData("--grid", "lr")]
    [InlineData("--grid", "seed=1,2")]
    [InlineData("--seeds", "5-1")]
    [InlineData("--seeds", "1-300")]
    [InlineData("--seeds", "1,1")]
    [InlineData("--seeds", "x")]
    [InlineData("--seeds", "-3")]
    public void BadGridsAreOneLineUsageErrors(string flag, string value)
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "train", flag, value, "--limit", "50", "--accelerator", "cpu");
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("--seed", "1", "--seeds", "1-2")]
    [InlineData("--lr", "0.1", "--grid", "lr=0.1,0.2")]
    [InlineData("--resume", "somewhere", "--seeds", "1-2")]
    [InlineData("--seeds", "1-16", "--grid", "lr=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1,1.1,1.2,1.3,1.4,1.5,1.6,1.7")]
    public void ConflictingGridFlagsAreOneLineUsageErrors(string f1, string v1, string f2, string v2)
    {
        var (code, _, err) = ConsoleRunner.Run("rbm", "train", f1, v1, f2, v2, "--limit", "50", "--accelerator", "cpu");
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Single(err.Trim().Split('\n'));
    }
}
