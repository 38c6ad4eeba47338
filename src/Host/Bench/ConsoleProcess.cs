using System.Diagnostics;

namespace InfoGpu.Host.Bench;

/// <summary>
/// Runs this console as a child process, as a user would start it (the <c>infogpu</c> program next
/// to this assembly, else <c>dotnet infogpu.dll</c>), for the bench cases that time a whole command:
/// runtime start-up, parsing, the device, reading the input, the work and the output. Thread-safe (stateless).
/// </summary>
internal static class ConsoleProcess
{
    /// <summary>
    /// Median wall-clock seconds of <paramref name="runs"/> whole processes of <c>infogpu</c>
    /// with <paramref name="arguments"/> (stdout and stderr read and dropped); throws
    /// <see cref="InfoGpuException"/> with the command's last error line when one fails.
    /// </summary>
    public static double MedianSeconds(IReadOnlyList<string> arguments, int runs)
    {
        var times = new double[Math.Max(1, runs)];
        for (int i = 0; i < times.Length; i++)
            times[i] = RunOnce(arguments);
        Array.Sort(times);
        return times.Length % 2 == 1 ? times[times.Length / 2] : 0.5 * (times[(times.Length / 2) - 1] + times[times.Length / 2]);
    }

    private static double RunOnce(IReadOnlyList<string> arguments)
    {
        var psi = StartInfo();
        foreach (string a in arguments)
            psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        long t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(psi) ?? throw new InfoGpuException($"cannot start {psi.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        _ = stdout.Result;
        if (process.ExitCode != 0)
        {
            string last = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            throw new InfoGpuException($"infogpu {string.Join(' ', arguments)} failed (exit {process.ExitCode}): {last}");
        }
        return seconds;
    }

    /// <summary>The program to start: the apphost next to this assembly, else the dotnet host with infogpu.dll.</summary>
    private static ProcessStartInfo StartInfo()
    {
        string dir = AppContext.BaseDirectory;
        string apphost = Path.Combine(dir, OperatingSystem.IsWindows() ? "infogpu.exe" : "infogpu");
        if (File.Exists(apphost))
            return new ProcessStartInfo(apphost);
        string dll = Path.Combine(dir, "infogpu.dll");
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h
            : Environment.ProcessPath is string p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p
            : "dotnet";
        var psi = new ProcessStartInfo(host);
        psi.ArgumentList.Add(dll);
        return psi;
    }
}
