using System.Text.Json.Nodes;
using InfoGpu.Host.Bench;
using InfoGpu.Host.Report;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Repository;

/// <summary>The repository carries everything its tests, report and benchmarks read: nothing outside the clone.</summary>
public class SelfContainedTests
{
    /// <summary>The team's notebook folder beside the repository, which nothing may read (spelled in parts so that this file does not name it).</summary>
    private static readonly string SharedFolder = string.Join('/', "..", "shared");

    [Fact]
    public void NoSourceReadsAFolderBesideTheRepository()
    {
        var offenders = new List<string>();
        foreach (string top in new[] { "src", "tests", "benchmarks", "samples", "scripts", "data", ".ci" })
        {
            string dir = Path.Combine(TestPaths.RepoRoot, top);
            if (!Directory.Exists(dir))
                continue;
            foreach (string file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(TestPaths.RepoRoot, file);
                if (rel.Contains("/bin/", StringComparison.Ordinal) || rel.Contains("/obj/", StringComparison.Ordinal) || file.EndsWith(".gz", StringComparison.Ordinal) || file == typeof(SelfContainedTests).Assembly.Location)
                    continue;
                if (Path.GetFileName(file) == "SelfContainedTests.cs")
                    continue;
                string text = File.ReadAllText(file);
                if (text.Contains(SharedFolder, StringComparison.Ordinal) || text.Contains("\"shared\", \"", StringComparison.Ordinal))
                    offenders.Add(rel);
            }
        }
        Assert.True(offenders.Count == 0, $"these files still name {SharedFolder}: " + string.Join(", ", offenders));
    }

    [Fact]
    public void TheReportShipsScikitLearnsScores()
    {
        var embedded = ReportSections.SklearnReference();
        Assert.NotNull(embedded);
        var file = JsonNode.Parse(File.ReadAllText(TestPaths.Data("make-classification", "mutual_info_classif.json")))!["sklearn_mutual_info_classif_random_state_42_nats"]!
            .AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(file, embedded);
    }

    [Fact]
    public void PeersAreTheRepositorysOwnScripts()
    {
        if (Environment.GetEnvironmentVariable(PeerRunner.PeersVariable) is { Length: > 0 })
            return;
        string? dir = PeerRunner.PeersDirectory();
        Assert.NotNull(dir);
        foreach (string script in new[] { "_peers.py", "torch_rbm.py", "torch_vae.py", "sklearn_rbm.py", "sklearn_mi.py", "numpy_measures.py" })
            Assert.True(File.Exists(Path.Combine(dir, script)), $"{script} missing from {dir}");
        // The console's own copy (what the installed tool carries) is byte for byte the repository's.
        string copy = Path.Combine(AppContext.BaseDirectory, "peers", "sklearn_mi.py");
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "benchmarks", "peers", "sklearn_mi.py")), File.ReadAllText(copy));
    }

    [Fact]
    public void AMissingPythonIsAUsageError()
    {
        var (code, _, err) = ConsoleRunner.Run("bench", "--suite", "measures", "--peers", "--python", "/nonexistent/python3");
        Assert.Equal(2, code);
        Assert.Contains("--python /nonexistent/python3", err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
