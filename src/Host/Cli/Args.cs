using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace InfoGpu.Host.Cli;

/// <summary>A mistake in the command line itself: exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>One option a command accepts.</summary>
/// <param name="Name">Long name without dashes.</param>
/// <param name="Value">Name of its value in help (null: a flag).</param>
/// <param name="Help">One line of help.</param>
/// <param name="Default">
/// The value used when the option is not given, shown by <c>--help</c> as "(default: ...)" unless
/// <paramref name="Help"/> already says it (null: none, or said in <paramref name="Help"/>).
/// </param>
internal sealed record OptionSpec(string Name, string? Value, string Help, string? Default = null);

/// <summary>What a command accepts and how it is described in <c>--help</c>.</summary>
internal sealed record CommandSpec(string Path, string Summary, string Usage, IReadOnlyList<OptionSpec> Options, IReadOnlyList<string> Examples)
{
    /// <summary>Options every command accepts.</summary>
    public static readonly OptionSpec[] Common =
    [
        new("json", null, "print one JSON document on stdout"),
        new("quiet", null, "print nothing but the result (and errors)"),
        new("help", null, "show this help"),
    ];

    /// <summary>The option every compute command adds.</summary>
    public static readonly OptionSpec Accelerator =
        new("accelerator", "KIND", "auto, cpu, ilgpu-cpu, cuda or opencl (default: $INFOGPU_ACCELERATOR, else auto)");
}

