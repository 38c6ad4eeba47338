using System.Diagnostics;
using InfoGpu.Checkpoints;
using InfoGpu.Kernels;
using InfoGpu.Tests.Console;

namespace InfoGpu.Tests.Reliability;

/// <summary>
/// `infogpu rbm train` killed with SIGKILL at random points, several times, and resumed each
/// time with --resume DIR, ends with weights bit-identical to an uninterrupted run.
/// </summary>
public class KillResumeTests
{
    private static readonly string[] Training =
        ["rbm", "train", "--limit", "1500", "--hidden", "128", "--k", "5", "--batch", "20", "--epochs", "2",
         "--checkpoint-every", "4", "--sample-steps", "1", "--seed", "3", "--accelerator", "cpu", "--quiet"];

    [Fact]
    public void KilledAndResumedRunEqualsAnUninterruptedOne()
    {
        string root = Path.Combine(Path.GetTempPath(), $"infogpu-kill-{Environment.ProcessId}");
        string whole = Path.Combine(root, "whole"), killed = Path.Combine(root, "killed");
        try
        {
            var (code, _, err) = ConsoleRunner.Run([.. Training, "--out", whole]);
            Assert.True(code == 0, err);

            string model = Path.Combine(killed, "model.safetensors");
            int kills = 0;
            var process = Start([.. Training, "--out", killed]);
            for (int attempt = 0; attempt < 4; attempt++)
            {
                // Let this process write a checkpoint of its own (so every kill lands mid-training,
                // after progress), then kill it at a random point 0-300 ms later (Philox: repeatable).
                var before = File.Exists(model) ? File.GetLastWriteTimeUtc(model) : DateTime.MinValue;
                var sw = Stopwatch.StartNew();
                while (!process.HasExited && sw.Elapsed < TimeSpan.FromMinutes(2) && (!File.Exists(model) || File.GetLastWriteTimeUtc(model) == before))
                    Thread.Sleep(2);
                int delay = (int)(300 * Philox.Uniform(17, 5, (ulong)attempt));
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
                process = Start(["rbm", "train", "--resume", killed, "--sample-steps", "1", "--accelerator", "cpu", "--quiet"]);
            }
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "the last resumed run did not finish");
            Assert.True(process.ExitCode == 0, process.StandardError.ReadToEnd());
            process.Dispose();
            Assert.True(kills >= 2, $"only {kills} kills landed before the run finished; the run is too short for this test");

            var a = SafeTensors.Read(Path.Combine(whole, "model.safetensors"));
            var b = SafeTensors.Read(model);
            foreach (string name in new[] { "W", "b", "c", "velocity_W" })
                Assert.True(a.GetFloat(name).AsSpan().SequenceEqual(b.GetFloat(name)), $"{name} differs after {kills} kills and resumes");
        }
        finally
        {
            if (Directory.Exists(root))
                Directory.Delete(root, recursive: true);
        }
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
