using System.IO.Compression;

namespace InfoGpu.Tests.Infrastructure;

/// <summary>Where the repository and its reference values are, found from the test binary's folder.</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> MakeClassificationFile = new(DecompressMakeClassification);

    public static string RepoRoot { get; } = FindRoot();

    /// <summary>A file of tests/InfoGpu.Tests/Reference (reference values and their provenance, see its README).</summary>
    public static string Reference(string file) => Path.Combine(RepoRoot, "tests", "InfoGpu.Tests", "Reference", file);

    /// <summary>A file of the repository's data/ folder (the data sets embedded in the engine, and scikit-learn's scores on them).</summary>
    public static string Data(params string[] parts) => Path.Combine([RepoRoot, "data", .. parts]);

    /// <summary>data/make-classification/make_classification_1000x20.csv.gz decompressed once into a temporary file.</summary>
    public static string MakeClassificationCsv => MakeClassificationFile.Value;

    /// <summary>A fresh empty temporary folder for one test.</summary>
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "infogpu-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string DecompressMakeClassification()
    {
        string path = Path.Combine(TempDir(), "make_classification_1000x20.csv");
        using (var input = new GZipStream(File.OpenRead(Data("make-classification", "make_classification_1000x20.csv.gz")), CompressionMode.Decompress))
        using (var output = File.Create(path))
            input.CopyTo(output);
        return path;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "InfoGpu.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find InfoGpu.sln above " + AppContext.BaseDirectory);
    }
}
