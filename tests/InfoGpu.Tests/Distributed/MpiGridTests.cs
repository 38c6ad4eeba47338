using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Checkpoints;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Distributed;

/// <summary>
/// Grids of models (<c>--seeds</c>/<c>--grid</c>) dealt to the ranks of <c>mpirun -np 2</c> and
/// <c>-np 3</c>: the folders, checkpoints (every tensor bit for bit on <c>cpu</c>), per-epoch
/// figures (all but the timings) and grid.json of the single-process grid, written and printed by
/// rank 0 alone; a grid resumes from one process under MPI and back; an interruption stops every
/// rank at one step; a divergence on another rank than 0 is named by rank 0; a killed rank ends
/// the job and leaves whole checkpoints that resume. The reference is always the same grid run in
/// one process, not a stored value. Skipped, saying why, where Open MPI is not installed.
/// </summary>
public class MpiGridTests
{
    /// <summary>4 models of 5 steps per epoch, a checkpoint every 3 steps (mid-epoch ones included).</summary>
    private static readonly string[] RbmGrid =
        ["rbm", "train", "--seeds", "1-4", "--limit", "200", "--hidden", "12", "--batch", "40", "--sample-steps", "2", "--monitor-rows", "40", "--accelerator", "cpu"];

    /// <summary>The history columns that are timings, which differ between any two runs.</summary>
    private static readonly string[] Timings = ["seconds", "samples_per_s", "cpu_seconds"];

    [SkippableTheory]
    [InlineData("cd", 2, "auto")]
    [InlineData("pcd", 3, "fused")]
    public void AnRbmGridAcrossRanksEqualsTheSingleProcessGrid(string sampler, int ranks, string stepping)
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string single = Path.Combine(root, "single"), job = Path.Combine(root, "mpi");
        // Fused: each rank steps its block in one set of launches and writes the stacks back before it sends them.
        string[] args = [.. RbmGrid, "--sampler", sampler, "--epochs", "2", "--checkpoint-every", "3", "--grid-step", stepping, "--json"];
        var one = ConsoleRunner.Run([.. args, "--out", single]);
        Assert.True(one.Code == 0, one.Err);
        var (code, stdout, stderr) = MpiJob.Run(ranks, [.. args, "--out", job]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");

        // Rank 0 alone printed: one JSON document (a second rank's would follow it and fail the parse).
        string printed = JsonStart(stdout);
        Assert.Equal(1, CountOf(printed, "\"command\""));
        var a = Comparable(JsonNode.Parse(one.Out)!.AsObject(), single);
        var b = Comparable(JsonNode.Parse(printed)!.AsObject(), job);
        Assert.Equal(4, b["models"]!.AsArray().Count);
        Assert.Equal(stepping == "fused", b["fused"]!.GetValue<bool>());
        Assert.Equal(a.ToJsonString(), b.ToJsonString());
        Assert.Equal(a.ToJsonString(), Comparable(JsonNode.Parse(File.ReadAllText(Path.Combine(job, "grid.json")))!.AsObject(), job).ToJsonString());

        // The same files, no more (no stray lock, temporary or rank file), and the same models to the bit.
        Assert.Equal(Listing(single), Listing(job));
        AssertSameModels(single, job);
    }

    [SkippableFact]
    public void AGridResumesUnderMpiFromOneProcessAndBack()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string straight = Path.Combine(root, "straight"), dir = Path.Combine(root, "grid");
        string[] args = [.. RbmGrid, "--sampler", "pcd", "--quiet"];
        var full = ConsoleRunner.Run([.. args, "--epochs", "4", "--out", straight]);
        Assert.True(full.Code == 0, full.Err);
        var first = ConsoleRunner.Run([.. args, "--epochs", "1", "--out", dir]);
        Assert.True(first.Code == 0, first.Err);

