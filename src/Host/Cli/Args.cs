using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using InfoGpu.Devices;

namespace InfoGpu.Host.Cli;

/// <summary>A mistake in the command line itself: exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>What an option's value is; the parser refuses a value of another type (a usage error, exit 2).</summary>
internal enum OptionType
{
    /// <summary>No value: present or not.</summary>
    Flag,

    /// <summary>A 32-bit integer.</summary>
    Int,

    /// <summary>A 64-bit integer.</summary>
    Long,

    /// <summary>A non-negative 64-bit integer (seeds).</summary>
    Unsigned,

    /// <summary>A finite number.</summary>
    Double,

    /// <summary>Text the command interprets itself (a column name, a grid, a range).</summary>
    Text,

    /// <summary>A file or folder path.</summary>
    Path,

    /// <summary>One of <see cref="OptionSpec.Choices"/> (matched without regard to case).</summary>
    Choice,

    /// <summary>Finite numbers separated by commas.</summary>
    Numbers,

    /// <summary>Integers separated by commas.</summary>
    Integers,
}

/// <summary>
/// One option a command accepts: its name, its type, its default and its help, declared once. The
/// parser checks a given value against <see cref="Type"/>; <c>--help</c> and the completion scripts
/// show the type, the choices and <see cref="TypedDefault"/>; <see cref="Args"/> reads it as that type.
/// Build them with the factories (<see cref="Flag"/>, <see cref="Int"/>, <see cref="Double"/>, ...).
/// </summary>
/// <param name="Name">Long name without dashes.</param>
/// <param name="Value">Name of its value in help (null: a flag).</param>
/// <param name="Help">One line of help.</param>
/// <param name="Default">
/// The value used when the option is not given, in words, shown by <c>--help</c> as "(default: ...)"
/// unless <paramref name="Help"/> already says it (null: none, or said in <paramref name="Help"/>);
/// <see cref="TypedDefault"/>, when set, is shown instead.
/// </param>
internal sealed record OptionSpec(string Name, string? Value, string Help, string? Default = null)
{
    /// <summary>What the value is (a flag when <see cref="Value"/> is null, else text, unless declared).</summary>
    public OptionType Type { get; init; } = Value is null ? OptionType.Flag : OptionType.Text;

    /// <summary>The allowed values of a <see cref="OptionType.Choice"/> option, as the command spells them.</summary>
    public IReadOnlyList<string> Choices { get; init; } = [];

    /// <summary>
    /// The value the command uses when the option is not given, of the option's type (int, long,
    /// ulong, double or string); null when there is none or it depends on other things (said in <see cref="Help"/>).
    /// </summary>
    public object? TypedDefault { get; init; }

    /// <summary>The default as help shows it: <see cref="TypedDefault"/> in invariant form, else <see cref="Default"/>.</summary>
    public string? DefaultText => TypedDefault is null ? Default : Format(TypedDefault);

    /// <summary>A flag.</summary>
    public static OptionSpec Flag(string name, string help) => new(name, null, help) { Type = OptionType.Flag };

    /// <summary>A 32-bit integer, with its default when it has one.</summary>
    public static OptionSpec Int(string name, string value, string help, int? @default = null) =>
        new(name, value, help) { Type = OptionType.Int, TypedDefault = @default };

    /// <summary>A 64-bit integer, with its default when it has one.</summary>
    public static OptionSpec Long(string name, string value, string help, long? @default = null) =>
        new(name, value, help) { Type = OptionType.Long, TypedDefault = @default };

    /// <summary>A non-negative 64-bit integer, with its default when it has one.</summary>
    public static OptionSpec Unsigned(string name, string value, string help, ulong? @default = null) =>
        new(name, value, help) { Type = OptionType.Unsigned, TypedDefault = @default };

    /// <summary>A finite number, with its default when it has one.</summary>
    public static OptionSpec Double(string name, string value, string help, double? @default = null) =>
        new(name, value, help) { Type = OptionType.Double, TypedDefault = @default };

    /// <summary>Text the command interprets, with its default when it has one.</summary>
    public static OptionSpec Text(string name, string value, string help, string? @default = null) =>
        new(name, value, help) { Type = OptionType.Text, TypedDefault = @default };

    /// <summary>A file or folder, with its default when it has one.</summary>
    public static OptionSpec File(string name, string value, string help, string? @default = null) =>
        new(name, value, help) { Type = OptionType.Path, TypedDefault = @default };

    /// <summary>One of <paramref name="choices"/> (shown as a|b|c), with its default when it has one.</summary>
    public static OptionSpec Choice(string name, string help, IReadOnlyList<string> choices, string? @default = null) =>
        new(name, string.Join('|', choices), help) { Type = OptionType.Choice, Choices = choices, TypedDefault = @default };

