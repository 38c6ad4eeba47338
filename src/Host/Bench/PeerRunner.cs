using System.Diagnostics;
using System.Text.Json.Nodes;

namespace InfoGpu.Host.Bench;

/// <summary>Runs a peer script of ../shared/peers with Debian's python and reads the JSON it prints.</summary>
internal static class PeerRunner
{
    public const string Python = "/usr/bin/python3";

    /// <summary>The peers folder: $INFOGPU_PEERS, else ../shared/peers beside the repository or the working directory.</summary>
    public static string? PeersDirectory()
    {
        string? env = Environment.GetEnvironmentVariable("INFOGPU_PEERS");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
            return env;
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "peers");
                if (Directory.Exists(candidate))
                    return candidate;
                dir = dir.Parent;
            }
        }
        return null;
    }

    /// <summary>Runs the peer; returns its JSON, or an explanation of why there is none.</summary>
    public static (JsonNode? Json, string? Problem) Run(PeerSpec peer, int threads, TimeSpan timeout)
    {
        string? dir = PeersDirectory();
        if (dir is null)
            return (null, "peers folder not found (set INFOGPU_PEERS or clone beside shared/)");
        if (!File.Exists(Python))
            return (null, $"{Python} not found (apt-get install python3-numpy python3-sklearn python3-torch)");
        var psi = new ProcessStartInfo(Python)
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
        using var process = Process.Start(psi)!;
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
