using System.Diagnostics;
using InfoGpu.Checkpoints;
using InfoGpu.Host.Cli;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Reliability;

/// <summary>
/// A few thousand hostile console runs: every command (but the long-running bench, report and
/// compare) with random options drawn from its own option list, each given a hostile value
/// (empty, NaN, infinities, overflowing integers, garbage, lists where numbers go, a folder, a
/// device file, random bytes, a truncated or crafted checkpoint, 10,000 characters, control
/// characters). Each run must end with exit 0, or with 1 or 2 and one "error:" line on stderr,
/// never an exception (a stack trace in the real console), never a half-written file in its
/// output folder, and the process's memory stays under a cap.
/// </summary>
public class ConsoleFuzzTests(ITestOutputHelper output)
{
    // At least MinCases runs, however slow the machine; past them, more until Cases or the budget.
    private const int Cases = 3000, MinCases = 500;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(90);
    private const long MemoryCapBytes = 3L << 30;

    private static readonly string[] Skipped = ["bench", "report", "rbm compare"];

    /// <summary>Options whose valid values mean more work: the fuzz only gives them values that are invalid or tiny.</summary>
    private static readonly string[] Work = ["epochs", "hidden", "latent", "limit", "ais-runs", "ais-betas", "iwae-samples", "iwae-images", "mc-samples", "sample-steps", "chains", "k", "samples", "burn-in", "size", "count", "batch", "top", "neighbors", "monitor-rows", "betas", "repeat", "threads"];