/// <summary>
/// Parsed options of one command: <c>--name value</c>, <c>--name=value</c> and flags, parsed by
/// System.CommandLine (<see cref="Parser"/>) under the console's rules. Not thread-safe to build;
/// read-only once built.
/// </summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> values = new(StringComparer.Ordinal);

    private Args(CommandSpec spec) => Spec = spec;

    public CommandSpec Spec { get; }

    public bool Json => Has("json");

    public bool Quiet => Has("quiet");

    /// <summary>Parses the options of <paramref name="spec"/> (argv without the command words).</summary>
    public static Args Parse(CommandSpec spec, IReadOnlyList<string> argv)
    {
        var (root, leaf) = Parser.LeafOf(spec);
        string[] all = [.. spec.Path.Split(' '), .. argv];
        return FromParse(spec, leaf, Parser.Parse(root, all), argv);
    }

    /// <summary>The options of a command that <see cref="Parser.Find"/> found, from its parse.</summary>
    internal static Args FromParse(CommandSpec spec, ParseResult result, IReadOnlyList<string> argv) =>
        FromParse(spec, Parser.LeafOf(spec).Leaf, result, argv);

    /// <summary>
    /// Applies the console's rules to a System.CommandLine parse, in the order of the tokens: an
    /// argument no option takes is an error (an unknown --name gets the nearest names), as is an
    /// option given twice, a value option without a value or with an empty one, and a flag given
    /// a value with =. <paramref name="argv"/> (the options as typed) tells --flag=value apart.
    /// </summary>
    private static Args FromParse(CommandSpec spec, Parser.Leaf leaf, ParseResult result, IReadOnlyList<string> argv)
    {
        var args = new Args(spec);
        var unmatched = result.UnmatchedTokens.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var tokens = result.Tokens.SkipWhile(t => t.Type == TokenType.Command).ToList();
        for (int i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Type == TokenType.DoubleDash)
                throw new UsageException(Unexpected(spec, token.Value));
            if (token.Type == TokenType.Option && leaf.Options.TryGetValue(token.Value[2..], out var matched))
            {
                string name = token.Value[2..];
                var (option, optionSpec) = matched;
                // System.CommandLine also splits --name:value; the console takes --name=value only.
                if (!argv.Any(a => a == token.Value || a.StartsWith(token.Value + "=", StringComparison.Ordinal))
                    && argv.FirstOrDefault(a => a.StartsWith(token.Value + ":", StringComparison.Ordinal)) is string colon)
                    throw new UsageException(UnknownOption(spec, colon[2..], leaf.Options.Keys));
                if (args.values.ContainsKey(name))
                    throw new UsageException($"--{name} is given twice; give it once");
                if (optionSpec.Value is null)
                {
                    args.values[name] = null;
                    continue;
                }
                var taken = result.GetResult(option)?.Tokens ?? [];
                if (taken.Count == 0 && argv.Contains(token.Value + "=", StringComparer.Ordinal))
                    throw new UsageException($"--{name} needs a value ({optionSpec.Value}), not an empty string");
                if (taken.Count == 0)
                    throw new UsageException($"--{name} needs a value ({optionSpec.Value})");
                string v = taken[0].Value;
                if (string.IsNullOrWhiteSpace(v))
                    throw new UsageException($"--{name} needs a value ({optionSpec.Value}), not an empty string");
                args.values[name] = v;
                continue;
            }
            if (unmatched.TryGetValue(token.Value, out int left) && left > 0)
            {
                unmatched[token.Value] = left - 1;
                string a = token.Value;
                if (i > 0 && tokens[i - 1] is { Type: TokenType.Option } previous && leaf.Options.TryGetValue(previous.Value[2..], out var flag)
                    && flag.Spec.Value is null && argv.Contains($"{previous.Value}={a}", StringComparer.Ordinal))
                    throw new UsageException($"{previous.Value} is a flag and takes no value");
                if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
                {
                    string unknown = a[2..];
                    int eq = unknown.IndexOf('=', StringComparison.Ordinal);
                    if (eq >= 0)
                        unknown = unknown[..eq];
                    if (eq >= 0 && leaf.Options.TryGetValue(unknown, out var known))
                    {
                        throw new UsageException(known.Spec.Value is null
                            ? $"--{unknown} is a flag and takes no value"
                            : $"--{unknown} needs a value ({known.Spec.Value}), not an empty string");
                    }
                    throw new UsageException(UnknownOption(spec, unknown, leaf.Options.Keys));
                }
                throw new UsageException(Unexpected(spec, a));
            }
        }
        // Whatever else System.CommandLine found wrong (the rules above should leave nothing).
        if (result.Errors.Count > 0)
            throw new UsageException($"{result.Errors[0].Message} (see 'infogpu {spec.Path} --help')");
        return args;
    }

    private static string Unexpected(CommandSpec spec, string argument) =>
        $"unexpected argument '{argument}' for '{spec.Path}'; options start with -- (see 'infogpu {spec.Path} --help')";

    /// <summary>The error for an option the command does not have, with the nearest names it does have.</summary>
    private static string UnknownOption(CommandSpec spec, string name, IEnumerable<string> known)
    {
        var near = Suggest.Closest(name, known);
        string hint = near.Count == 0 ? "" : $"; did you mean {Suggest.OrList(near.Select(n => "--" + n).ToList())}?";
        string see = near.Count == 0 ? "; see" : " see";
        return $"unknown option --{name} for '{spec.Path}'{hint}{see} 'infogpu {spec.Path} --help'";
    }

    public bool Has(string name) => values.ContainsKey(name);

    public string? Get(string name) => values.TryGetValue(name, out var v) ? v : null;

    public string Require(string name) =>
        Get(name) ?? throw new UsageException($"'{Spec.Path}' needs --{name}; see 'infogpu {Spec.Path} --help'");

    public double GetDouble(string name, double fallback) => Get(name) is string s ? ParseDouble(name, s) : fallback;

    public int GetInt(string name, int fallback)
    {
        if (Get(name) is not string s)
            return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new UsageException($"--{name} '{s}' is not an integer");
        return v;
    }

    /// <summary>A comma-separated list of numbers; each item must be a finite number.</summary>
    public double[] GetList(string name) => ParseList(name, Require(name));

    /// <summary>A comma-separated list of integers.</summary>
    public int[] GetIntList(string name)
    {
        var parts = Require(name).Split(',');
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i].Trim();
            if (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out result[i]))
                throw new UsageException($"--{name}: item {i + 1} '{p}' is not an integer");
        }
        return result;
    }

    public static double[] ParseList(string name, string text)
    {
        var parts = text.Split(',');
        var result = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            result[i] = ParseItem(name, parts[i].Trim(), i + 1);
        return result;
    }

    private static double ParseItem(string name, string p, int position)
    {
        if (p.Length == 0)
            throw new UsageException($"--{name}: item {position} is empty; give numbers separated by commas, e.g. 0.2,0.8");
        if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            throw new UsageException($"--{name}: item {position} '{p}' is not a number");
        if (!double.IsFinite(v))
            throw new UsageException($"--{name}: item {position} is {p}; give finite numbers");
        return v;
    }

    private static double ParseDouble(string name, string s)
    {
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new UsageException($"--{name} '{s}' is not a finite number");
        return v;
    }
}
