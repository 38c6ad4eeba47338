using System.Diagnostics;
using System.Text;
using InfoGpu.Host.Cli;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Restricted;

namespace InfoGpu.Tests.Console;

/// <summary>
/// The console's parser: suggestions for mistyped commands and options, the completion scripts,
/// help that lists every option, and the exit codes and one-line errors of the parse rules.
/// </summary>
public class CommandLineTests
{
    private static string LastLine(string err) => err.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";

    private static void AssertUsageError(string[] args, string expected)
    {
        var (code, output, err) = ConsoleRunner.Run(args);
        Assert.True(code == 2, $"exit {code} for '{string.Join(' ', args)}': {err}");
        Assert.Equal("", output);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", err, StringComparison.Ordinal);
        Assert.Contains(expected, err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "measure", "entrpy" }, "unknown command 'measure entrpy'; did you mean 'measure entropy'?")]
    [InlineData(new[] { "measure", "entropyy", "--p", "0.5,0.5" }, "did you mean 'measure entropy'?")]
    [InlineData(new[] { "mesure", "entropy" }, "unknown command 'mesure'; did you mean 'measure entropy'?")]
    [InlineData(new[] { "rbm", "trian" }, "did you mean 'rbm train'?")]
    [InlineData(new[] { "devcies" }, "did you mean 'devices'?")]
    [InlineData(new[] { "completoin", "bash" }, "did you mean 'completion'?")]
    public void MistypedCommandGetsTheNearestCommand(string[] args, string expected) => AssertUsageError(args, expected);

    [Fact]
    public void CommandFarFromEveryNameGetsTheListInstead()
    {
        AssertUsageError(["zzzzzzzz"], "unknown command 'zzzzzzzz'; run 'infogpu --help' for the list");
        AssertUsageError(["measure", "qqqqqqqq"], "unknown command 'measure qqqqqqqq'; try: measure entropy");
    }

    [Theory]
    [InlineData(new[] { "rbm", "train", "--epoch", "3" }, "unknown option --epoch for 'rbm train'; did you mean --epochs? see 'infogpu rbm train --help'")]
    [InlineData(new[] { "measure", "entropy", "--bsae", "2" }, "unknown option --bsae for 'measure entropy'; did you mean --base?")]
    [InlineData(new[] { "measure", "kl", "--jsno" }, "did you mean --json?")]
    [InlineData(new[] { "vae", "train", "--learning-rat=0.1" }, "unknown option --learning-rat for 'vae train'")]
    public void MistypedOptionGetsTheNearestOption(string[] args, string expected) => AssertUsageError(args, expected);

    [Fact]
    public void OptionFarFromEveryNameGetsNoGuess()
    {
        var (code, _, err) = ConsoleRunner.Run("measure", "entropy", "--zzzzzzzz", "1");
        Assert.Equal(2, code);
        Assert.Contains("unknown option --zzzzzzzz for 'measure entropy'; see 'infogpu measure entropy --help'", err, StringComparison.Ordinal);
        Assert.DoesNotContain("did you mean", err, StringComparison.Ordinal);
    }

    [Fact]
    public void EditDistanceCountsInsertionsDeletionsSubstitutionsAndSwaps()
    {
        Assert.Equal(3, Suggest.Distance("kitten", "sitting"));
        Assert.Equal(1, Suggest.Distance("entrpy", "entropy"));
        Assert.Equal(1, Suggest.Distance("tarin", "train"));
        Assert.Equal(0, Suggest.Distance("kl", "kl"));
        Assert.Equal(4, Suggest.Distance("", "json"));
        foreach (var (a, b) in new[] { ("epoch", "epochs"), ("abc", "cab"), ("quiet", "quite") })
            Assert.Equal(Suggest.Distance(a, b), Suggest.Distance(b, a));
        Assert.Equal(["epochs"], Suggest.Closest("epoch", ["seed", "epochs", "batch"]));
        Assert.Empty(Suggest.Closest("zzzz", ["seed", "epochs", "batch"]));
    }

    [Theory]
    [InlineData(new[] { "measure", "entropy", "--p", "0.5,0.5", "--p", "0.5,0.5" }, "--p is given twice; give it once")]
    [InlineData(new[] { "measure", "entropy", "--json", "--p", "0.5,0.5", "--json" }, "--json is given twice; give it once")]
    [InlineData(new[] { "measure", "entropy", "--p" }, "--p needs a value (LIST)")]
    [InlineData(new[] { "measure", "entropy", "--p", "" }, "--p needs a value (LIST), not an empty string")]
    [InlineData(new[] { "measure", "entropy", "--p=" }, "--p needs a value (LIST), not an empty string")]
    [InlineData(new[] { "measure", "entropy", "--p", "0.5,0.5", "--json=yes" }, "--json is a flag and takes no value")]
    [InlineData(new[] { "measure", "entropy", "stray" }, "unexpected argument 'stray' for 'measure entropy'")]
    [InlineData(new[] { "measure", "entropy", "--p", "0.5,0.5", "--" }, "unexpected argument '--' for 'measure entropy'")]
    [InlineData(new[] { "measure", "entropy", "--p", "0.5,0.5", "@args.txt" }, "unexpected argument '@args.txt' for 'measure entropy'")]
    [InlineData(new[] { "measure", "entropy", "--p", "0.5,0.5", "-h2" }, "unexpected argument '-h2' for 'measure entropy'")]
    public void ParseRulesAreUsageErrorsOnOneLine(string[] args, string expected) => AssertUsageError(args, expected);

    [Fact]
    public void NameEqualsValueAndNegativeValuesParse()
    {
        var (code, output, err) = ConsoleRunner.Run("measure", "entropy", "--p=0.25,0.75", "--base=2", "--json", "--accelerator", "cpu");
        Assert.True(code == 0, err);
        Assert.Contains("\"value\": 0.811278", output, StringComparison.Ordinal);
        // A value that starts with a dash is a value, not an option.
        var (code2, _, err2) = ConsoleRunner.Run("measure", "entropy", "--p", "-0.5,1.5", "--accelerator", "cpu");
        Assert.Equal(1, code2);
        Assert.DoesNotContain("unknown option", err2, StringComparison.Ordinal);
    }

    [Fact]
    public void ExitCodesOfTheTopLevel()
    {
        Assert.Equal(2, ConsoleRunner.Run().Code);
        Assert.Equal(0, ConsoleRunner.Run("--help").Code);
        Assert.Equal(0, ConsoleRunner.Run("measure", "--help").Code);
        Assert.Equal(2, ConsoleRunner.Run("measure").Code);
        // Bad input (a distribution that does not sum to 1) is exit 1, not a usage error.
        Assert.Equal(1, ConsoleRunner.Run("measure", "entropy", "--p", "0.2,0.2", "--accelerator", "cpu").Code);
    }

    [Fact]
    public void HelpOfEveryCommandListsEveryOption()
    {
        Assert.NotEmpty(CommandLine.Commands);
        foreach (var command in CommandLine.Commands)
        {
            var (code, output, err) = ConsoleRunner.Run([.. command.Spec.Path.Split(' '), "--help"]);
            Assert.True(code == 0, $"{command.Spec.Path} --help: exit {code} {err}");
            var lines = output.Split('\n');
            foreach (var option in command.Spec.Options.Concat(CommandSpec.Common))
            {
                string head = option.Value is null ? $"  --{option.Name} " : $"  --{option.Name} {option.Value} ";
                var line = lines.FirstOrDefault(l => l.StartsWith(head, StringComparison.Ordinal));
                Assert.True(line is not null, $"'infogpu {command.Spec.Path} --help' does not list --{option.Name}:\n{output}");
                Assert.Contains(Help.Line(option), line, StringComparison.Ordinal);
            }
        }
        Assert.Contains($"  {Completion.Path} ", ConsoleRunner.Run("--help").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void HelpShowsADeclaredDefaultOnce()
    {
        Assert.Equal("hidden units (default: 500)", Help.Line(new OptionSpec("hidden", "H", "hidden units", "500")));
        Assert.Equal("hidden units (default 500)", Help.Line(new OptionSpec("hidden", "H", "hidden units (default 500)", "500")));
        Assert.Equal("hidden units", Help.Line(new OptionSpec("hidden", "H", "hidden units")));
    }

    [Fact]
    public void RbmTrainHelpShowsTheTrainerOptionsDefaults()
    {
        var d = new RbmTrainerOptions();
        string help = ConsoleRunner.Run("rbm", "train", "--help").Out;
        string Line(string option) => help.Split('\n').Single(l => l.StartsWith($"  --{option} ", StringComparison.Ordinal));
        Assert.Contains(FormattableString.Invariant($"default {d.Epochs}"), Line("epochs"), StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"default {d.K}"), Line("k"), StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"default {d.BatchSize}"), Line("batch"), StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"default {d.LearningRate}"), Line("lr"), StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"default {d.Seed}"), Line("seed"), StringComparison.Ordinal);
    }

    [Fact]
    public void CompletionNeedsOneKnownShell()
    {
        AssertUsageError(["completion"], "'completion' needs a shell: bash, zsh or fish");
        AssertUsageError(["completion", "bash", "zsh"], "unexpected argument 'zsh' for 'completion'");
        AssertUsageError(["completion", "bsh"], "unknown shell 'bsh' for 'completion'; did you mean 'bash'?");
        var (code, output, _) = ConsoleRunner.Run("completion", "--help");
        Assert.Equal(0, code);
        Assert.Contains("usage: infogpu completion bash|zsh|fish", output, StringComparison.Ordinal);
    }

    private static string Bash(string script)
    {
        var start = new ProcessStartInfo("bash", ["--norc", "--noprofile", "-s"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(script);
        process.StandardInput.Close();
        var errTask = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "bash did not finish in 60 s");
        Assert.True(process.ExitCode == 0, $"bash exit {process.ExitCode}: {errTask.Result}");
        return output;
    }

    [Fact]
    public void BashScriptIsValidAndCompletesWordsAndOptions()
    {
        var (code, script, err) = ConsoleRunner.Run("completion", "bash");
        Assert.True(code == 0, err);
        string dir = TestPaths.TempDir();
        string file = Path.Combine(dir, $"infogpu-completion-{Guid.NewGuid():N}.bash");
        File.WriteAllText(file, script);
        try
        {
            Bash($"bash -n '{file}' && echo syntax-ok\n").Trim().Equals("syntax-ok", StringComparison.Ordinal);
            Assert.Equal("syntax-ok", Bash($"bash -n '{file}' && echo syntax-ok\n").Trim());

            // Each case: the words typed (the last one partial) and the completions expected.
            var cases = new List<(string Line, string[] Expected)>
            {
                ("infogpu meas", ["measure"]),
                ("infogpu measure entr", ["entropy"]),
                ("infogpu rbm t", ["train"]),
                ("infogpu rbm train --epo", ["--epochs"]),
                ("infogpu rbm train --epochs 3 --ov", ["--overwrite"]),
                ("infogpu rbm train --out ", []), // a value: left to the shell's file completion
                ("infogpu completion ", ["bash", "zsh", "fish"]),
                ("infogpu zzz ", []),
            };
            // Every command completes to exactly its options after "--".
            foreach (var c in CommandLine.Commands)
                cases.Add(($"infogpu {c.Spec.Path} --", c.Spec.Options.Concat(CommandSpec.Common).Select(o => "--" + o.Name).ToArray()));
            // Every command's words complete from their prefixes.
            foreach (var c in CommandLine.Commands)
            {
                var words = c.Spec.Path.Split(' ');
                string before = words.Length > 1 ? string.Join(' ', words[..^1]) + " " : "";
                cases.Add(($"infogpu {before}{words[^1]}", [words[^1]]));
            }

            var driver = new StringBuilder();
            driver.Append($"source '{file}'\n");
            foreach (var (line, _) in cases)
            {
                var typed = line.Split(' ').ToList();
                string array = string.Join(' ', typed.Select(w => $"'{w}'"));
                driver.Append($"COMP_WORDS=({array}); COMP_CWORD={typed.Count - 1}; COMPREPLY=(); _infogpu_complete; echo \"${{COMPREPLY[*]}}\"\n");
            }
            var results = Bash(driver.ToString()).Split('\n');
            Assert.True(results.Length >= cases.Count, $"bash printed {results.Length} lines for {cases.Count} cases");
            for (int i = 0; i < cases.Count; i++)
            {
                var got = results[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToArray();
                var want = cases[i].Expected.Order(StringComparer.Ordinal).ToArray();
                Assert.True(want.SequenceEqual(got), $"'{cases[i].Line}' completed to [{string.Join(' ', got)}], expected [{string.Join(' ', want)}]");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ZshAndFishScriptsCarryEveryCommandAndOption()
    {
        var (zcode, zsh, _) = ConsoleRunner.Run("completion", "zsh");
        Assert.Equal(0, zcode);
        Assert.StartsWith("#compdef infogpu\n", zsh, StringComparison.Ordinal);
        Assert.Contains("bashcompinit", zsh, StringComparison.Ordinal);
        Assert.Contains("_infogpu_complete", zsh, StringComparison.Ordinal);

        var (fcode, fish, _) = ConsoleRunner.Run("completion", "fish");
        Assert.Equal(0, fcode);
        var lines = fish.Split('\n');
        foreach (var c in CommandLine.Commands)
        {
            foreach (var o in c.Spec.Options.Concat(CommandSpec.Common))
            {
                string value = o.Value is null ? " -d" : o.Type == OptionType.Choice ? $" -x -a '{string.Join(' ', o.Choices)}' -d" : " -r -F -d";
                string prefix = $"complete -c infogpu -n '__infogpu_at \"{c.Spec.Path}\"' -l {o.Name}{value} ";
                Assert.True(lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)), $"the fish script lacks --{o.Name} of '{c.Spec.Path}'");
            }
        }
        // Single quotes inside help texts are escaped for fish's single-quoted strings.
        foreach (var l in lines.Where(l => l.Contains(" -d '", StringComparison.Ordinal)))
        {
            string text = l[(l.IndexOf(" -d '", StringComparison.Ordinal) + 5)..^1];
            Assert.DoesNotMatch(@"(?<!\\)'", text.Replace("\\\\", "", StringComparison.Ordinal));
        }
    }
}
