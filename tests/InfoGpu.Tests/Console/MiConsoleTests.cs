using System.Text.Json.Nodes;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Console;

/// <summary><c>infogpu mi select</c>: the JSON contract, the plot, and one-line errors for bad files.</summary>
public class MiConsoleTests
{
    private static string Csv(string text)
    {
        string path = Path.Combine(TestPaths.TempDir(), "data.csv");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void SelectPrintsScoresAndSelectedAsJsonAndWritesThePlot()
    {
        string out_ = TestPaths.TempDir();
        var (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", TestPaths.MakeClassificationCsv, "--target-last", "--top", "5", "--json", "--accelerator", "cpu", "--out", out_);
        Assert.True(code == 0, err);
        var json = JsonNode.Parse(output)!;
        var scores = json["scores"]!.AsArray();
        var selected = json["selected"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
        Assert.Equal(20, scores.Count);
        Assert.Equal([13, 8, 11, 5, 9], selected);
        Assert.Equal("sorted", json["method"]!.GetValue<string>());
        Assert.True(new FileInfo(Path.Combine(out_, "mutual_information.png")).Length > 1000);
    }

    [Fact]
    public void TargetByNameRegressionAndDiscreteColumnsRun()
    {
        string csv = Csv("a,b,c,t\n1,0,0.5,1.2\n2,1,0.1,2.3\n3,0,0.7,2.9\n4,1,0.2,4.1\n5,0,0.9,5.2\n6,1,0.3,5.8\n7,0,0.8,7.1\n8,1,0.4,8.3\n");
        var (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", csv, "--target", "t", "--regression", "--discrete", "b", "--neighbors", "2", "--json", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        var json = JsonNode.Parse(output)!;
        Assert.Equal(3, json["scores"]!.AsArray().Count);
        Assert.True(json["discrete"]![1]!.GetValue<bool>());
        Assert.Equal(0, json["selected"]![0]!.GetValue<int>());
    }

    [Theory]
    [InlineData("x,y\n1,0\n2,1,3\n3,0\n", "line 3")]
    [InlineData("x,y\n1,0\nNaN,1\n3,0\n4,1\n5,0\n", "line 3")]
    [InlineData("x,y\n1,0\n2,0.5\n3,0\n4,1\n5,0\n", "regression")]
    public void BadFilesGiveOneLineErrors(string text, string mention)
    {
        var (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", Csv(text), "--target-last", "--neighbors", "1", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        var errors = err.Trim().Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.Single(errors);
        Assert.Contains(mention, errors[0]);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void MissingTargetColumnIsNamed()
    {
        var (code, _, err) = ConsoleRunner.Run("mi", "select", "--csv", Csv("x,y\n1,0\n2,1\n3,0\n4,1\n5,0\n"), "--target", "label", "--accelerator", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("no column 'label'", err);
        (code, _, err) = ConsoleRunner.Run("mi", "select", "--csv", Csv("x,y\n1,0\n"), "--accelerator", "cpu");
        Assert.Equal(2, code);
        Assert.Contains("--target", err);
    }

    [Fact]
    public void ConstantFeaturesAndOneMemberClassesAreWarnedAbout()
    {
        // x follows the class, c is constant, and class 2 has a single row.
        var text = new System.Text.StringBuilder("x,c,y\n");
        for (int i = 0; i < 40; i++)
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i % 2 + 0.01 * i},7,{i % 2}\n");
        text.Append("5,7,2\n");
        var (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", Csv(text.ToString()), "--target", "y", "--json", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        Assert.Contains("warning: feature 1 is constant", err, StringComparison.Ordinal);
        Assert.Contains("warning: 1 of 3 classes have a single member", err, StringComparison.Ordinal);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal(2, doc.RootElement.GetProperty("warnings").GetArrayLength());
        Assert.Equal(0.0, doc.RootElement.GetProperty("scores")[1].GetDouble());

        // Without anything to say, the array is there and empty.
        (code, output, err) = ConsoleRunner.Run("mi", "select", "--csv", TestPaths.MakeClassificationCsv, "--target-last", "--json", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        using var quiet = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal(0, quiet.RootElement.GetProperty("warnings").GetArrayLength());
        Assert.DoesNotContain("warning", err, StringComparison.Ordinal);
    }
}
