using System.CommandLine;
using System.CommandLine.Parsing;

namespace InfoGpu.Host.Cli;

/// <summary>
/// The System.CommandLine tree of the console, built once from the <see cref="CommandSpec"/>s:
/// multi-word paths ("measure entropy") become nested commands, each <see cref="OptionSpec"/> one
/// option of its command (a flag: an option that takes no value; else an option with one value).
/// It tokenizes and matches argv; <see cref="Args"/> then applies the console's rules (an option
/// given once, no empty values, flags without values) on the result, with the console's messages.
/// A run parses with a tree of its command alone (<see cref="LeafOf"/>); help, completion and the
/// suggestions for unknown words use the whole tree. Thread-safe: the trees are read-only after they
/// are built, and parses are serialized.
/// </summary>
internal static class Parser
{
    private static readonly Lock Gate = new();
    private static readonly Lazy<Tree> Built = new(() => Build(CommandLine.Commands), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<CommandSpec, (RootCommand Root, Leaf Leaf)> Singles = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// No response files (an argument that starts with @ is an argument), no bundling of
    /// single-dash options (the console has none).
    /// </summary>
    private static readonly ParserConfiguration Configuration = new()
    {
        EnablePosixBundling = false,
        ResponseFileTokenReplacer = null,
    };

    /// <summary>The tree: the root, and for each command its leaf and the options by long name.</summary>
    internal sealed record Tree(RootCommand Root, IReadOnlyDictionary<Command, ICommand> Commands, IReadOnlyDictionary<CommandSpec, Leaf> Leaves);

    /// <summary>One command of the tree and its options by name (without dashes).</summary>
    internal sealed record Leaf(Command Command, IReadOnlyDictionary<string, (Option Option, OptionSpec Spec)> Options);

    /// <summary>The tree of <see cref="CommandLine.Commands"/>.</summary>
    internal static Tree Current => Built.Value;

    /// <summary>Parses argv (command words first) with the tree.</summary>
    public static ParseResult Parse(IReadOnlyList<string> argv)
    {
        lock (Gate)
            return Current.Root.Parse(argv, Configuration);
    }

    /// <summary>
    /// The command that argv names with its first words, and how many words name it; null when
    /// argv's leading words name no command. A command found by its words is parsed with a tree of
    /// that command alone (all a run needs: building the whole tree is most of a short command's
    /// parse); otherwise the whole tree parses argv, for the suggestions.
    /// </summary>
    public static (ICommand? Command, int Words, ParseResult Result) Find(IReadOnlyList<string> argv)
    {
        ICommand? named = null;
        int length = 0;
        foreach (var c in CommandLine.Commands)
        {
            var words = c.Spec.Path.Split(' ');
            // The words must lead argv, the longest path that does wins.
            if (words.Length > length && words.Length <= argv.Count && words.Select((w, i) => argv[i] == w).All(b => b))
                (named, length) = (c, words.Length);
        }
        if (named is not null)
            return (named, length, Parse(LeafOf(named.Spec).Root, argv));
        var result = Parse(argv);
        if (Current.Commands.TryGetValue(result.CommandResult.Command, out var command))
        {
            var words = command.Spec.Path.Split(' ');
            if (words.Length <= argv.Count && words.Select((w, i) => argv[i] == w).All(b => b))
                return (command, words.Length, result);
        }
        return (null, 0, result);
    }

    /// <summary>The tree of one command alone (made once per spec): its root and its leaf.</summary>
    public static (RootCommand Root, Leaf Leaf) LeafOf(CommandSpec spec) =>
        Singles.GetOrAdd(spec, s =>
        {
            var tree = Build([new Standalone(s)]);
            return (tree.Root, tree.Leaves[s]);
        });

    /// <summary>Parses argv with a tree of its own (a spec that is not one of the console's commands).</summary>
    public static ParseResult Parse(RootCommand root, IReadOnlyList<string> argv)
    {
        lock (Gate)
            return root.Parse(argv, Configuration);
    }

    private static Tree Build(IEnumerable<ICommand> commands)
    {
        var root = new RootCommand("infogpu: information theory, Boltzmann machines and VAEs on CUDA, OpenCL or the CPU");
        // Help, --version and the command list are the console's own (Help.cs), from the same specs.
        root.Options.Clear();
        root.Directives.Clear();
        var groups = new Dictionary<string, Command>(StringComparer.Ordinal) { [""] = root };
        var byCommand = new Dictionary<Command, ICommand>(ReferenceEqualityComparer.Instance);
        var leaves = new Dictionary<CommandSpec, Leaf>(ReferenceEqualityComparer.Instance);
        foreach (var c in commands)
        {
            var words = c.Spec.Path.Split(' ');
            Command parent = root;
            for (int i = 0; i < words.Length; i++)
            {
                string path = string.Join(' ', words[..(i + 1)]);
                if (!groups.TryGetValue(path, out var node))
                {
                    node = new Command(words[i], i == words.Length - 1 ? c.Spec.Summary : null);
                    parent.Subcommands.Add(node);
                    groups[path] = node;
                }
                parent = node;
            }
            var options = new Dictionary<string, (Option, OptionSpec)>(StringComparer.Ordinal);
            foreach (var o in c.Spec.Options.Concat(CommandSpec.Common))
            {
                if (options.ContainsKey(o.Name))
                    throw new InvalidOperationException($"'{c.Spec.Path}' declares --{o.Name} twice");
                Option option = o.Value is null
                    ? new Option<bool>("--" + o.Name) { Description = Help.Line(o), Arity = ArgumentArity.Zero }
                    : new Option<string>("--" + o.Name) { Description = Help.Line(o), HelpName = o.Value, Arity = ArgumentArity.ExactlyOne };
                parent.Options.Add(option);
                options[o.Name] = (option, o);
            }
            byCommand[parent] = c;
            leaves[c.Spec] = new Leaf(parent, options);
        }
        return new Tree(root, byCommand, leaves);
    }

    /// <summary>A spec parsed on its own (tests and sections that build <see cref="Args"/> directly).</summary>
    private sealed class Standalone(CommandSpec spec) : ICommand
    {
        public CommandSpec Spec { get; } = spec;

        public int Run(CommandContext context) => throw new InvalidOperationException("a standalone spec only parses");
    }
}