    /// <summary>Finite numbers separated by commas.</summary>
    public static OptionSpec Numbers(string name, string value, string help) => new(name, value, help) { Type = OptionType.Numbers };

    /// <summary>Integers separated by commas.</summary>
    public static OptionSpec Integers(string name, string value, string help) => new(name, value, help) { Type = OptionType.Integers };

    /// <summary>The type in words, for help ("integer", "one of cd, pcd"); null for flags and text.</summary>
    public string? TypeText => Type switch
    {
        OptionType.Int or OptionType.Long => "integer",
        OptionType.Unsigned => "integer >= 0",
        OptionType.Double => "number",
        OptionType.Path => "path",
        OptionType.Numbers => "numbers, comma-separated",
        OptionType.Integers => "integers, comma-separated",
        _ => null,
    };

    /// <summary>A typed value as the console writes it (invariant culture, shortest round-trip form).</summary>
    public static string Format(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>What a command accepts and how it is described in <c>--help</c>.</summary>
internal sealed record CommandSpec(string Path, string Summary, string Usage, IReadOnlyList<OptionSpec> Options, IReadOnlyList<string> Examples)
{
    /// <summary>Options every command accepts.</summary>
    public static readonly OptionSpec[] Common =
    [
        OptionSpec.Flag("json", "print one JSON document on stdout"),
        OptionSpec.Flag("quiet", "print nothing but the result (and errors)"),
        OptionSpec.Flag("help", "show this help"),
    ];

    /// <summary>The option every compute command adds.</summary>
    public static readonly OptionSpec Accelerator =
        OptionSpec.Choice("accelerator", "where to compute (default: $INFOGPU_ACCELERATOR, else auto)", DeviceKinds.Names);
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
                args.values[name] = CheckType(optionSpec, v);
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

    /// <summary>
    /// A value of the option's declared type, or the usage error that says what the option wants;
    /// a choice comes back spelled as declared.
    /// </summary>
    internal static string CheckType(OptionSpec option, string v)
    {
        string name = option.Name;
        switch (option.Type)
        {
            case OptionType.Int:
                if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                    throw new UsageException($"--{name} '{v}' is not an integer (--{name} {option.Value})");
                break;
            case OptionType.Long:
                if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                    throw new UsageException($"--{name} '{v}' is not an integer (--{name} {option.Value})");
                break;
            case OptionType.Unsigned:
                if (!ulong.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                    throw new UsageException($"--{name} '{v}' is not a non-negative integer (--{name} {option.Value})");
                break;
            case OptionType.Double:
                ParseDouble(name, v);
                break;
            case OptionType.Numbers:
                ParseList(name, v);
                break;
            case OptionType.Integers:
                ParseIntList(name, v);
                break;
            case OptionType.Choice:
                foreach (string c in option.Choices)
                {
                    if (string.Equals(c, v.Trim(), StringComparison.OrdinalIgnoreCase))
                        return c;
                }
                var near = Suggest.Closest(v, option.Choices);
                string hint = near.Count == 0 ? "" : $"; did you mean {Suggest.OrList(near.Select(n => $"'{n}'").ToList())}?";
                throw new UsageException($"--{name} '{v}' is not one of {string.Join(", ", option.Choices)}{hint}");
        }
        return v;
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

    /// <summary>
    /// Tests: every read must name an option the command declares, as the type it declares, and a
    /// read with a fallback must fall back to the declared default (a mismatch throws
    /// <see cref="InvalidOperationException"/>: the declaration and the command have drifted apart).
    /// Off in the console, where the reads behave as declared-or-lenient.
    /// </summary>
    internal static bool StrictReads { get; set; }

    /// <summary>Whether the command declares the option (so that code which loops over names can ask before reading).</summary>
    public bool Declares(string name) => Find(name) is not null;

    /// <summary>Whether the option was given (flags and value options alike).</summary>
    public bool Has(string name)
    {
        Declared(name);
        return values.ContainsKey(name);
    }

    /// <summary>The value of a text, path or choice option as given (a choice spelled as declared), or null.</summary>
    public string? Get(string name)
    {
        Check(name, OptionType.Text, OptionType.Path, OptionType.Choice);
        return values.TryGetValue(name, out var v) ? v : null;
    }

    /// <summary>The value of any value option as typed, for messages; null when not given.</summary>
    public string? Raw(string name)
    {
        Declared(name);
        return values.TryGetValue(name, out var v) ? v : null;
    }

    /// <summary>The value of a text, path or choice option; a usage error naming it when it is not given.</summary>
    public string Require(string name) =>
        Get(name) ?? throw new UsageException($"'{Spec.Path}' needs --{name}; see 'infogpu {Spec.Path} --help'");

    /// <summary>A text, path or choice option, or its declared default.</summary>
    public string? GetOrDefault(string name) => Get(name) ?? Find(name)?.TypedDefault as string;

    /// <summary>A number option, or <paramref name="fallback"/> when it is not given (the declared default, when one is declared).</summary>
    public double GetDouble(string name, double fallback)
    {
        Check(name, fallback, OptionType.Double);
        return values.GetValueOrDefault(name) is string s ? ParseDouble(name, s) : fallback;
    }

    /// <summary>A number option, or its declared default.</summary>
    public double GetDouble(string name) => GetDouble(name, DeclaredDefault<double>(name));

    /// <summary>An integer option, or <paramref name="fallback"/> when it is not given (the declared default, when one is declared).</summary>
    public int GetInt(string name, int fallback) => GetInteger(name, fallback, OptionType.Int, "an integer");

    /// <summary>An integer option, or its declared default.</summary>
    public int GetInt(string name) => GetInt(name, DeclaredDefault<int>(name));

    /// <summary>A 64-bit integer option, or <paramref name="fallback"/> when it is not given (the declared default, when one is declared).</summary>
    public long GetLong(string name, long fallback) => GetInteger(name, fallback, OptionType.Long, "an integer");

    /// <summary>A non-negative 64-bit integer option, or <paramref name="fallback"/> when it is not given (the declared default, when one is declared).</summary>
    public ulong GetUnsigned(string name, ulong fallback) => GetInteger(name, fallback, OptionType.Unsigned, "a non-negative integer");

    /// <summary>An integer option of type <typeparamref name="T"/>, or <paramref name="fallback"/> when it is not given; a usage error saying it is not <paramref name="what"/>.</summary>
    private T GetInteger<T>(string name, T fallback, OptionType type, string what)
        where T : System.Numerics.IBinaryInteger<T>
    {
        Check(name, fallback, type);
        if (values.GetValueOrDefault(name) is not string s)
            return fallback;
        if (!T.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out T? v))
            throw new UsageException($"--{name} '{s}' is not {what}");
        return v;
    }

    /// <summary>A non-negative 64-bit integer option, or its declared default.</summary>
    public ulong GetUnsigned(string name) => GetUnsigned(name, DeclaredDefault<ulong>(name));

    /// <summary>A comma-separated list of numbers; each item must be a finite number.</summary>
    public double[] GetList(string name)
    {
        Check(name, OptionType.Numbers);
        return ParseList(name, Require(name, values));
    }

    /// <summary>A comma-separated list of integers.</summary>
    public int[] GetIntList(string name)
    {
        Check(name, OptionType.Integers, OptionType.Text);
        return ParseIntList(name, Require(name, values));
    }

    private string Require(string name, Dictionary<string, string?> given) =>
        given.GetValueOrDefault(name) ?? throw new UsageException($"'{Spec.Path}' needs --{name}; see 'infogpu {Spec.Path} --help'");

    private OptionSpec? Find(string name)
    {
        foreach (var o in Spec.Options)
        {
            if (o.Name == name)
                return o;
        }
        foreach (var o in CommandSpec.Common)
        {
            if (o.Name == name)
                return o;
        }
        return null;
    }

    private OptionSpec? Declared(string name)
    {
        var o = Find(name);
        if (o is null && StrictReads)
            throw new InvalidOperationException($"'{Spec.Path}' reads --{name}, which it does not declare");
        return o;
    }

    private void Check(string name, params OptionType[] types)
    {
        if (Declared(name) is OptionSpec o && StrictReads && !types.Contains(o.Type))
            throw new InvalidOperationException($"'{Spec.Path}' reads --{name} as {string.Join(" or ", types)}, but declares it {o.Type}");
    }

    private void Check<T>(string name, T fallback, OptionType type)
    {
        Check(name, type);
        if (StrictReads && Find(name)?.TypedDefault is object d && !Equals(d, fallback))
            throw new InvalidOperationException($"'{Spec.Path}' falls back to {OptionSpec.Format(fallback!)} for --{name}, but declares the default {OptionSpec.Format(d)}");
    }

    private T DeclaredDefault<T>(string name)
    {
        if (Declared(name)?.TypedDefault is T d)
            return d;
        throw new InvalidOperationException($"'{Spec.Path}' reads --{name} by its default, but declares no default of type {typeof(T).Name}");
    }

    /// <summary>Integers separated by commas; a usage error names the first item that is not one.</summary>
    public static int[] ParseIntList(string name, string text)
    {
        var parts = text.Split(',');
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i].Trim();
            if (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out result[i]))
                throw new UsageException($"--{name}: item {i + 1} '{p}' is not an integer");
        }
        return result;
    }

    /// <summary>Finite numbers separated by commas; a usage error names the first item that is not one.</summary>
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
