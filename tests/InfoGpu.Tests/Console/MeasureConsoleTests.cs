using System.Text.Json;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Tests.Measures;

namespace InfoGpu.Tests.Console;

public class MeasureConsoleTests
{
    [Theory]
    [InlineData("double", Tolerance.Float64Relative)]
    [InlineData("single", Tolerance.Float32Relative)]
    public void ExamplesJsonHasExactlyTheReferenceKeysAndValues(string precision, double tolerance)
    {
        var (code, output, err) = ConsoleRunner.Run("measure", "examples", "--json", "--precision", precision, "--accelerator", "cpu");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var reference = SeedValuesTests.Reference();
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(reference.Keys.Order(), keys.Order());
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            // The torch label-smoothing references are float32 results (see SeedValuesTests).
            double tol = p.Name.EndsWith("_torch_nats", StringComparison.Ordinal) ? Math.Max(tolerance, 3e-7) : tolerance;
            Tolerance.Close(reference[p.Name], p.Value.GetDouble(), tol, 0, p.Name);
        }
    }

    [Fact]
    public void EntropyOfACoinInBits()
    {
        var (code, output, _) = ConsoleRunner.Run("measure", "entropy", "--p", "0.2,0.8", "--base", "2", "--json", "--accelerator", "cpu");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Tolerance.Close(0.7219280948873623, doc.RootElement.GetProperty("values")[0].GetDouble(), 1e-6);
        Assert.Equal("bits", doc.RootElement.GetProperty("unit").GetString());
    }

    [Fact]
    public void BatchedCsvRowsGiveValuesInRowOrder()
    {
        string dir = TestPaths.TempDir();
        string p = Path.Combine(dir, "p.csv");
        string q = Path.Combine(dir, "q.csv");
        File.WriteAllText(p, "0.5,0.5\n0.9,0.1\n1,0\n");
        File.WriteAllText(q, "0.5,0.5\n0.5,0.5\n0.5,0.5\n");
        var (code, output, err) = ConsoleRunner.Run("measure", "kl", "--p-csv", p, "--q-csv", q, "--json", "--accelerator", "ilgpu-cpu");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var values = doc.RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Tolerance.AllClose([0, 0.9 * Math.Log(1.8) + 0.1 * Math.Log(0.2), Math.Log(2)], values, 1e-6, 1e-7);

        (code, output, err) = ConsoleRunner.Run("measure", "entropy", "--csv", p, "--json", "--base", "2", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        using var doc2 = JsonDocument.Parse(output);
        Assert.Equal(3, doc2.RootElement.GetProperty("values").GetArrayLength());
    }

    [Fact]
    public void JointAndMutualInformationCommands()
    {
        var (code, output, err) = ConsoleRunner.Run("measure", "joint", "--table", "0.2,0.1;0.15,0.55", "--base", "2", "--json", "--precision", "double");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        Tolerance.Close(0.13386262507750835, doc.RootElement.GetProperty("I_XY").GetDouble(), 1e-12);
        Tolerance.Close(0.7474282741531842, doc.RootElement.GetProperty("H_X_given_Y").GetDouble(), 1e-12);

        string csv = Path.Combine(TestPaths.TempDir(), "w.csv");
        File.WriteAllText(csv, "weather,umbrella\nsun,no\nsun,no\nsun,no\nsun,yes\nrain,yes\nrain,yes\nrain,yes\nrain,yes\nsun,no\nrain,yes\n");
        (code, output, err) = ConsoleRunner.Run("measure", "mi", "--csv", csv, "--x", "weather", "--y", "umbrella", "--base", "2", "--json", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        using var doc2 = JsonDocument.Parse(output);
        // measure mi defaults to the exact float64 path: the chapter's value to 1e-12, not float32's 1e-6.
        Assert.Equal("double", doc2.RootElement.GetProperty("precision").GetString());
        Tolerance.Close(0.6099865470109875, doc2.RootElement.GetProperty("value").GetDouble(), 1e-12);
    }

    [Fact]
    public void InfiniteResultsAreWrittenAsJsonStrings()
    {
        var (code, output, _) = ConsoleRunner.Run("measure", "kl", "--p", "0.5,0.5", "--q", "1,0", "--json", "--accelerator", "cpu");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("Infinity", doc.RootElement.GetProperty("values")[0].GetString());
    }

    [Fact]
    public void MessagesNameWhatIsWrongInTheUsersTerms()
    {
        // A joint table is one distribution: the message speaks of the table, not of "row 0".
        var (code, _, err) = ConsoleRunner.Run("measure", "joint", "--table", "0.5,0.5;0.5,0.5", "--precision", "double");
        Assert.Equal(1, code);
        Assert.Contains("joint table: the table sums to 2, not 1", err, StringComparison.Ordinal);
        Assert.DoesNotContain("row", err, StringComparison.Ordinal);

        // A base just above 1 is labelled with all its digits, not as "log1".
        string output;
        (code, output, _) = ConsoleRunner.Run("measure", "entropy", "--p", "0.5,0.5", "--base", "1.0000000000000002", "--accelerator", "cpu");
        Assert.Equal(0, code);
        Assert.Contains("log1.0000000000000002 units", output, StringComparison.Ordinal);

        // A folder given as a CSV file, and a header naming one column twice.
        string dir = TestPaths.TempDir();
        (code, _, err) = ConsoleRunner.Run("measure", "entropy", "--csv", dir, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("it is a folder; give a file", err, StringComparison.Ordinal);
        string csv = Path.Combine(dir, "dup.csv");
        File.WriteAllText(csv, "a,a,y\n1,2,0\n3,4,1\n5,6,1\n7,8,0\n9,1,1\n");
        (code, _, err) = ConsoleRunner.Run("mi", "select", "--csv", csv, "--target", "y", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("the header names column 'a' twice (columns 0 and 1)", err, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultLogBaseIsNats()
    {
        Assert.Equal(Math.E, default(InfoGpu.Measures.LogBase).Value);
        Assert.Equal(1.0, default(InfoGpu.Measures.LogBase).Scale);
        Assert.Equal(InfoGpu.Measures.LogBase.Nats, default(InfoGpu.Measures.LogBase));
        Assert.Equal("nats", default(InfoGpu.Measures.LogBase).Unit);
    }

    [Theory]
    [InlineData(2, "measure", "kl", "--p", "0.5,,x", "--q", "1")]
    [InlineData(2, "measure", "entropy", "--p", "0.5,abc")]
    [InlineData(2, "measure", "entropy", "--bogus")]
    [InlineData(2, "measure", "nothing")]
    [InlineData(2, "frobnicate")]
    [InlineData(2, "measure", "entropy", "--p", "0.5,0.5", "--accelerator", "tpu")]
    [InlineData(1, "measure", "entropy", "--p", "0.5,0.6")]
    [InlineData(1, "measure", "entropy", "--p", "-0.5,1.5")]
    [InlineData(2, "measure", "entropy", "--p", "0.5,0.5", "--base", "1")]
    [InlineData(2, "measure", "entropy", "--p", "0.5,0.5", "--base", "nan")]
    [InlineData(2, "measure", "entropy", "--p", "0.5,0.5", "--base", "-2")]
    [InlineData(1, "measure", "kl", "--p", "0.5,0.5", "--q", "0.2,0.3,0.5")]
    [InlineData(1, "measure", "entropy", "--csv", "/nonexistent/rows.csv")]
    public void BadInputGivesOneLineErrorAndExitCode(int expected, params string[] args)
    {
        var (code, output, err) = ConsoleRunner.Run(args);
        Assert.Equal(expected, code);
        Assert.Equal("", output);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.DoesNotContain("   at ", err);
    }

    [SkippableFact]
    public void AbsentAcceleratorNamesTheKindsPresent()
    {
        Skip.If(TestDevices.Cuda is not null, "this machine has a CUDA device");
        var (code, _, err) = ConsoleRunner.Run("measure", "entropy", "--p", "0.5,0.5", "--accelerator", "cuda");
        Assert.Equal(1, code);
        Assert.Contains("'cuda' is not present", err);
        Assert.Contains("present: cpu, ilgpu-cpu", err);
    }

    [Fact]
    public void CsvWithRaggedRowsOrTextNamesTheLine()
    {
        string dir = TestPaths.TempDir();
        string ragged = Path.Combine(dir, "ragged.csv");
        File.WriteAllText(ragged, "0.5,0.5\n0.2,0.3,0.5\n");
        var (code, _, err) = ConsoleRunner.Run("measure", "entropy", "--csv", ragged, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("line 2", err);
        string text = Path.Combine(dir, "text.csv");
        File.WriteAllText(text, "0.5,0.5\n0.5,abc\n");
        (code, _, err) = ConsoleRunner.Run("measure", "entropy", "--csv", text, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("line 2", err);
        Assert.Contains("'abc' is not a number", err);
        string nan = Path.Combine(dir, "nan.csv");
        File.WriteAllText(nan, "0.5,0.5\n0.5,NaN\n");
        (code, _, err) = ConsoleRunner.Run("measure", "entropy", "--csv", nan, "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("line 2", err);
    }

    [Fact]
    public void HelpListsOptionsAndExamples()
    {
        var (code, output, _) = ConsoleRunner.Run("measure", "kl", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--epsilon", output);
        Assert.Contains("examples:", output);
        (code, output, _) = ConsoleRunner.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("measure examples", output);
    }

    [Fact]
    public void DevicesListsCpuAndIlgpuCpu()
    {
        var (code, output, _) = ConsoleRunner.Run("devices", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var kinds = doc.RootElement.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("kind").GetString()).ToList();
        Assert.Contains("cpu", kinds);
        Assert.Contains("ilgpu-cpu", kinds);
        var cpu = doc.RootElement.GetProperty("devices").EnumerateArray().First(d => d.GetProperty("kind").GetString() == "cpu");
        Assert.True(cpu.GetProperty("simd_width_bits").GetInt32() >= 128);
        Assert.True(cpu.GetProperty("cores").GetInt32() >= 1);
    }

    [Fact]
    public void PlotsAreWrittenAsPngFiles()
    {
        string dir = TestPaths.TempDir();
        var (code, _, err) = ConsoleRunner.Run("measure", "examples", "--plot", dir, "--accelerator", "cpu", "--quiet");
        Assert.True(code == 0, err);
        foreach (string name in new[] { "binary_entropy.png", "confidence_loss.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, name));
            Assert.True(bytes.Length > 1000, $"{name} is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        Assert.Empty(Directory.GetFiles(dir, "*.tmp*"));
    }
}
