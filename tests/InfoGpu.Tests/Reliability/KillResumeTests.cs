using System.Diagnostics;
using InfoGpu.Checkpoints;
using InfoGpu.Kernels;
using InfoGpu.Tests.Console;

namespace InfoGpu.Tests.Reliability;

/// <summary>
/// `infogpu rbm train`, `vae train` and `bm train` killed with SIGKILL at random points, several
/// times, and resumed each time with --resume DIR alone (the settings come from the checkpoint),
/// end with a state bit-identical to an uninterrupted run of the same seed.
/// </summary>
public class KillResumeTests
{
    private static readonly string[] RbmTraining =
        ["rbm", "train", "--limit", "1500", "--hidden", "128", "--k", "5", "--batch", "20", "--epochs", "8",
         "--checkpoint-every", "4", "--sample-steps", "1", "--seed", "3", "--accelerator", "cpu", "--quiet"];

    // 300 steps per epoch, 8 epochs; a checkpoint every 50 steps and at every epoch end.
    private static readonly string[] VaeTraining =
        ["vae", "train", "--limit", "600", "--hidden", "64", "--latent", "4", "--batch", "2", "--epochs", "8",
         "--checkpoint-every", "50", "--seed", "5", "--accelerator", "cpu", "--quiet"];

    // 30 patterns in batches of 5: 6 steps per epoch, 30 epochs; a checkpoint every 10 steps and at every epoch end.
    private static readonly string[] BmTraining =
        ["bm", "train", "--size", "4", "--hidden", "6", "--batch", "5", "--chains", "500", "--epochs", "30",
         "--checkpoint-every", "10", "--seed", "7", "--accelerator", "cpu", "--quiet"];

    [Fact]
    public void KilledAndResumedRunEqualsAnUninterruptedOne()
    {
        var (a, b, kills) = KillAndResume("rbm", RbmTraining, ["--sample-steps", "1", "--accelerator", "cpu", "--quiet"], seed: 17);
        foreach (string name in new[] { "W", "b", "c", "velocity_W" })
            Assert.True(a.GetFloat(name).AsSpan().SequenceEqual(b.GetFloat(name)), $"{name} differs after {kills} kills and resumes");
    }

    [Fact]
    public void KilledAndResumedVaeRunEqualsAnUninterruptedOne()
    {
        var (a, b, kills) = KillAndResume("vae", VaeTraining, ["--accelerator", "cpu", "--quiet"], seed: 18);
        // Every tensor: the parameters fc1..fc4, the Adam moments adam.m.* and adam.v.*, the
        // counters "state" and the partial-epoch sums (zero after the last epoch); the
        // history's seconds are wall time, its other columns (the losses) must match.
        Assert.Contains("adam.m.fc1.weight", a.Tensors.Keys);
        Assert.Contains("adam.v.fc4.bias", a.Tensors.Keys);
        AssertSameTensors(a, b, kills, except: ["history"]);
        Assert.Equal("epoch,seconds,train_loss,test_loss,test_reconstruction,test_kl", a.GetMetadata("history_columns"));
        var ha = a.GetDouble("history");
        var hb = b.GetDouble("history");
        Assert.Equal(8 * 6, ha.Length);
        Assert.Equal(ha.Length, hb.Length);
        for (int k = 0; k < ha.Length; k++)
        {
            if (k % 6 != 1)
                Assert.True(BitConverter.DoubleToInt64Bits(ha[k]) == BitConverter.DoubleToInt64Bits(hb[k]), $"history[{k / 6}, {k % 6}]: {ha[k]} vs {hb[k]} after {kills} kills");
        }
        Assert.Equal(8 * 300L, a.GetInt64("state")[0]);
    }

    [Fact]
    public void KilledAndResumedBmRunEqualsAnUninterruptedOne()
    {
        var (a, b, kills) = KillAndResume("bm", BmTraining, ["--accelerator", "cpu", "--quiet"], seed: 19);
        // W, a, the persistent chains, the counters (Gibbs positions included), the partial seconds
        // (zero after the last epoch); the history's seconds are wall time, its other columns must match.
        Assert.Contains("chains", a.Tensors.Keys);
        AssertSameTensors(a, b, kills, except: ["history"]);
        var ha = a.GetDouble("history");
        var hb = b.GetDouble("history");
        Assert.Equal(30 * 3, ha.Length);
        Assert.Equal(ha.Length, hb.Length);
        for (int e = 0; e < 30; e++)
        {
            Assert.Equal(e + 1, ha[3 * e]);
            Assert.Equal(ha[3 * e], hb[3 * e]);
            Assert.Equal(BitConverter.DoubleToInt64Bits(ha[3 * e + 2]), BitConverter.DoubleToInt64Bits(hb[3 * e + 2]));
        }
        Assert.Equal(30 * 6L, a.GetInt64("counters")[2]);
    }