        // Epoch 2 under 2 ranks (models 1-2 and 3-4).
        string[] resume = ["rbm", "train", "--resume", dir, "--sample-steps", "2", "--accelerator", "cpu", "--quiet"];
        var (code, _, stderr) = MpiJob.Run(2, [.. resume, "--epochs", "2"]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");

        // Rank 0 killed while writing the models' checkpoints of epoch 2, before the last model's:
        // that model's files are those of epoch 1. Under 2 ranks every model continues from epoch 1
        // (the others from their previous checkpoints) to epoch 3; epoch 4 back in one process.
        string last = Directory.GetDirectories(dir).Order(StringComparer.Ordinal).Last();
        File.Move(Path.Combine(last, "model.previous.safetensors"), Path.Combine(last, "model.safetensors"), overwrite: true);
        (code, _, stderr) = MpiJob.Run(2, ["rbm", "train", "--resume", dir, "--sample-steps", "2", "--accelerator", "cpu", "--epochs", "3"]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        Assert.Equal(3, stderr.Split('\n').Count(l => l.Contains(": continues from its previous checkpoint", StringComparison.Ordinal)));
        var back = ConsoleRunner.Run([.. resume, "--epochs", "4", "--json"]);
        Assert.True(back.Code == 0, back.Err);
        Assert.All(JsonNode.Parse(back.Out)!["models"]!.AsArray(), m => Assert.Equal(4, (int)m!["epochs_done"]!));
        AssertSameModels(straight, dir);
        Assert.All(Directory.GetDirectories(dir), d => Assert.Equal(5, File.ReadAllLines(Path.Combine(d, "metrics.csv")).Length));

        // More ranks than models: a usage error that says how many ranks the grid takes.
        (code, _, stderr) = MpiJob.Run(5, [.. resume, "--epochs", "4"]);
        Assert.Equal(2, code);
        Assert.Contains("error: the grid has 4 models for 5 MPI ranks", stderr, StringComparison.Ordinal);
        Assert.Contains("mpirun -np 4 or fewer", stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void AVaeGridAcrossRanksEqualsTheSingleProcessGrid()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string single = Path.Combine(root, "single"), job = Path.Combine(root, "mpi");
        // 3 models over 2 ranks: model 1 on rank 0, models 2 and 3 on rank 1.
        string[] args = ["vae", "train", "--seeds", "4", "--grid", "beta=0.5,1,2", "--limit", "200", "--hidden", "24", "--latent", "3", "--batch", "50", "--epochs", "2", "--checkpoint-every", "3", "--accelerator", "cpu", "--json"];
        var one = ConsoleRunner.Run([.. args, "--out", single]);
        Assert.True(one.Code == 0, one.Err);
        var (code, stdout, stderr) = MpiJob.Run(2, [.. args, "--out", job]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        string printed = JsonStart(stdout);
        Assert.Equal(1, CountOf(printed, "\"command\""));
        Assert.Equal(Comparable(JsonNode.Parse(one.Out)!.AsObject(), single).ToJsonString(), Comparable(JsonNode.Parse(printed)!.AsObject(), job).ToJsonString());
        Assert.Equal(Listing(single), Listing(job));
        AssertSameModels(single, job);
    }

    [SkippableFact]
    public void AnInterruptedGridStopsEveryRankAtOneStepAndResumesUnderOtherRanksBitForBit()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string dir = Path.Combine(root, "grid");
        // 3 models of 100 steps per epoch, a checkpoint after every step.
        string[] args = ["rbm", "train", "--seeds", "1-3", "--limit", "1000", "--hidden", "16", "--batch", "10", "--sampler", "pcd", "--sample-steps", "1", "--monitor-rows", "20", "--accelerator", "cpu", "--quiet"];
        // mpirun sends the ranks SIGTERM 20 s after the SIGINT (SIGKILL 20 s later): time to agree and
        // checkpoint on a loaded machine; 1000 epochs keep the run under way until then.
        var env = new Dictionary<string, string> { ["OMPI_MCA_odls_base_sigkill_timeout"] = "20" };
        string err = RunUntilCheckpoint(2, [.. args, "--epochs", "1000", "--checkpoint-every", "1", "--out", dir], Path.Combine(dir, "seed-3", "model.safetensors"), env, job => Assert.Equal(0, MpiRunTests.SendSignal(job.Id, 2)));
        Assert.Single(err.Split('\n'), l => l.StartsWith("interrupted in epoch", StringComparison.Ordinal) && l.Contains("every model's checkpoint written under", StringComparison.Ordinal));
        Assert.Contains("resume with: mpirun -np 2 ", err, StringComparison.Ordinal);
        Assert.DoesNotContain("was stopped (a rank failed", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        long[] counters = SameCounters(dir);
        Assert.True(counters[0] < 1000, "the grid was not interrupted");

        // Resumed under 3 ranks to the end of the next epoch: the bits of one uninterrupted process.
        string target = (counters[0] + 1).ToString(CultureInfo.InvariantCulture);
        var (code, _, err2) = MpiJob.Run(3, ["rbm", "train", "--resume", dir, "--epochs", target, "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(code == 0, $"resume exit {code}: {err2}");
        string straight = Path.Combine(root, "straight");
        var one = ConsoleRunner.Run([.. args, "--epochs", target, "--out", straight]);
        Assert.True(one.Code == 0, one.Err);
        AssertSameModels(straight, dir);
    }

    [SkippableFact]
    public void ADivergenceOnAnotherRankIsNamedByRankZeroAndKeepsEveryModelsLastCheckpoint()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string single = Path.Combine(root, "single"), dir = Path.Combine(root, "mpi");
        // Model 1 on rank 0; models 2 and 3 (lr 1e15, which diverges at the end of epoch 1) on rank 1.
        // 5 steps per epoch, checkpoints every 3: the last good one is of step 3.
        string[] args = ["rbm", "train", "--seeds", "1", "--grid", "lr=0.01,0.02,1e15", "--limit", "200", "--hidden", "12", "--batch", "40", "--epochs", "2", "--checkpoint-every", "3", "--sample-steps", "2", "--monitor-rows", "40", "--accelerator", "cpu", "--quiet"];
        var one = ConsoleRunner.Run([.. args, "--out", single]);
        Assert.Equal(1, one.Code);
        var (code, stdout, stderr) = MpiJob.Run(2, [.. args, "--out", dir]);
        Assert.Equal(1, code);
        Assert.Equal("", stdout.Replace("\u001b[?1h\u001b=", "", StringComparison.Ordinal).Trim());
        // Rank 0 alone says it, in the single process's words.
        var error = Assert.Single(stderr.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Equal(one.Err.Trim().Replace(single, dir, StringComparison.Ordinal), error.Trim());
        Assert.StartsWith("error: model seed-1_lr-1000000000000000: RBM training diverged", error, StringComparison.Ordinal);
        Assert.Contains($"the last good checkpoint, from step 3, is kept in {Path.Combine(dir, "seed-1_lr-1000000000000000", "model.safetensors")}", error, StringComparison.Ordinal);
        Assert.DoesNotContain("was stopped (a rank failed", stderr, StringComparison.Ordinal);
        // Every model keeps its checkpoint of step 3, whole, and those are the single process's.
        Assert.Equal(3, SameCounters(dir)[2]);
        AssertSameModels(single, dir);
    }

    [SkippableFact]
    public void AKilledRankEndsTheGridAndLeavesWholeCheckpointsThatResume()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string dir = Path.Combine(TestPaths.TempDir(), "grid");
        string[] args = ["rbm", "train", "--seeds", "1-3", "--limit", "1000", "--hidden", "16", "--batch", "10", "--epochs", "30", "--checkpoint-every", "5", "--sample-steps", "1", "--monitor-rows", "20", "--accelerator", "cpu", "--quiet", "--out", dir];
        // mpirun sends the surviving rank SIGTERM, then SIGKILL 4 s later (not the default 1 s): time
        // for rank 0 to end a set of checkpoints it is writing even on a machine this loaded.
        var env = new Dictionary<string, string> { ["OMPI_MCA_odls_base_sigkill_timeout"] = "4" };
        string err = RunUntilCheckpoint(2, args, Path.Combine(dir, "seed-3", "model.safetensors"), env, job =>
        {
            int rank1 = MpiRunTests.RankProcess(job.Id, 1) ?? throw new InvalidOperationException("rank 1 of the job not found under mpirun");
            using var victim = System.Diagnostics.Process.GetProcessById(rank1);
            victim.Kill(); // SIGKILL
        });
        Assert.Contains("error: the MPI job of 2 ranks was stopped (a rank failed", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        // Whole checkpoints (their checksums are verified on reading), every model at one step.
        long[] counters = SameCounters(dir);
        Assert.True(counters[0] < 30, "the grid was not interrupted");
        var (code, _, err2) = MpiJob.Run(3, ["rbm", "train", "--resume", dir, "--epochs", (counters[0] + 1).ToString(CultureInfo.InvariantCulture), "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(code == 0, $"resume exit {code}: {err2}");
        var done = SameCounters(dir);
        Assert.Equal(counters[0] + 1, done[0]);
        Assert.Equal(0, done[1]);
    }

    /// <summary>Starts the job, waits for <paramref name="checkpoint"/>, then acts on it (a signal, a kill) and returns mpirun's stderr once it ended (non-zero).</summary>
    private static string RunUntilCheckpoint(int ranks, string[] args, string checkpoint, IReadOnlyDictionary<string, string>? env, Action<System.Diagnostics.Process> act)
    {
        using var job = MpiJob.Start(ranks, args, env);
        var stderr = job.StandardError.ReadToEndAsync();
        _ = job.StandardOutput.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (!File.Exists(checkpoint) && DateTime.UtcNow < deadline && !job.HasExited)
            Thread.Sleep(50);
        Assert.True(File.Exists(checkpoint), $"no checkpoint within 180 s; stderr: {(job.HasExited ? stderr.Result : "")}");
        act(job);
        if (!job.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            job.Kill(entireProcessTree: true);
            Assert.Fail("the job did not end within 120 s");
        }
        Assert.NotEqual(0, job.ExitCode);
        return stderr.Result;
    }

    /// <summary>The counters of every model's checkpoint (read with its checksum verified), which must be equal: the grid's models stand at one step.</summary>
    private static long[] SameCounters(string dir)
    {
        var all = Directory.GetDirectories(dir).Order(StringComparer.Ordinal).Select(d => SafeTensors.Read(Path.Combine(d, "model.safetensors")).GetInt64("counters")).ToList();
        Assert.NotEmpty(all);
        Assert.All(all, c => Assert.Equal(all[0], c));
        return all[0];
    }

    /// <summary>Every model folder's checkpoint: the same tensors to the bit, the same metadata, the same figures but the timings.</summary>
    private static void AssertSameModels(string expectedDir, string actualDir)
    {
        var folders = Directory.GetDirectories(expectedDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(folders, Directory.GetDirectories(actualDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var folder in folders)
        {
            var a = SafeTensors.Read(Path.Combine(expectedDir, folder!, "model.safetensors"));
            var b = SafeTensors.Read(Path.Combine(actualDir, folder!, "model.safetensors"));
            Assert.Equal(a.Tensors.Keys.Order(StringComparer.Ordinal), b.Tensors.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(a.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal), b.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            foreach (var (name, t) in a.Tensors)
            {
                if (name == "history")
                    continue;
                Assert.True(t.DType == b.Tensors[name].DType && t.Shape.SequenceEqual(b.Tensors[name].Shape), $"{folder}/{name}: dtype or shape differs");
                Assert.True(t.Data.AsSpan().SequenceEqual(b.Tensors[name].Data), $"{folder}/{name} differs between one process and the MPI job");
            }
            string[] columns = a.Metadata["history_columns"].Split(',');
            var ha = a.GetDouble("history");
            var hb = b.GetDouble("history");
            Assert.Equal(ha.Length, hb.Length);
            for (int k = 0; k < ha.Length; k++)
            {
                if (!Timings.Contains(columns[k % columns.Length]))
                    Assert.True(BitConverter.DoubleToInt64Bits(ha[k]) == BitConverter.DoubleToInt64Bits(hb[k]), $"{folder}: history column {columns[k % columns.Length]} of epoch {k / columns.Length + 1} differs");
            }
        }
    }

    /// <summary>A grid's index or printed JSON without what differs by nature: the folder it was written to and the timings.</summary>
    private static JsonObject Comparable(JsonObject index, string dir)
    {
        var copy = JsonNode.Parse(index.ToJsonString().Replace(dir, "DIR", StringComparison.Ordinal))!.AsObject();
        foreach (var m in copy["models"]!.AsArray())
        {
            if (m!["final"] is JsonObject final)
            {
                foreach (var t in Timings)
                    final.Remove(t);
            }
        }
        return copy;
    }

    /// <summary>Every file under <paramref name="dir"/>, relative, in order.</summary>
    private static List<string> Listing(string dir) =>
        [.. Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).Order(StringComparer.Ordinal)];

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal))
            n++;
        return n;
    }

    /// <summary>The JSON document of a job's stdout (a terminal's control sequence may precede it).</summary>
    private static string JsonStart(string stdout)
    {
        int at = stdout.IndexOf('{', StringComparison.Ordinal);
        return at >= 0 ? stdout[at..] : stdout;
    }
}
