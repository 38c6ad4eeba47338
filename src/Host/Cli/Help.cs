using System.Text;

namespace InfoGpu.Host.Cli;

/// <summary>Help text for the command list and for each command.</summary>
internal static class Help
{
    /// <summary>The command list; <paramref name="top"/> adds the console's own commands (completion).</summary>
    public static string Overview(IEnumerable<ICommand> commands, bool top = false)
    {
        var sb = new StringBuilder();
        sb.AppendLine("infogpu: information theory, Boltzmann machines and VAEs on CUDA, OpenCL or the CPU");
        sb.AppendLine();
        sb.AppendLine("usage: infogpu <command> [options]   (infogpu <command> --help for its options; infogpu --version)");
        sb.AppendLine();
        sb.AppendLine("commands:");
        var list = commands.Select(c => (c.Spec.Path, c.Spec.Summary)).ToList();
        if (top)
            list.Add((Completion.Path, Completion.Summary));
        int width = list.Max(c => c.Path.Length);
        foreach (var (path, summary) in list)
            sb.AppendLine($"  {path.PadRight(width)}  {summary}");
        return sb.ToString();
    }

    public static string For(CommandSpec spec)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"infogpu {spec.Path}: {spec.Summary}");
        sb.AppendLine();
        sb.AppendLine($"usage: infogpu {spec.Path} {spec.Usage}");
        sb.AppendLine();
        sb.AppendLine("options:");
        var all = spec.Options.Concat(CommandSpec.Common).ToList();
        var heads = all.Select(o => o.Value is null ? $"--{o.Name}" : $"--{o.Name} {o.Value}").ToList();
        int width = heads.Max(h => h.Length);
        for (int i = 0; i < all.Count; i++)
            sb.AppendLine($"  {heads[i].PadRight(width)}  {Line(all[i])}");
        if (spec.Examples.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("examples:");
            foreach (var e in spec.Examples)
                sb.AppendLine($"  {e}");
        }
        return sb.ToString();
    }

    /// <summary>
    /// An option's help line: its help, then in parentheses its type (for numbers, lists and
    /// paths) and its default unless the help already states one.
    /// </summary>
    internal static string Line(OptionSpec option)
    {
        var notes = new List<string>();
        if (option.TypeText is string type)
            notes.Add(type);
        if (option.DefaultText is string d && !option.Help.Contains("default", StringComparison.OrdinalIgnoreCase))
            notes.Add($"default: {d}");
        return notes.Count == 0 ? option.Help : $"{option.Help} ({string.Join("; ", notes)})";
    }
}
