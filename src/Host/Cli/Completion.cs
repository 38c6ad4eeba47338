using System.Text;

namespace InfoGpu.Host.Cli;

/// <summary>
/// <c>infogpu completion bash|zsh|fish</c>: a shell completion script for the command words and
/// each command's options, generated from the same <see cref="CommandSpec"/>s as the parser and
/// the help, so it lists what this build accepts. Stateless and thread-safe.
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
            "bash" => Bash(CommandLine.Commands),
            "zsh" => Zsh(CommandLine.Commands),
            "fish" => Fish(CommandLine.Commands),
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
    /// The completion tree: for each command path ("" for the top, "measure", "measure entropy",
    /// ...) the words that may follow it (sub-command words, then the options of a command at
    /// that path) and the options among them that take a value.
    /// </summary>
    internal static SortedDictionary<string, (List<string> Words, List<string> ValueOptions)> Tree(IEnumerable<ICommand> commands)
    {
        var tree = new SortedDictionary<string, (List<string> Words, List<string> ValueOptions)>(StringComparer.Ordinal);
        (List<string> Words, List<string> ValueOptions) Node(string path)
        {
            if (!tree.TryGetValue(path, out var node))
                tree[path] = node = ([], []);
            return node;
        }
        void AddWord(string path, string word)
        {
            var node = Node(path);
            if (!node.Words.Contains(word))
                node.Words.Add(word);
        }
        foreach (var c in commands)
        {
            var words = c.Spec.Path.Split(' ');
            for (int i = 0; i < words.Length; i++)
                AddWord(string.Join(' ', words[..i]), Checked(words[i]));
        }
        AddWord("", Path);
        foreach (string shell in Shells)
            AddWord(Path, shell);
        AddWord("", "--help");
        AddWord("", "--version");
        foreach (var c in commands)
        {
            var node = Node(c.Spec.Path);
            foreach (var o in c.Spec.Options.Concat(CommandSpec.Common))
            {
                string flag = "--" + Checked(o.Name);
                if (!node.Words.Contains(flag))
                    node.Words.Add(flag);
                if (o.Value is not null && !node.ValueOptions.Contains(flag))
                    node.ValueOptions.Add(flag);
            }
        }
        return tree;
    }

    /// <summary>The bash script: a function over COMP_WORDS with the tree embedded as a case table.</summary>
    public static string Bash(IEnumerable<ICommand> commands)
    {
        var sb = new StringBuilder();
        sb.Append("# infogpu completion for bash, written by 'infogpu completion bash' for this build.\n");
        sb.Append("# Load it with: source <(infogpu completion bash)\n");
        sb.Append(BashFunction(commands));
        sb.Append("complete -o bashdefault -o default -F _infogpu_complete infogpu\n");
        return sb.ToString();
    }

    /// <summary>The zsh script: the bash function through zsh's bashcompinit.</summary>
    public static string Zsh(IEnumerable<ICommand> commands)
    {
        var sb = new StringBuilder();
        sb.Append("#compdef infogpu\n");
        sb.Append("# infogpu completion for zsh, written by 'infogpu completion zsh' for this build.\n");
        sb.Append("autoload -U +X bashcompinit && bashcompinit\n");
        sb.Append(BashFunction(commands));
        sb.Append("complete -o bashdefault -o default -F _infogpu_complete infogpu\n");
        return sb.ToString();
    }

    /// <summary>The fish script: one <c>complete</c> line per word, conditioned on the command path typed so far.</summary>
    public static string Fish(IEnumerable<ICommand> commands)
    {
        var specs = commands.Select(c => c.Spec).ToList();
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
        foreach (var (path, node) in Tree(commands))
        {
            var subs = node.Words.Where(w => !w.StartsWith('-')).ToList();
            if (subs.Count > 0)
                sb.Append($"complete -c infogpu -n '__infogpu_at \"{path}\"' -a '{string.Join(' ', subs)}'\n");
            var spec = specs.FirstOrDefault(s => s.Path == path);
            IEnumerable<OptionSpec> options = spec is null ? [] : spec.Options.Concat(CommandSpec.Common);
            foreach (var o in options)
            {
                string value = o.Value is null ? "" : " -r -F";
                sb.Append($"complete -c infogpu -n '__infogpu_at \"{path}\"' -l {o.Name}{value} -d '{FishQuote(Help.Line(o))}'\n");
            }
        }
        return sb.ToString();
    }

    private static string BashFunction(IEnumerable<ICommand> commands)
    {
        var sb = new StringBuilder();
        sb.Append("_infogpu_complete() {\n");
        sb.Append("    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" path=\"\" words=\"\" values=\"\" w i\n");
        sb.Append("    (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n");
        sb.Append("    for (( i = 1; i < COMP_CWORD; i++ )); do\n");
        sb.Append("        w=\"${COMP_WORDS[i]}\"\n");
        sb.Append("        [[ \"$w\" == -* ]] && break\n");
        sb.Append("        path=\"${path:+$path }$w\"\n");
        sb.Append("    done\n");
        sb.Append("    case \"$path\" in\n");
        foreach (var (path, node) in Tree(commands))
            sb.Append($"        '{path}') words='{string.Join(' ', node.Words)}'; values='{string.Join(' ', node.ValueOptions)}' ;;\n");
        sb.Append("    esac\n");
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
