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

/// <summary>Parsed options of one command: <c>--name value</c>, <c>--name=value</c> and flags.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string?> values = new(StringComparer.Ordinal);

    private Args(CommandSpec spec) => Spec = spec;

    public CommandSpec Spec { get; }

    public bool Json => Has("json");

    public bool Quiet => Has("quiet");

    public static Args Parse(CommandSpec spec, IReadOnlyList<string> argv)
    {
        var args = new Args(spec);
        var known = spec.Options.Concat(CommandSpec.Common).ToDictionary(o => o.Name);
        for (int i = 0; i < argv.Count; i++)
        {
            string a = argv[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2)
                throw new UsageException($"unexpected argument '{a}' for '{spec.Path}'; options start with -- (see 'infogpu {spec.Path} --help')");
            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            if (!known.TryGetValue(name, out var opt))
                throw new UsageException(UnknownOption(spec, name, known.Keys));
            if (args.values.ContainsKey(name))
                throw new UsageException($"--{name} is given twice; give it once");
            if (opt.Value is null)
            {
                if (inline is not null)
                    throw new UsageException($"--{name} is a flag and takes no value");
                args.values[name] = null;
            }
            else
            {
                string? v = inline;
                if (v is null)
                {
                    if (i + 1 >= argv.Count)
                        throw new UsageException($"--{name} needs a value ({opt.Value})");
                    v = argv[++i];
                }
                if (string.IsNullOrWhiteSpace(v))
                    throw new UsageException($"--{name} needs a value ({opt.Value}), not an empty string");
                args.values[name] = v;
            }
        }
        return args;
    }

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
