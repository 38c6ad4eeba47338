namespace InfoGpu.Tests.Infrastructure;

/// <summary>Where the repository and ../shared are, found from the test binary's folder.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>../shared beside the repository (reference values, peers).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string Reference(string file) => Path.Combine(Shared, "reference", file);

    /// <summary>A fresh empty temporary folder for one test.</summary>
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "infogpu-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "InfoGpu.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find InfoGpu.sln above " + AppContext.BaseDirectory);
    }
}
