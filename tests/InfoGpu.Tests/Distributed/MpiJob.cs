using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace InfoGpu.Tests.Distributed;

/// <summary>Runs the console under Open MPI's mpirun (as root, oversubscribed on this one machine), with a time limit.</summary>
internal static class MpiJob
{
    private static readonly Lazy<string?> Launcher = new(Find);

    /// <summary>mpirun's path, or null when Open MPI is not installed.</summary>
    public static string? Mpirun => Launcher.Value;

    /// <summary>Why the MPI tests skip here: null when mpirun is present.</summary>
    public static string? Missing => Mpirun is null ? "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev; .ci/run installs it)" : null;

    /// <summary>Starts <c>mpirun -np <paramref name="ranks"/> dotnet infogpu.dll ARGS</c>, with <paramref name="environment"/> added to mpirun's environment.</summary>
    public static Process Start(int ranks, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Mpirun ?? throw new InvalidOperationException(Missing))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(CultureInfo.InvariantCulture), "dotnet", Path.Combine(AppContext.BaseDirectory, "infogpu.dll") })
            info.ArgumentList.Add(a);
        foreach (string a in args)
            info.ArgumentList.Add(a);
        // A run of the tests under mpirun must not make these jobs think they are nested in it.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("OMPI_", StringComparison.Ordinal) || k.StartsWith("PMIX_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        info.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
            info.Environment[k] = v;
        return Process.Start(info) ?? throw new InvalidOperationException("cannot start mpirun");
    }

    /// <summary>Runs a job to its end (killed after <paramref name="timeoutSeconds"/>); its exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(int ranks, IEnumerable<string> args, int timeoutSeconds = 240)
    {
        using var p = Start(ranks, args);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Assert.Fail($"mpirun -np {ranks} {string.Join(' ', args)} did not end within {timeoutSeconds} s; stderr: {stderr}");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static string? Find()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/bin"))
        {
            string path = Path.Combine(dir, "mpirun");
            if (File.Exists(path))
                return path;
        }
        return null;
    }
}
