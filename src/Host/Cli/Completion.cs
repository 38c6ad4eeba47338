using System.Text;

namespace InfoGpu.Host.Cli;

/// <summary>
/// <c>infogpu completion bash|zsh|fish</c>: a shell completion script for the command words and
/// each command's options, read from the parser's System.CommandLine tree (<see cref="Parser"/>,
/// built from the same <see cref="CommandSpec"/>s as the help), so it lists what this build
/// accepts. Stateless and thread-safe.
/// </summary>
internal static class Completion
{
    /// <summary>The command word.</summary>
    public const string Path = "completion";

    /// <summary>Its line in the command list.</summary>
    public const string Summary = "print a shell completion script: infogpu completion bash|zsh|fish";

    /// <summary>The shells a script is written for.</summary>
    public static IReadOnlyList<string> Shells { get; } = ["bash", "zsh", "fish"];

    private const string HelpText =
        "infogpu completion: " + "print a shell completion script for the command words and each command's options" + "\n\n" +
        "usage: infogpu completion bash|zsh|fish\n\n" +
        "examples:\n" +
        "  source <(infogpu completion bash)                       # this bash session; or put it in ~/.bashrc\n" +
        "  infogpu completion zsh > \"${fpath[1]}/_infogpu\"          # zsh (uses bashcompinit)\n" +
        "  infogpu completion fish > ~/.config/fish/completions/infogpu.fish\n";

    /// <summary>Runs <c>infogpu completion ARGS</c>: prints the script or the help; usage errors throw.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout)
    {
        if (args.Any(a => a is "--help" or "-h"))
        {
            stdout.Write(HelpText);
            return 0;
        }
        if (args.Count == 0)
            throw new UsageException("'completion' needs a shell: bash, zsh or fish (e.g. source <(infogpu completion bash))");
        if (args.Count > 1)
            throw new UsageException($"unexpected argument '{args[1]}' for 'completion'; give one shell: bash, zsh or fish");
        string shell = args[0];
        stdout.Write(shell switch
        {
            "bash" => Bash(),
            "zsh" => Zsh(),
            "fish" => Fish(),
            _ => throw new UsageException(UnknownShell(shell)),
        });
        return 0;
    }

    private static string UnknownShell(string shell)
    {
        var near = Suggest.Closest(shell, Shells);
        string hint = near.Count == 0 ? "" : $"did you mean '{near[0]}'? ";
        return $"unknown shell '{shell}' for 'completion'; {hint}give bash, zsh or fish";
    }

    /// <summary>
    /// The completion tree, read from the parser's System.CommandLine tree: for each command path
    /// ("" for the top, "measure", "measure entropy", ...) the words that may follow it
    /// (sub-command words, then the options of a command at that path) and the options among
    /// them that take a value.
    /// </summary>
    internal static SortedDictionary<string, (List<string> Words, List<string> ValueOptions)> Tree()
    {
        var tree = new SortedDictionary<string, (List<string> Words, List<string> ValueOptions)>(StringComparer.Ordinal);
        void Walk(System.CommandLine.Command command, string path)
        {
            var node = (Words: new List<string>(), ValueOptions: new List<string>());
            tree[path] = node;
            foreach (var sub in command.Subcommands)
            {
                node.Words.Add(Checked(sub.Name));
                Walk(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}");
            }
            foreach (var option in command.Options)
            {
                node.Words.Add("--" + Checked(option.Name[2..]));
                if (option.Arity.MaximumNumberOfValues > 0)
                    node.ValueOptions.Add(option.Name);
            }
        }
        Walk(Parser.Current.Root, "");
        var top = tree[""];
        top.Words.AddRange([Path, "--help", "--version"]);
        tree[Path] = ([.. Shells], []);
        return tree;
    }

    /// <summary>The bash script: a function over COMP_WORDS with the tree embedded as a case table.</summary>
    public static string Bash()
    {
        var sb = new StringBuilder();
        sb.Append("# infogpu completion for bash, written by 'infogpu completion bash' for this build.\n");
        sb.Append("# Load it with: source <(infogpu completion bash)\n");
        sb.Append(BashFunction());
        sb.Append("complete -o bashdefault -o default -F _infogpu_complete infogpu\n");
        return sb.ToString();
    }

    /// <summary>The zsh script: the bash function through zsh's bashcompinit.</summary>
    public static string Zsh()
    {
        var sb = new StringBuilder();
        sb.Append("#compdef infogpu\n");
        sb.Append("# infogpu completion for zsh, written by 'infogpu completion zsh' for this build.\n");
        sb.Append("autoload -U +X bashcompinit && bashcompinit\n");
        sb.Append(BashFunction());
        sb.Append("complete -o bashdefault -o default -F _infogpu_complete infogpu\n");
        return sb.ToString();
    }

