namespace InfoGpu.Host.Cli;

/// <summary>What a command gets: its arguments and where to write.</summary>
internal sealed class CommandContext(Args args, TextWriter stdout, TextWriter stderr)
{
    public Args Args { get; } = args;

    public TextWriter Out { get; } = stdout;

    public TextWriter Err { get; } = stderr;

    /// <summary>Human progress and context lines: stderr, unless --quiet or --json.</summary>
    public void Note(string line)
    {
        if (!Args.Quiet && !Args.Json)
            Err.WriteLine(line);
    }
}

/// <summary>One console command.</summary>
internal interface ICommand
{
    CommandSpec Spec { get; }

    /// <summary>Runs the command; returns the exit code.</summary>
    int Run(CommandContext context);
}
