using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Reliability;

/// <summary>
/// Thousands of mutated inputs to every text parser: nothing but a clean error (or a valid
/// parse) may come out; never another exception, never a hang.
/// </summary>
public class ParserFuzzTests
{
    private const int Iterations = 3000;

    private static void WithinTime(Action body)
    {
        var task = Task.Run(body);
        Assert.True(task.Wait(TimeSpan.FromSeconds(60)), "the fuzz loop hung (over 60 s)");
    }

    [Fact]
    public void CsvParserOnlyThrowsCleanErrors()
    {
        const string valid = "a,b,c\n0.1,0.2,0.7\n0.3,0.3,0.4\n1,0,0\n";
        var m = new Mutator(1);
        WithinTime(() =>
        {
            for (int i = 0; i < Iterations; i++)
            {
                string text = m.Mutate(valid);
                try
                {
                    var table = CsvTable.Parse("fuzz.csv", text.Split('\n'));
                    _ = table.ToMatrix();
                    if (table.Columns > 0)
                        _ = table.Categories(0);
                }
                catch (InfoGpuException e)
                {
                    Assert.Contains("fuzz.csv", e.Message);
                    Assert.DoesNotContain('\n', e.Message);
                }
            }
        });
    }

    [Fact]
    public void NumberListsOnlyGiveUsageErrors()
    {
        var m = new Mutator(2);
        WithinTime(() =>
        {
            for (int i = 0; i < Iterations; i++)
            {
                string text = m.Mutate("0.25,0.5,0.125,0.125");
                try
                {
                    var values = Args.ParseList("p", text);
                    Assert.All(values, v => Assert.True(double.IsFinite(v)));
                }
                catch (UsageException e)
                {
                    Assert.StartsWith("--p", e.Message);
                }
            }
        });
    }

    [Fact]
    public void ConsoleMeasuresOnlyExitWithCleanCodes()
    {
        var m = new Mutator(3);
        string dir = TestPaths.TempDir();
        WithinTime(() =>
        {
            for (int i = 0; i < 400; i++)
            {
                string p = m.Mutate("0.2,0.8");
                string table = m.Mutate("0.2,0.1;0.15,0.55");
                string csv = Path.Combine(dir, "rows.csv");
                File.WriteAllText(csv, m.Mutate("0.5,0.5\n0.9,0.1\n"));
                foreach (var args in new[]
                {
                    new[] { "measure", "entropy", "--p", p, "--accelerator", "cpu" },
                    ["measure", "joint", "--table", table, "--accelerator", "cpu"],
                    ["measure", "entropy", "--csv", csv, "--accelerator", "cpu"],
                    ["measure", "kl", "--p", p, "--q", m.Mutate("0.5,0.5"), "--accelerator", "cpu", "--epsilon", m.Mutate("1e-10")],
                })
                {
                    var (code, _, err) = ConsoleRunner.Run(args);
                    Assert.True(code is 0 or 1 or 2, $"exit code {code} for {string.Join(' ', args)}");
                    if (code != 0)
                    {
                        Assert.StartsWith("error: ", err.Split('\n').Last(l => l.Length > 0));
                        Assert.DoesNotContain("   at ", err);
                    }
                }
            }
        });
    }
}
