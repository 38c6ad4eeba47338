using System.Reflection;

namespace InfoGpu.Host.Output;

/// <summary>The console's version and the commit it was built from (the build sets both; see Directory.Build.targets).</summary>
internal static class BuildInfo
{
    /// <summary>The informational version: "1.0.412+&lt;commit sha&gt;", or just the version when the build had no commit.</summary>
    public static string InformationalVersion { get; } =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The package version, e.g. 1.0.412.</summary>
    public static string Version => InformationalVersion.Split('+')[0];

    /// <summary>The full commit sha, or null when the build did not know it.</summary>
    public static string? Commit => InformationalVersion.Split('+') is [_, var sha, ..] && sha.Length > 0 ? sha : null;

    /// <summary>The commit shortened to 12 characters, or "unknown".</summary>
    public static string ShortCommit => Commit is string c ? c[..Math.Min(12, c.Length)] : "unknown";

    /// <summary>What <c>infogpu --version</c> prints.</summary>
    public static string Line => $"infogpu {Version} (commit {ShortCommit})";
}
