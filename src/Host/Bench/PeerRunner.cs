using System.Diagnostics;
using System.Text.Json.Nodes;

namespace InfoGpu.Host.Bench;

/// <summary>
/// Runs a peer script of benchmarks/peers (the PyTorch, scikit-learn and numpy programs InfoGpu is
/// compared against) with a python3 interpreter and reads the one JSON document it prints.
/// </summary>
internal static class PeerRunner
{
    /// <summary>Debian's interpreter: the fallback when no python3 is on PATH (the scripts also re-run themselves under it when a module is missing).</summary>
    public const string DebianPython = "/usr/bin/python3";

    /// <summary>The environment variable that names the peers folder explicitly.</summary>
    public const string PeersVariable = "INFOGPU_PEERS";

    private static readonly AsyncLocal<string?> PythonOverride = new();

    /// <summary>The interpreter given by <c>--python</c> for the current command, or null for the default.</summary>
    public static string? Python
    {
        get => PythonOverride.Value;
        set => PythonOverride.Value = value;
    }

    /// <summary>
    /// The peers folder: $INFOGPU_PEERS; else benchmarks/peers in the working directory or a folder
    /// above it (a checkout); else peers/ beside the binary or above it (the installed tool carries
    /// a copy).
    /// </summary>
    public static string? PeersDirectory()
    {
        string? env = Environment.GetEnvironmentVariable(PeersVariable);
        if (!string.IsNullOrEmpty(env))
            return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                foreach (string candidate in new[] { Path.Combine(dir.FullName, "benchmarks", "peers"), Path.Combine(dir.FullName, "peers") })
                {
                    if (File.Exists(Path.Combine(candidate, "_peers.py")))
                        return candidate;
                }
            }
        }
        return null;
    }

    /// <summary>The interpreter to run: <c>--python</c>, else python3 on PATH, else /usr/bin/python3; null with a reason when there is none.</summary>
    public static (string? Path, string? Problem) ResolvePython(string? requested)
    {
        if (requested is not null)
        {
            string? found = requested.Contains('/') ? (File.Exists(requested) ? Path.GetFullPath(requested) : null) : OnPath(requested);
            return found is null ? (null, $"--python {requested}: no such interpreter") : (found, null);
        }
        string? python = OnPath("python3") ?? (File.Exists(DebianPython) ? DebianPython : null);
        return python is null ? (null, "python3 not found on PATH nor at /usr/bin/python3 (apt-get install python3); or give --python PATH") : (python, null);
    }

    private static string? OnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>
    /// Runs the peer (<see cref="PeerSpec.ProcessRuns"/> times when set, adding the whole process's
    /// median wall-clock seconds as "process_seconds"); returns its JSON, or a one-line explanation of why there is none.
    /// </summary>
    public static (JsonNode? Json, string? Problem) Run(PeerSpec peer, int threads, TimeSpan timeout)
    {
        if (peer.ProcessRuns <= 0)
            return RunOnce(peer, threads, timeout);
        var times = new double[peer.ProcessRuns];
        JsonNode? last = null;
        for (int i = 0; i < times.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var (json, problem) = RunOnce(peer, threads, timeout);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (json is null)
                return (null, problem);
            last = json;
        }
        var all = new JsonArray(times.Select(t => (JsonNode)t).ToArray());
        Array.Sort(times);
        last!["process_seconds"] = times.Length % 2 == 1 ? times[times.Length / 2] : 0.5 * (times[(times.Length / 2) - 1] + times[times.Length / 2]);
        last["process_seconds_all"] = all;
        return (last, null);
    }

    private static (JsonNode? Json, string? Problem) RunOnce(PeerSpec peer, int threads, TimeSpan timeout)
    {
        string? dir = PeersDirectory();
        if (dir is null)
        {
            return (null, Environment.GetEnvironmentVariable(PeersVariable) is { Length: > 0 } env
                ? $"{PeersVariable}={env} is not a folder"
                : $"peer scripts not found: run from the repository (benchmarks/peers) or set {PeersVariable}");
        }
        var (python, problem) = ResolvePython(Python);
        if (python is null)
            return (null, problem);
        var psi = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        psi.ArgumentList.Add(Path.Combine(dir, peer.Script));
        foreach (string a in peer.Arguments)
            psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("--json");
        psi.ArgumentList.Add("--threads");
        psi.ArgumentList.Add(threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (null, $"cannot run {python}: {e.Message}");
        }
        using (process)
        {
            var stderrTask = process.StandardError.ReadToEndAsync();
            var stdoutTask = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return (null, $"{peer.Script} took longer than {timeout.TotalMinutes:F0} minutes");
            }
            string output = stdoutTask.Result;
            if (process.ExitCode != 0)
            {
                string last = stderrTask.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
                return (null, $"{peer.Script} failed (exit {process.ExitCode}): {last}");
            }
            try
            {
                return (JsonNode.Parse(output), null);
            }
            catch (System.Text.Json.JsonException)
            {
                return (null, $"{peer.Script} printed no JSON");
            }
        }
    }
}