    [Theory]
    [InlineData("rbm")]
    [InlineData("vae")]
    [InlineData("bm")]
    public void CtrlCWritesACheckpointAndSaysHowToResume(string command)
    {
        string[] training = command switch { "rbm" => RbmTraining, "vae" => VaeTraining, _ => BmTraining };
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-ctrlc-{command}-{Environment.ProcessId}");
        try
        {
            string model = Path.Combine(dir, "model.safetensors");
            using var process = Start([.. training, "--out", dir]);
            var sw = Stopwatch.StartNew();
            while (!process.HasExited && !File.Exists(model) && sw.Elapsed < TimeSpan.FromMinutes(2))
                Thread.Sleep(2);
            Assert.False(process.HasExited, "the run ended before its first checkpoint");
            using (var kill = Process.Start("kill", ["-s", "INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                kill.WaitForExit();
            string stderr = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "SIGINT did not stop the run");
            Assert.True(process.ExitCode == 130, $"exit code {process.ExitCode}: {stderr}");
            Assert.Contains($"--resume {dir}", stderr, StringComparison.Ordinal);
            Assert.Contains("interrupted", stderr, StringComparison.Ordinal);

            // The checkpoint written on Ctrl-C is whole and resumes: one more epoch, from its settings.
            var set = SafeTensors.Read(model);
            var culture = System.Globalization.CultureInfo.InvariantCulture;
            int epoch = command == "vae" ? (int)set.GetInt64("state")[1] : int.Parse(set.GetMetadata("epoch"), culture);
            string[] resume = ["train", "--resume", dir, "--epochs", (epoch + 1).ToString(culture), "--accelerator", "cpu", "--quiet"];
            var (code, _, err) = ConsoleRunner.Run([command, .. resume, .. command == "rbm" ? ["--sample-steps", "1"] : Array.Empty<string>()]);
            Assert.True(code == 0, err);
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    private static void AssertSameTensors(TensorSet a, TensorSet b, int kills, string[] except)
    {
        Assert.Equal(a.Tensors.Keys.Order(StringComparer.Ordinal), b.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in a.Tensors)
        {
            if (except.Contains(name))
                continue;
            var u = b.Tensors[name];
            Assert.Equal(t.DType, u.DType);
            Assert.Equal(t.Shape, u.Shape);
            Assert.True(t.Data.AsSpan().SequenceEqual(u.Data), $"tensor {name} differs after {kills} kills and resumes");
        }
    }

    /// <summary>
    /// Runs <paramref name="training"/> once uninterrupted (in-process) and once in a child process
    /// that is SIGKILLed at random points after its checkpoints and resumed with
    /// <c>COMMAND train --resume DIR</c> plus <paramref name="resumeFlags"/>; returns both final
    /// checkpoints and the number of kills (at least 2, asserted).
    /// </summary>
    private static (TensorSet Whole, TensorSet Killed, int Kills) KillAndResume(string command, string[] training, string[] resumeFlags, ulong seed)
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-kill-{command}-{Environment.ProcessId}");
        string whole = Path.Combine(root, "whole"), killed = Path.Combine(root, "killed");
        try
        {
            var (code, _, err) = ConsoleRunner.Run([.. training, "--out", whole]);
            Assert.True(code == 0, err);

            string model = Path.Combine(killed, "model.safetensors");
            int kills = 0;
            var process = Start([.. training, "--out", killed]);
            for (int attempt = 0; attempt < 4; attempt++)
            {
                // Let this process write two checkpoints of its own (so every kill lands mid-training,
                // after progress, and the gap between its checkpoints is known), then kill it at a
                // random point within half that gap and at most 300 ms: a fixed delay let fast runs
                // finish first. Philox: repeatable points.
                var first = NextCheckpoint(process, model);
                var second = NextCheckpoint(process, model);
                double gapMs = first is DateTime f && second is DateTime g ? (g - f).TotalMilliseconds : 0;
                int delay = (int)(Math.Min(300, 0.5 * gapMs) * Philox.Uniform(seed, 5, (ulong)attempt));
                if (!process.WaitForExit(delay))
                {
                    process.Kill(entireProcessTree: true); // SIGKILL
                    process.WaitForExit();
                    kills++;
                }
                else
                {
                    Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
                    break;
                }
                process.Dispose();
                process = Start([command, "train", "--resume", killed, .. resumeFlags]);
            }
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "the last resumed run did not finish");
            Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
            process.Dispose();
            Assert.True(kills >= 2, $"only {kills} kills landed before the run finished; the run is too short for this test");
            return (SafeTensors.Read(Path.Combine(whole, "model.safetensors")), SafeTensors.Read(model), kills);
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Waits for the next write of <paramref name="model"/> by <paramref name="process"/>; null if it exits first.</summary>
    private static DateTime? NextCheckpoint(Process process, string model)
    {
        var before = File.Exists(model) ? File.GetLastWriteTimeUtc(model) : DateTime.MinValue;
        var sw = Stopwatch.StartNew();
        while (!process.HasExited && sw.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (File.Exists(model) && File.GetLastWriteTimeUtc(model) is var t && t != before)
                return t;
            Thread.Sleep(1);
        }
        return null;
    }

        private static Process Start(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "infogpu.dll"));
        foreach (string a in args)
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException("cannot start infogpu");
    }
}
