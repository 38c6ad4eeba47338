using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Checkpoints;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Distributed;

/// <summary>
/// The console as an MPI program: <c>mpirun --allow-run-as-root --oversubscribe -np 2</c> and
/// <c>-np 3</c> on this machine. Data-parallel RBM training equals the single process with as many
/// shards bit for bit (and resumes across the two), MI selection prints the single run's JSON,
/// <c>devices</c> lists every rank, and a killed rank ends the job and leaves a whole checkpoint.
/// Skipped, saying why, where Open MPI is not installed.
/// </summary>
public class MpiRunTests
{
    private static readonly string[] Rbm =
        ["rbm", "train", "--limit", "240", "--hidden", "24", "--batch", "30", "--k", "2", "--sample-steps", "1", "--monitor-rows", "40", "--seed", "5", "--accelerator", "cpu", "--quiet"];

    private static readonly string[] StateTensors = ["W", "b", "c", "velocity_W", "velocity_b", "velocity_c", "sparsity_q", "counters"];

    [SkippableFact]
    public void DevicesListsEveryRank()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        var (code, stdout, stderr) = MpiJob.Run(3, ["devices", "--json"]);
        Assert.True(code == 0, $"exit {code}: {stderr}");
        var doc = JsonNode.Parse(JsonStart(stdout))!;
        Assert.Equal(3, (int)doc["size"]!);
        var ranks = doc["ranks"]!.AsArray();
        Assert.Equal([0, 1, 2], ranks.Select(r => (int)r!["rank"]!));
        Assert.All(ranks, r => Assert.Contains(r!["devices"]!.AsArray(), d => (string)d!["kind"]! == "cpu"));
    }

    [SkippableTheory]
    [InlineData("cd", 2)]
    [InlineData("pcd", 3)]
    public void DataParallelTrainingEqualsOneProcessWithAsManyShardsBitForBit(string sampler, int ranks)
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string single = Path.Combine(root, "single"), job = Path.Combine(root, "mpi");
        string[] args = [.. Rbm, "--sampler", sampler, "--epochs", "2"];
        var one = ConsoleRunner.Run([.. args, "--shards", ranks.ToString(CultureInfo.InvariantCulture), "--out", single]);
        Assert.True(one.Code == 0, one.Err);
        var (code, _, stderr) = MpiJob.Run(ranks, [.. args, "--out", job]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        AssertSameState(single, job, sampler == "pcd");
        // Rank 0 alone wrote the run's files.
        Assert.Equal(["filters.png", "metrics.csv", "model.safetensors", "samples.png"], Directory.GetFiles(job).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public void ASingleProcessCheckpointResumesUnderMpiAndBack()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string[] args = [.. Rbm, "--sampler", "pcd"];
        // Epoch 1 in one process with 2 shards (recorded in the checkpoint).
        string start = Path.Combine(root, "start");
        var first = ConsoleRunner.Run([.. args, "--shards", "2", "--epochs", "1", "--out", start]);
        Assert.True(first.Code == 0, first.Err);

        // Another number of ranks cannot continue it bit for bit: refused in one line that says how to launch it.
        var (code, _, stderr) = MpiJob.Run(3, ["rbm", "train", "--resume", start, "--epochs", "2", "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.Equal(2, code);
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("error: the run was trained with 2 shards", StringComparison.Ordinal) && l.Contains("mpirun -np 2", StringComparison.Ordinal));

        // Epoch 2: resumed under 2 ranks, and in one process (the recorded 2 shards), from copies of that checkpoint.
        string viaMpi = Copy(start, Path.Combine(root, "mpi")), viaShards = Copy(start, Path.Combine(root, "shards"));
        (code, _, stderr) = MpiJob.Run(2, ["rbm", "train", "--resume", viaMpi, "--epochs", "2", "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        var resumed = ConsoleRunner.Run(["rbm", "train", "--resume", viaShards, "--epochs", "2", "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        AssertSameState(viaShards, viaMpi, pcd: true);

        // Epoch 3: the MPI job's checkpoint back in one process (its recorded 2 shards), against the job continued.
        string back = Copy(viaMpi, Path.Combine(root, "back"));
        var again = ConsoleRunner.Run(["rbm", "train", "--resume", back, "--epochs", "3", "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(again.Code == 0, again.Err);
        (code, _, stderr) = MpiJob.Run(2, ["rbm", "train", "--resume", viaMpi, "--epochs", "3", "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        AssertSameState(back, viaMpi, pcd: true);
        Assert.Equal(3, SafeTensors.Read(Path.Combine(back, "model.safetensors")).GetInt64("counters")[0]);
    }

    [SkippableFact]
    public void VaeDataParallelTrainingEqualsOneProcessWithAsManyShardsBitForBit()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string single = Path.Combine(root, "single"), job = Path.Combine(root, "mpi");
        // 300 images in batches of 40: the last batch has 20 rows, split 10 + 10.
        string[] args = ["vae", "train", "--limit", "300", "--hidden", "32", "--latent", "4", "--batch", "40", "--epochs", "2", "--seed", "4", "--accelerator", "cpu", "--quiet"];
        var one = ConsoleRunner.Run([.. args, "--shards", "2", "--out", single]);
        Assert.True(one.Code == 0, one.Err);
        var (code, _, stderr) = MpiJob.Run(2, [.. args, "--out", job]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        var a = SafeTensors.Read(Path.Combine(single, "model.safetensors"));
        var b = SafeTensors.Read(Path.Combine(job, "model.safetensors"));
        Assert.Contains("adam.v.fc4.weight", a.Tensors.Keys);
        foreach (var (name, t) in a.Tensors)
        {
            if (name == "history" || t.DType != "F32")
                continue;
            Assert.True(a.GetFloat(name).AsSpan().SequenceEqual(b.GetFloat(name)), $"{name} differs between --shards 2 and 2 MPI ranks");
        }
        Assert.Equal(a.GetInt64("state"), b.GetInt64("state"));
        // The losses (every column of the history but the seconds) are the same to the bit.
        var ha = a.GetDouble("history");
        var hb = b.GetDouble("history");
        Assert.Equal(ha.Length, hb.Length);
        for (int k = 0; k < ha.Length; k++)
        {
            if (k % 6 != 1)
                Assert.Equal(BitConverter.DoubleToInt64Bits(ha[k]), BitConverter.DoubleToInt64Bits(hb[k]));
        }
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(3)]
    public void BmDataParallelTrainingEqualsOneProcessWithAsManyShardsBitForBit(int ranks)
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string single = Path.Combine(root, "single"), job = Path.Combine(root, "mpi");
        string[] args = ["bm", "train", "--size", "2", "--hidden", "2", "--batch", "3", "--burn-in", "2", "--samples", "3", "--chains", "7", "--epochs", "3", "--seed", "5", "--accelerator", "cpu", "--quiet"];
        var one = ConsoleRunner.Run([.. args, "--shards", ranks.ToString(CultureInfo.InvariantCulture), "--out", single]);
        Assert.True(one.Code == 0, one.Err);
        var (code, _, stderr) = MpiJob.Run(ranks, [.. args, "--out", job]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        BmShardedTests.AssertSameState(single, job, ["W", "a", "chains", "counters"]);
        Assert.Equal(["bm.json", "metrics.csv", "model.safetensors"], Directory.GetFiles(job).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // Resumed under as many ranks to 5 epochs: the single process continued the same way.
        (code, _, stderr) = MpiJob.Run(ranks, ["bm", "train", "--resume", job, "--epochs", "5", "--accelerator", "cpu", "--quiet"]);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        var again = ConsoleRunner.Run(["bm", "train", "--resume", single, "--epochs", "5", "--accelerator", "cpu", "--quiet"]);
        Assert.True(again.Code == 0, again.Err);
        BmShardedTests.AssertSameState(single, job, ["W", "a", "chains", "counters"]);
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(3)]
    public void BetaSweepAcrossRanksPrintsTheSingleRunsPoints(int ranks)
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string[] args = ["vae", "sweep-beta", "--betas", "0.5,1,2", "--limit", "200", "--hidden", "16", "--latent", "2", "--batch", "50", "--epochs", "1", "--seed", "4", "--accelerator", "cpu", "--json"];
        var one = ConsoleRunner.Run(args);
        Assert.True(one.Code == 0, one.Err);
        var (code, stdout, stderr) = MpiJob.Run(ranks, args);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        var a = JsonNode.Parse(one.Out)!.AsObject();
        var b = JsonNode.Parse(JsonStart(stdout))!.AsObject();
        foreach (var doc in new[] { a, b })
        {
            foreach (var p in doc["points"]!.AsArray())
                p!.AsObject().Remove("seconds");
        }
        Assert.Equal(3, b["points"]!.AsArray().Count);
        Assert.Equal(a.ToJsonString(), b.ToJsonString());
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(3)]
    public void MiSelectionAcrossRanksPrintsTheSingleRunsJson(int ranks)
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string csv = TestPaths.MakeClassificationCsv;
        string[] args = ["mi", "select", "--csv", csv, "--target-last", "--top", "6", "--discrete", "4", "--json", "--accelerator", "cpu"];
        var one = ConsoleRunner.Run(args);
        Assert.True(one.Code == 0, one.Err);
        var (code, stdout, stderr) = MpiJob.Run(ranks, args);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        var a = JsonNode.Parse(one.Out)!.AsObject();
        var b = JsonNode.Parse(JsonStart(stdout))!.AsObject();
        // Everything but the wall time: scores to the last bit (as JSON prints doubles), selection, names, settings.
        a.Remove("seconds");
        b.Remove("seconds");
        Assert.Equal(a.ToJsonString(), b.ToJsonString());
        Assert.Equal(6, b["selected"]!.AsArray().Count);
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(3)]
    public void AisRunsAcrossRanksGiveTheSingleRunsEvaluation(int ranks)
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string model = Path.Combine(TestPaths.TempDir(), "rbm");
        var trained = ConsoleRunner.Run(["rbm", "train", "--limit", "240", "--hidden", "12", "--batch", "30", "--epochs", "1", "--sample-steps", "1", "--monitor-rows", "40", "--seed", "5", "--accelerator", "cpu", "--quiet", "--out", model]);
        Assert.True(trained.Code == 0, trained.Err);
        // 20 runs over 2 or 3 ranks (10 + 10, 6 + 7 + 7): every run's draws as in one process.
        string[] args = ["rbm", "eval", "--model", model, "--limit", "240", "--ais-runs", "20", "--ais-betas", "300", "--exact", "--json", "--accelerator", "cpu"];
        var one = ConsoleRunner.Run(args);
        Assert.True(one.Code == 0, one.Err);
        var (code, stdout, stderr) = MpiJob.Run(ranks, args);
        Assert.True(code == 0, $"mpirun exit {code}: {stderr}");
        var a = JsonNode.Parse(one.Out)!.AsObject();
        var b = JsonNode.Parse(JsonStart(stdout))!.AsObject();
        a.Remove("ais_seconds");
        b.Remove("ais_seconds");
        Assert.Equal(a.ToJsonString(), b.ToJsonString());
    }

    [SkippableFact]
    public void ErrorsUnderMpiAreOneLineFromRankZeroWithTheirExitCode()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        // A usage error: every rank finds it, rank 0 alone says it, the job exits 2.
        var (code, stdout, stderr) = MpiJob.Run(2, ["rbm", "train", "--hidden", "0", "--accelerator", "cpu"]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout.Replace("\u001b[?1h\u001b=", "", StringComparison.Ordinal).Trim());
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("error: --hidden must be >= 1", StringComparison.Ordinal));
        // A bad input file: exit 1 and the one-line error, no stack trace.
        string csv = Path.Combine(TestPaths.TempDir(), "bad.csv");
        File.WriteAllText(csv, "a,b\n1,x\n");
        (code, _, stderr) = MpiJob.Run(2, ["mi", "select", "--csv", csv, "--target-last", "--regression", "--accelerator", "cpu"]);
        Assert.Equal(1, code);
        Assert.Contains("error: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void AKilledRankEndsTheJobAndTheRunResumes()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string dir = Path.Combine(TestPaths.TempDir(), "run");
        string model = Path.Combine(dir, "model.safetensors");
        // 100 steps per epoch, a checkpoint every 5 steps: long enough to be killed in the middle.
        string[] args = ["rbm", "train", "--limit", "1000", "--hidden", "16", "--batch", "10", "--epochs", "30", "--checkpoint-every", "5", "--sample-steps", "1", "--monitor-rows", "20", "--seed", "9", "--accelerator", "cpu", "--quiet", "--out", dir];
        using (var job = MpiJob.Start(2, args))
        {
            var stderr = job.StandardError.ReadToEndAsync();
            _ = job.StandardOutput.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (!File.Exists(model) && DateTime.UtcNow < deadline && !job.HasExited)
                Thread.Sleep(50);
            Assert.True(File.Exists(model), $"no checkpoint within 180 s; stderr: {(job.HasExited ? stderr.Result : "")}");
            int rank1 = RankProcess(job.Id, 1) ?? throw new InvalidOperationException("rank 1 of the job not found under mpirun");
            using (var victim = System.Diagnostics.Process.GetProcessById(rank1))
                victim.Kill(); // SIGKILL
            if (!job.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                job.Kill(entireProcessTree: true);
                Assert.Fail("the job did not end within 120 s of a rank's death");
            }
            Assert.NotEqual(0, job.ExitCode);
            string err = stderr.Result;
            Assert.True(err.Contains("signal 9", StringComparison.Ordinal) || err.Contains("Killed", StringComparison.Ordinal), $"mpirun's report does not name the killed rank: {err}");
            // Rank 0's own one-line error, printed when mpirun stops it.
            Assert.Contains("error: the MPI job of 2 ranks was stopped (a rank failed", err, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        }
        // The last checkpoint is whole (its checksum is verified on reading) and resumes.
        var saved = SafeTensors.Read(model);
        long epoch = saved.GetInt64("counters")[0];
        Assert.True(epoch < 30, "the run was not interrupted");
        var (code, _, err2) = MpiJob.Run(2, ["rbm", "train", "--resume", dir, "--epochs", (epoch + 1).ToString(CultureInfo.InvariantCulture), "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(code == 0, $"resume exit {code}: {err2}");
        var done = SafeTensors.Read(model).GetInt64("counters");
        Assert.Equal(epoch + 1, done[0]);
        Assert.Equal(0, done[1]);
    }

    [SkippableFact]
    public void AnInterruptedJobStopsEveryRankAtOneStepCheckpointsAndResumesBitForBit()
    {
        Skip.If(MpiJob.Missing is not null, MpiJob.Missing);
        string root = TestPaths.TempDir();
        string dir = Path.Combine(root, "run"), model = Path.Combine(dir, "model.safetensors");
        // 100 steps per epoch, a checkpoint after every step.
        string[] args = ["rbm", "train", "--limit", "1000", "--hidden", "16", "--batch", "10", "--sampler", "pcd", "--sample-steps", "1", "--monitor-rows", "20", "--seed", "11", "--accelerator", "cpu", "--quiet"];
        // mpirun answers SIGINT with SIGTERM to the ranks after odls_base_sigkill_timeout seconds and
        // SIGKILL as long again after: 20 s leaves the ranks time to agree and checkpoint even on a
        // loaded 2-core machine (8 s was once too short in CI: the watchdog ended the job before the
        // ranks had voted); the run is long enough (1000 epochs) to be still under way when SIGTERM comes.
        var env = new Dictionary<string, string> { ["OMPI_MCA_odls_base_sigkill_timeout"] = "20" };
        string err;
        using (var job = MpiJob.Start(2, [.. args, "--epochs", "1000", "--checkpoint-every", "1", "--out", dir], env))
        {
            var stderr = job.StandardError.ReadToEndAsync();
            _ = job.StandardOutput.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (!File.Exists(model) && DateTime.UtcNow < deadline && !job.HasExited)
                Thread.Sleep(50);
            Assert.True(File.Exists(model), $"no checkpoint within 180 s; stderr: {(job.HasExited ? stderr.Result : "")}");
            Assert.Equal(0, SendSignal(job.Id, 2)); // SIGINT, as Ctrl-C
            if (!job.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                job.Kill(entireProcessTree: true);
                Assert.Fail("the job did not end within 120 s of its interruption");
            }
            Assert.NotEqual(0, job.ExitCode);
            err = stderr.Result;
        }
        // Rank 0 alone says where the run stopped and how to resume it under as many ranks.
        Assert.Single(err.Split('\n'), l => l.StartsWith("interrupted in epoch", StringComparison.Ordinal) && l.Contains("checkpoint written to", StringComparison.Ordinal));
        Assert.Contains("resume with: mpirun -np 2 ", err, StringComparison.Ordinal);
        Assert.DoesNotContain("was stopped (a rank failed", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        // The checkpoint is whole (its checksum is checked on reading) and was taken mid-run.
        var counters = SafeTensors.Read(model).GetInt64("counters");
        Assert.True(counters[0] < 1000, "the run was not interrupted");
        int target = (int)counters[0] + 1;

        // Resumed under 2 ranks to the end of the next epoch: the bits of one uninterrupted process with 2 shards.
        var (code, _, err2) = MpiJob.Run(2, ["rbm", "train", "--resume", dir, "--epochs", target.ToString(CultureInfo.InvariantCulture), "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
        Assert.True(code == 0, $"resume exit {code}: {err2}");
        string straight = Path.Combine(root, "straight");
        var one = ConsoleRunner.Run([.. args, "--shards", "2", "--epochs", target.ToString(CultureInfo.InvariantCulture), "--out", straight]);
        Assert.True(one.Code == 0, one.Err);
        AssertSameState(straight, dir, pcd: true);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static extern int SendSignal(int pid, int signal);

    /// <summary>The id of the process of rank <paramref name="rank"/> among mpirun's descendants, from /proc.</summary>
    internal static int? RankProcess(int mpirun, int rank)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var d in Directory.GetDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(d), out int pid) || pid == mpirun)
                    continue;
                try
                {
                    if (!DescendsFrom(pid, mpirun))
                        continue;
                    var env = File.ReadAllText(Path.Combine(d, "environ")).Split('\0');
                    if (env.Contains($"OMPI_COMM_WORLD_RANK={rank}"))
                        return pid;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
            Thread.Sleep(100);
        }
        return null;
    }

    private static bool DescendsFrom(int pid, int ancestor)
    {
        for (int hops = 0; hops < 8 && pid > 1; hops++)
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // pid (comm) state ppid ...: the command may hold spaces, so read after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            pid = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (pid == ancestor)
                return true;
        }
        return false;
    }

    private static void AssertSameState(string expectedDir, string actualDir, bool pcd)
    {
        var a = SafeTensors.Read(Path.Combine(expectedDir, "model.safetensors"));
        var b = SafeTensors.Read(Path.Combine(actualDir, "model.safetensors"));
        foreach (string name in pcd ? [.. StateTensors, "chains"] : StateTensors)
        {
            if (name == "counters")
            {
                Assert.Equal(a.GetInt64(name), b.GetInt64(name));
                continue;
            }
            var x = a.GetFloat(name);
            var y = b.GetFloat(name);
            Assert.Equal(x.Length, y.Length);
            int first = Enumerable.Range(0, x.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(x[i]) != BitConverter.SingleToInt32Bits(y[i]), -1);
            Assert.True(first < 0, $"{name}[{first}]: one process {(first < 0 ? 0 : x[first]):R}, MPI {(first < 0 ? 0 : y[first]):R}");
        }
    }

    private static string Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        return to;
    }

    /// <summary>The JSON document of a job's stdout (a terminal's control sequence may precede it).</summary>
    private static string JsonStart(string stdout)
    {
        int at = stdout.IndexOf('{', StringComparison.Ordinal);
        return at >= 0 ? stdout[at..] : stdout;
    }
}
