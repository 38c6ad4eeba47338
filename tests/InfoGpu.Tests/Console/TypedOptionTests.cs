using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using InfoGpu.Host.Cli;

namespace InfoGpu.Tests.Console;

/// <summary>
/// Options are declared once, typed, with their defaults: the parser refuses a value of another
/// type at parse time (usage error, one line naming the option and what it wants), help and the
/// completion scripts show the declared type, default and choices, and every command's examples
/// parse. Drift between a declaration and the command's reads fails these tests and, through
/// <see cref="Args.StrictReads"/> (on for the whole test suite), every console test.
/// </summary>
public class TypedOptionTests
{
    private static IEnumerable<(CommandSpec Spec, OptionSpec Option)> AllOptions() =>
        CommandLine.Commands.SelectMany(c => c.Spec.Options.Concat(CommandSpec.Common).Select(o => (c.Spec, o)));

    /// <summary>The default a help text states: the word after "default" / "default:" (null when it states none).</summary>
    private static string? StatedDefault(string help)
    {
        var m = Regex.Match(help, @"\bdefault:? (-?[0-9][0-9.eE+-]*[0-9]|-?[0-9]|[a-z][a-z0-9/-]*)");
        return m.Success ? m.Groups[1].Value : null;
    }

    [Fact]
    public void EveryOptionsTypedDefaultIsOfItsTypeAndIsWhatItsHelpSays()
    {
        var problems = new List<string>();
        foreach (var (spec, o) in AllOptions())
        {
            string where = $"'{spec.Path}' --{o.Name}";
            if ((o.Value is null) != (o.Type == OptionType.Flag))
                problems.Add($"{where}: a flag must have no value name and a value option one ({o.Type}, value {o.Value})");
            if (o.Type == OptionType.Choice && (o.Choices.Count < 2 || o.Value != string.Join('|', o.Choices)))
                problems.Add($"{where}: a choice needs at least two values, shown as its value name");
            if (o.TypedDefault is object d)
            {
                Type expected = o.Type switch
                {
                    OptionType.Int => typeof(int),
                    OptionType.Long => typeof(long),
                    OptionType.Unsigned => typeof(ulong),
                    OptionType.Double => typeof(double),
                    OptionType.Text or OptionType.Path or OptionType.Choice => typeof(string),
                    _ => typeof(void),
                };
                if (d.GetType() != expected)
                {
                    problems.Add($"{where}: default {d} is a {d.GetType().Name}, the option is {o.Type}");
                    continue;
                }
                string text = OptionSpec.Format(d);
                // The default must pass the option's own parse, as if typed.
                try
                {
                    Args.CheckType(o, text);
                }
                catch (UsageException e)
                {
                    problems.Add($"{where}: its default does not parse: {e.Message}");
                }
                string? stated = StatedDefault(o.Help);
                if (stated is not null && !SameValue(o, stated, d))
                    problems.Add($"{where}: help says default {stated}, the declared default is {text}");
                string line = Help.Line(o);
                if (!line.Contains(text, StringComparison.Ordinal) && stated is null)
                    problems.Add($"{where}: help line '{line}' does not show the default {text}");
            }
            else if (Regex.IsMatch(o.Help, @"\(default:? -?[0-9][0-9.eE+-]*\)"))
            {
                // A plain number as the default in the help text must be declared, typed.
                problems.Add($"{where}: help states a numeric default ('{o.Help}') but the option declares none");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static bool SameValue(OptionSpec o, string stated, object d) => d switch
    {
        double x => double.TryParse(stated, NumberStyles.Float, CultureInfo.InvariantCulture, out double y) && x == y,
        _ => string.Equals(stated, OptionSpec.Format(d), StringComparison.OrdinalIgnoreCase),
    };

    [Fact]
    public void EveryChoiceIsAcceptedAndAnythingElseIsRefusedWithTheChoicesAndTheNearest()
    {
        int choices = 0;
        foreach (var (spec, o) in AllOptions().Where(x => x.Option.Type == OptionType.Choice))
        {
            foreach (string c in o.Choices)
            {
                Assert.Equal(c, Args.Parse(spec, ["--" + o.Name, c]).Raw(o.Name));
                // Case does not matter; the command sees the declared spelling.
                Assert.Equal(c, Args.Parse(spec, ["--" + o.Name, c.ToUpperInvariant()]).Raw(o.Name));
                choices++;
            }
            var e = Assert.Throws<UsageException>(() => Args.Parse(spec, ["--" + o.Name, "zzzz"]));
            Assert.Equal($"--{o.Name} 'zzzz' is not one of {string.Join(", ", o.Choices)}", e.Message);
            // One letter off: the nearest choice is suggested.
            string near = o.Choices[0][..^1] + (o.Choices[0][^1] == 'x' ? 'y' : 'x');
            if (!o.Choices.Contains(near, StringComparer.OrdinalIgnoreCase))
                Assert.Contains($"did you mean '{o.Choices[0]}'?", Assert.Throws<UsageException>(() => Args.Parse(spec, ["--" + o.Name, near])).Message, StringComparison.Ordinal);
        }
        Assert.True(choices >= 20, $"only {choices} choices found: the specs declare fewer choice options than expected");
    }

    [Theory]
    [InlineData("rbm train", "epochs", "2.5", "--epochs '2.5' is not an integer (--epochs E)")]
    [InlineData("rbm train", "lr", "fast", "--lr 'fast' is not a finite number")]
    [InlineData("rbm train", "momentum", "0.5,x", "--momentum: item 2 'x' is not a number")]
    [InlineData("rbm train", "sampler", "pdc", "--sampler 'pdc' is not one of cd, pcd; did you mean 'pcd'?")]
    [InlineData("mi select", "seed", "-1", "--seed '-1' is not a non-negative integer (--seed S)")]
    [InlineData("measure loss", "targets", "0,1.5", "--targets: item 2 '1.5' is not an integer")]
    [InlineData("vae train", "lr", "inf", "--lr 'inf' is not a finite number")]
    [InlineData("bench", "suite", "mesures", "--suite 'mesures' is not one of measures, vae, mi, rbm, all; did you mean 'measures'?")]
    public void AValueOfTheWrongTypeIsAUsageErrorAtParseTimeNamingTheOption(string command, string option, string value, string expected)
    {
        var (code, output, err) = ConsoleRunner.Run([.. command.Split(' '), "--" + option, value]);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"error: {expected}", err.TrimEnd());
    }

    [Fact]
    public void EveryTypedOptionRefusesAValueOfAnotherType()
    {
        foreach (var (spec, o) in AllOptions())
        {
            string? bad = o.Type switch
            {
                OptionType.Int or OptionType.Long or OptionType.Unsigned or OptionType.Integers => "1.5x",
                OptionType.Double or OptionType.Numbers => "nan",
                OptionType.Choice => "no-such-value",
                _ => null,
            };
            if (bad is null)
                continue;
            var e = Assert.Throws<UsageException>(() => Args.Parse(spec, ["--" + o.Name, bad]));
            Assert.StartsWith($"--{o.Name}", e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>Splits an example as a shell would: spaces separate words, double quotes group them.</summary>
    private static List<string> Words(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool quoted = false, any = false;
        foreach (char ch in line)
        {
            if (ch == '"')
            {
                quoted = !quoted;
                any = true;
            }
            else if (ch == ' ' && !quoted)
            {
                if (any)
                    words.Add(current.ToString());
                current.Clear();
                any = false;
            }
            else
            {
                current.Append(ch);
                any = true;
            }
        }
        if (any)
            words.Add(current.ToString());
        return words;
    }

    [Fact]
    public void EveryExampleOfEveryCommandParsesAsItsCommandDeclaresIt()
    {
        int examples = 0;
        foreach (var command in CommandLine.Commands)
        {
            foreach (string example in command.Spec.Examples)
            {
                var words = Words(example);
                // A launcher may come first (mpirun -np 2 infogpu ...).
                words = words.Skip(Math.Max(0, words.IndexOf("infogpu"))).ToList();
                string[] path = ["infogpu", .. command.Spec.Path.Split(' ')];
                Assert.True(words.Take(path.Length).SequenceEqual(path), $"example '{example}' does not start with '{string.Join(' ', path)}'");
                var argv = words.Skip(path.Length).ToList();
                try
                {
                    Args.Parse(command.Spec, argv);
                }
                catch (UsageException e)
                {
                    Assert.Fail($"example '{example}': {e.Message}");
                }
                examples++;
            }
        }
        Assert.True(examples > 40, $"only {examples} examples");
    }

    [Fact]
    public void TheMeasureExamplesRunWithStrictReads()
    {
        // Self-contained examples (no files): run them whole, every read checked against the declarations.
        Assert.True(Args.StrictReads);
        int ran = 0;
        foreach (var command in CommandLine.Commands.Where(c => c.Spec.Path.StartsWith("measure ", StringComparison.Ordinal)))
        {
            foreach (string example in command.Spec.Examples.Where(e => !e.Contains("csv", StringComparison.Ordinal) && !e.Contains("--plot", StringComparison.Ordinal)))
            {
                var argv = Words(example).Skip(1).ToList();
                if (command.Spec.Options.Contains(CommandSpec.Accelerator))
                    argv.AddRange(["--accelerator", "cpu"]);
                var (code, _, err) = ConsoleRunner.Run([.. argv]);
                Assert.True(code == 0, $"'{example}' exited {code}: {err}");
                ran++;
            }
        }
        Assert.True(ran >= 8, $"only {ran} examples ran");
    }

    [Fact]
    public void StrictReadsCatchAnUndeclaredOptionAWrongTypeAndADriftedFallback()
    {
        var spec = new CommandSpec("drift test", "", "", [OptionSpec.Int("n", "N", "a count", 3), OptionSpec.Text("name", "S", "a name")], []);
        var a = Args.Parse(spec, ["--n", "4"]);
        Assert.Equal(4, a.GetInt("n"));
        Assert.Equal(3, Args.Parse(spec, []).GetInt("n"));
        Assert.Equal(4, a.GetInt("n", 3));
        Assert.Contains("falls back to 5 for --n, but declares the default 3", Assert.Throws<InvalidOperationException>(() => a.GetInt("n", 5)).Message, StringComparison.Ordinal);
        Assert.Contains("reads --n as Text or Path or Choice, but declares it Int", Assert.Throws<InvalidOperationException>(() => a.Get("n")).Message, StringComparison.Ordinal);
        Assert.Contains("reads --name as Double, but declares it Text", Assert.Throws<InvalidOperationException>(() => a.GetDouble("name", 0)).Message, StringComparison.Ordinal);
        Assert.Contains("reads --count, which it does not declare", Assert.Throws<InvalidOperationException>(() => a.Has("count")).Message, StringComparison.Ordinal);
        Assert.False(a.Declares("count"));
    }

    [Fact]
    public void HelpShowsEachOptionsTypeChoicesAndDefaultFromItsDeclaration()
    {
        string help = ConsoleRunner.Run("rbm", "train", "--help").Out;
        var d = new InfoGpu.Restricted.RbmTrainerOptions();
        Assert.Contains(FormattableString.Invariant($"--epochs E"), help, StringComparison.Ordinal);
        Assert.Contains(FormattableString.Invariant($"passes over the training images (default {d.Epochs}; with --resume: the total to reach) (integer)"), help, StringComparison.Ordinal);
        Assert.Contains("--sampler cd|pcd", help, StringComparison.Ordinal);
        Assert.Contains("contrastive divergence from the data, or persistent chains (default: cd)", help, StringComparison.Ordinal);
        Assert.Contains("--momentum M1,M2", help, StringComparison.Ordinal);
        Assert.Contains("(numbers, comma-separated)", help, StringComparison.Ordinal);
        Assert.Contains("--accelerator auto|cuda|opencl|cpu|ilgpu-cpu", help, StringComparison.Ordinal);
        string mi = ConsoleRunner.Run("mi", "select", "--help").Out;
        Assert.Contains("--top K", mi, StringComparison.Ordinal);
        Assert.Contains("how many features to select (default 5) (integer)", mi, StringComparison.Ordinal);
        Assert.Contains("--search auto|brute|sorted", mi, StringComparison.Ordinal);
        Assert.Contains("(default: auto)", mi, StringComparison.Ordinal);
    }

    [Fact]
    public void CompletionOffersTheChoicesOfChoiceOptions()
    {
        string bash = ConsoleRunner.Run("completion", "bash").Out;
        Assert.Contains("--sampler:cd:pcd", bash, StringComparison.Ordinal);
        Assert.Contains("--binarize:threshold:stochastic:none", bash, StringComparison.Ordinal);
        string fish = ConsoleRunner.Run("completion", "fish").Out;
        Assert.Contains("-l sampler -x -a 'cd pcd'", fish, StringComparison.Ordinal);
        Assert.Contains("-l accelerator -x -a 'auto cuda opencl cpu ilgpu-cpu'", fish, StringComparison.Ordinal);
        // Value options without choices still leave their value to the shell (files).
        Assert.Contains("-l epochs -r -F", fish, StringComparison.Ordinal);
    }
}