    [Fact]
    public void HostileRunsEndInOneLineErrorsOrSuccess()
    {
        var files = HostileFiles();
        var random = new System.Random(20261206);
        var commands = CommandLine.Commands.Where(c => !Skipped.Contains(c.Spec.Path)).ToList();
        var codes = new Dictionary<int, int>();
        var failures = new List<string>();
        long peak = 0;
        var sw = Stopwatch.StartNew();
        int run = 0;
        for (; (run < MinCases || (run < Cases && sw.Elapsed < Budget)) && failures.Count < 10; run++)
        {
            var command = commands[random.Next(commands.Count)];
            string outDir = TestPaths.TempDir();
            var argv = new List<string>(command.Spec.Path.Split(' '));
            int picks = command.Spec.Options.Count == 0 ? 0 : random.Next(1, 4);
            var picked = new HashSet<string>();
            for (int p = 0; p < picks; p++)
            {
                var option = command.Spec.Options[random.Next(command.Spec.Options.Count)];
                if (!picked.Add(option.Name) && random.Next(4) != 0)
                    continue; // now and then an option twice, which must be refused
                argv.Add("--" + option.Name);
                if (option.Value is not null)
                    argv.Add(Value(random, files, Work.Contains(option.Name)));
            }
            // Small, quiet runs on the cpu unless the fuzz gave those options itself.
            string[] defaults = ["--accelerator", "cpu", "--quiet", null!];
            if (command.Spec.Path.EndsWith("train", StringComparison.Ordinal))
                defaults = ["--accelerator", "cpu", "--quiet", null!, "--limit", "30", "--epochs", "1", "--hidden", "3", "--batch", "10", "--sample-steps", "1", "--size", "2", "--out", outDir];
            for (int d = 0; d < defaults.Length; d++)
            {
                if (defaults[d] is null || !defaults[d].StartsWith("--", StringComparison.Ordinal))
                    continue;
                string name = defaults[d][2..];
                bool isFlag = d + 1 >= defaults.Length || defaults[d + 1] is null || defaults[d + 1].StartsWith("--", StringComparison.Ordinal);
                bool known = command.Spec.Options.Any(o => o.Name == name) || name is "quiet";
                if (!known || picked.Contains(name))
                    continue;
                argv.Add(defaults[d]);
                if (!isFlag)
                    argv.Add(defaults[d + 1]);
            }
            if (random.Next(10) == 0)
                argv.Add(Value(random, files, true)); // a stray positional argument
            string line = string.Join(' ', argv.Select(a => a.Length > 40 ? a[..40] + "..." : a));
            try
            {
                var (code, _, err) = ConsoleRunner.Run([.. argv]);
                codes[code] = codes.GetValueOrDefault(code) + 1;
                if (code is not (0 or 1 or 2))
                    failures.Add($"exit {code}: {line}");
                else if (code != 0)
                {
                    var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                    if (lines.Count(l => l.StartsWith("error: ", StringComparison.Ordinal)) != 1 || err.Contains("   at ", StringComparison.Ordinal))
                        failures.Add($"exit {code} without one error line ({err.Trim()}): {line}");
                }
                var leftovers = Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f).Contains(".tmp", StringComparison.Ordinal)).ToList();
                if (leftovers.Count > 0)
                    failures.Add($"half-written {string.Join(", ", leftovers)}: {line}");
            }
            catch (Exception e)
            {
                failures.Add($"{e.GetType().Name}: {e.Message.Split('\n')[0]}: {line}");
            }
            peak = Math.Max(peak, Environment.WorkingSet);
            if (peak > MemoryCapBytes)
                failures.Add($"working set {peak >> 20} MiB over the cap after: {line}");
            TryDelete(outDir);
        }
        output.WriteLine($"{run} hostile runs in {sw.Elapsed.TotalSeconds:F0} s; exit codes {string.Join(", ", codes.OrderBy(k => k.Key).Select(k => $"{k.Key}: {k.Value}"))}; peak working set {peak >> 20} MiB");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(codes.GetValueOrDefault(1) + codes.GetValueOrDefault(2) > run / 2, "most hostile runs should be refused");
    }

    private static string Value(System.Random random, string[] files, bool work) => random.Next(work ? 12 : 17) switch
    {
        0 => "",
        1 => "nan",
        2 => "-inf",
        3 => "1e309",
        4 => "99999999999",
        5 => "-1",
        6 => "0",
        7 => "2.5",
        8 => "abc",
        9 => "1,,2",
        10 => new string('9', 10_000),
        11 => "é\u0001\n;",
        12 => "0.2,0.8;0.1",
        13 => "0.5,0.5",
        14 => "1e-320",
        15 => "cpu",
        _ => files[random.Next(files.Length)],
    };

    /// <summary>Paths the fuzz hands to options: missing, a folder, device files, random bytes, an empty file, crafted checkpoints.</summary>
    private static string[] HostileFiles()
    {
        string dir = TestPaths.TempDir();
        var rng = new System.Random(7);
        var bytes = new byte[5000];
        rng.NextBytes(bytes);
        string random = Path.Combine(dir, "random.bin");
        File.WriteAllBytes(random, bytes);
        string empty = Path.Combine(dir, "empty.csv");
        File.WriteAllText(empty, "");
        string csv = Path.Combine(dir, "bad.csv");
        File.WriteAllText(csv, "a,b\n1,nan\n\"2,3\n");
        // A real checkpoint, then truncated and crafted copies (checksums recomputed).
        string run = Path.Combine(dir, "run");
        ConsoleRunner.Run("bm", "train", "--size", "2", "--hidden", "1", "--epochs", "2", "--chains", "10", "--accelerator", "cpu", "--quiet", "--out", run);
        string model = Path.Combine(run, "model.safetensors");
        string truncated = Path.Combine(dir, "truncated.safetensors");
        var whole = File.ReadAllBytes(model);
        File.WriteAllBytes(truncated, whole.AsSpan(0, whole.Length / 2).ToArray());
        string crafted = Path.Combine(dir, "crafted.safetensors");
        var set = SafeTensors.Read(model);
        set.Add("counters", new long[] { -5, -1, -3, 0, 0, 0 }, 6);
        set.Metadata["visible"] = "50000";
        SafeTensors.Write(crafted, set);
        return ["/nonexistent/x", dir, "/dev/null", "/dev/zero", random, empty, csv, run, model, truncated, crafted];
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
