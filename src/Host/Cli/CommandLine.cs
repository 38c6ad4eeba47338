using InfoGpu.Host.Commands;

namespace InfoGpu.Host.Cli;

/// <summary>Dispatches argv to a command and turns failures into one-line errors and exit codes.</summary>
internal static class CommandLine
{
    public static IReadOnlyList<ICommand> Commands { get; } =
    [
        new DevicesCommand(),
        new BenchCommand(),
        new CheckDeviceCommand(),
        new ReportCommand(),
        .. MeasureCommands.All,
        .. BmCommands.All,
        .. VaeCommands.All,
        .. MiCommands.All,
        .. RbmCommands.All,
        new RbmCompareCommand(),
        new RbmExportCommand(),
        new IbCommand(),
        new MpiBenchCommand(),
    ];

    public static int Run(string[] argv, TextWriter stdout, TextWriter stderr) => Run(argv, stdout, stderr, InfoGpu.Distributed.Cluster.Single);

    /// <summary>
    /// Runs argv as one rank of <paramref name="cluster"/>: a command that is not an
    /// <see cref="IDistributedCommand"/> runs on rank 0 alone (the other ranks return 0 at once).
    /// </summary>
    public static int Run(string[] argv, TextWriter stdout, TextWriter stderr, InfoGpu.Distributed.Cluster cluster) =>
        Run(argv, stdout, stderr, cluster, forceTerminal: false);

    /// <summary>
    /// Runs argv; <paramref name="forceTerminal"/> (tests) draws the live progress on
    /// <paramref name="stderr"/> as if it were a terminal.
    /// </summary>
    internal static int Run(string[] argv, TextWriter stdout, TextWriter stderr, InfoGpu.Distributed.Cluster cluster, bool forceTerminal)
    {
        try
        {
            if (argv.Length == 0 || argv[0] is "--help" or "-h" or "help")
            {
                stdout.Write(Help.Overview(Commands, top: true));
                return argv.Length == 0 ? 2 : 0;
            }
            if (argv is ["--version"] or ["version"])
            {
                stdout.WriteLine(Output.BuildInfo.Line);
                return 0;
            }
            if (argv[0] == Completion.Path)
                return Completion.Run(argv[1..], stdout);
            var (command, words, parsed) = Parser.Find(argv);
            string[] rest = argv[words..];
            if (command is null)
            {
                var under = Commands.Where(c => c.Spec.Path.StartsWith(argv[0] + " ", StringComparison.Ordinal)).ToList();
                if (under.Count > 0 && (argv.Length == 1 || argv[1] is "--help" or "-h"))
                {
                    stdout.Write(Help.Overview(under));
                    return argv.Length == 1 ? 2 : 0;
                }
                throw new UsageException(UnknownCommand(argv));
            }
            if (rest.Contains("--help") || rest.Contains("-h"))
            {
                stdout.Write(Help.For(command.Spec));
                return 0;
            }
            if (!cluster.IsRoot && command is not IDistributedCommand)
                return 0;
            var args = Args.FromParse(command.Spec, parsed, rest);
            return command.Run(new CommandContext(args, stdout, stderr) { Cluster = cluster, ForceTerminal = forceTerminal });
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return 2;
        }
        catch (InfoGpuException e)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return 1;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return 1;
        }
        catch (UnauthorizedAccessException e)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            return 1;
        }
        catch (OutOfMemoryException)
        {
            stderr.WriteLine("error: out of memory; use a smaller input or batch");
            return 1;
        }
    }

    /// <summary>
    /// The error for command words that name no command: under a known group, the nearest command
    /// of the group (else the group's list); otherwise the nearest command, completed with the
    /// nearest command of its group when a second word follows.
    /// </summary>
    private static string UnknownCommand(string[] argv)
    {
        var paths = Commands.Select(c => c.Spec.Path).Append(Completion.Path).ToList();
        string first = argv[0];
        string? second = argv.Length > 1 && !argv[1].StartsWith('-') ? argv[1] : null;
        var under = paths.Where(p => p.StartsWith(first + " ", StringComparison.Ordinal)).ToList();
        if (under.Count > 0)
        {
            string group = second is null ? first : $"{first} {second}";
            IReadOnlyList<string> near = second is null ? [] : Suggest.Closest(second, under.Select(p => p[(first.Length + 1)..].Split(' ')[0]));
            if (near.Count > 0)
                return $"unknown command '{group}'; did you mean {Suggest.OrList(near.Select(n => $"'{first} {n}'").ToList())}?";
            return $"unknown command '{group}'; try: {string.Join(", ", under)}";
        }
        var tops = Suggest.Closest(first, paths.Select(p => p.Split(' ')[0]));
        if (tops.Count == 0)
            return $"unknown command '{first}'; run 'infogpu --help' for the list";
        var guesses = new List<string>();
        foreach (string top in tops)
        {
            var inGroup = paths.Where(p => p.StartsWith(top + " ", StringComparison.Ordinal)).Select(p => p[(top.Length + 1)..].Split(' ')[0]).ToList();
            IReadOnlyList<string> sub = [];
            if (second is not null && inGroup.Count > 0)
                sub = inGroup.Contains(second, StringComparer.Ordinal) ? [second] : Suggest.Closest(second, inGroup);
            guesses.Add(sub.Count > 0 ? $"'{top} {sub[0]}'" : $"'{top}'");
        }
        return $"unknown command '{first}'; did you mean {Suggest.OrList(guesses)}? (run 'infogpu --help' for the list)";
    }

    /// <summary>Errors are one line: control characters (a newline inside a user's value, say) become spaces.</summary>
    private static string OneLine(string s) => string.Concat(s.Select(c => char.IsControl(c) ? ' ' : c));
}