    /// <summary>The fish script: one <c>complete</c> line per word, conditioned on the command path typed so far.</summary>
    public static string Fish()
    {
        var sb = new StringBuilder();
        sb.Append("# infogpu completion for fish, written by 'infogpu completion fish' for this build.\n");
        sb.Append("function __infogpu_at --description 'true when the command words typed so far are argv[1]'\n");
        sb.Append("    set -l words (commandline -opc)\n");
        sb.Append("    set -e words[1]\n");
        sb.Append("    set -l path\n");
        sb.Append("    for w in $words\n");
        sb.Append("        string match -q -- '-*' $w; and break\n");
        sb.Append("        set -a path $w\n");
        sb.Append("    end\n");
        sb.Append("    test \"$path\" = \"$argv[1]\"\n");
        sb.Append("end\n");
        sb.Append("complete -c infogpu -f\n");
        foreach (var (path, command) in Nodes(Parser.Current.Root, ""))
        {
            var subs = command.Subcommands.Select(c => c.Name).ToList();
            if (path.Length == 0)
                subs.Add(Path);
            if (subs.Count > 0)
                sb.Append($"complete -c infogpu -n '__infogpu_at \"{path}\"' -a '{string.Join(' ', subs.Select(Checked))}'\n");
            foreach (var o in command.Options)
            {
                string value = Choices(command, o) is { Count: > 0 } choices ? $" -x -a '{string.Join(' ', choices.Select(Checked))}'"
                    : o.Arity.MaximumNumberOfValues > 0 ? " -r -F" : "";
                sb.Append($"complete -c infogpu -n '__infogpu_at \"{path}\"' -l {Checked(o.Name[2..])}{value} -d '{FishQuote(o.Description ?? "")}'\n");
            }
        }
        sb.Append($"complete -c infogpu -n '__infogpu_at \"{Path}\"' -a '{string.Join(' ', Shells)}'\n");
        return sb.ToString();
    }

    /// <summary>The declared choices of an option of a command of the tree (empty for other options).</summary>
    private static IReadOnlyList<string> Choices(System.CommandLine.Command command, System.CommandLine.Option option)
    {
        var tree = Parser.Current;
        if (tree.Commands.TryGetValue(command, out var c) && tree.Leaves.TryGetValue(c.Spec, out var leaf)
            && leaf.Options.TryGetValue(option.Name[2..], out var o) && o.Spec.Type == OptionType.Choice)
            return o.Spec.Choices;
        return [];
    }

    private static IEnumerable<(string Path, System.CommandLine.Command Command)> Nodes(System.CommandLine.Command command, string path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
        {
            foreach (var node in Nodes(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}"))
                yield return node;
        }
    }

    private static string BashFunction()
    {
        var sb = new StringBuilder();
        sb.Append("_infogpu_complete() {\n");
        sb.Append("    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" path=\"\" words=\"\" values=\"\" choices=\"\" w i\n");
        sb.Append("    (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n");
        sb.Append("    for (( i = 1; i < COMP_CWORD; i++ )); do\n");
        sb.Append("        w=\"${COMP_WORDS[i]}\"\n");
        sb.Append("        [[ \"$w\" == -* ]] && break\n");
        sb.Append("        path=\"${path:+$path }$w\"\n");
        sb.Append("    done\n");
        sb.Append("    case \"$path\" in\n");
        var commands = Nodes(Parser.Current.Root, "").ToDictionary(n => n.Path, n => n.Command, StringComparer.Ordinal);
        foreach (var (path, node) in Tree())
        {
            // A choice option's values: --name:value1:value2 (completed after --name).
            var choices = commands.TryGetValue(path, out var command)
                ? command.Options.Select(o => (o.Name, Choices: Choices(command, o))).Where(c => c.Choices.Count > 0).Select(c => string.Join(':', [c.Name, .. c.Choices.Select(Checked)]))
                : [];
            sb.Append($"        '{path}') words='{string.Join(' ', node.Words)}'; values='{string.Join(' ', node.ValueOptions)}'; choices='{string.Join(' ', choices)}' ;;\n");
        }
        sb.Append("    esac\n");
        sb.Append("    # The value of a choice option: its choices.\n");
        sb.Append("    for w in $choices; do\n");
        sb.Append("        if [[ -n \"$prev\" && \"${w%%:*}\" == \"$prev\" ]]; then\n");
        sb.Append("            w=\"${w#*:}\"\n");
        sb.Append("            COMPREPLY=( $(compgen -W \"${w//:/ }\" -- \"$cur\") )\n");
        sb.Append("            return 0\n");
        sb.Append("        fi\n");
        sb.Append("    done\n");
        sb.Append("    # The value of an option (a file, a number): leave it to the shell's default completion.\n");
        sb.Append("    if [[ -n \"$prev\" && \" $values \" == *\" $prev \"* ]]; then\n");
        sb.Append("        COMPREPLY=()\n");
        sb.Append("        return 0\n");
        sb.Append("    fi\n");
        sb.Append("    COMPREPLY=( $(compgen -W \"$words\" -- \"$cur\") )\n");
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>Command words and option names go into the scripts unquoted: they must be plain.</summary>
    private static string Checked(string word) =>
        word.Length > 0 && word.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
            ? word
            : throw new InvalidOperationException($"the command word or option '{word}' has characters a completion script cannot carry; use a-z, 0-9 and -");

    private static string FishQuote(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);
}
