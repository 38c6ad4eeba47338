namespace InfoGpu.Host.Cli;

/// <summary>What a command gets: its arguments and where to write.</summary>
internal sealed class CommandContext(Args args, TextWriter stdout, TextWriter stderr)
{
    public Args Args { get; } = args;

    public TextWriter Out { get; } = stdout;

    public TextWriter Err { get; } = stderr;

    /// <summary>The ranks this run is part of (one process unless launched by mpirun/srun); only rank 0 prints and writes.</summary>
    public InfoGpu.Distributed.Cluster Cluster { get; init; } = InfoGpu.Distributed.Cluster.Single;

    /// <summary>Tests: draw live progress on <see cref="Err"/> as if it were a terminal (it is drawn only on a real terminal otherwise).</summary>
    internal bool ForceTerminal { get; init; }

    /// <summary>The clock of the live progress, in milliseconds (tests: a fake one; null: the system's).</summary>
    internal Func<long>? Clock { get; init; }

    /// <summary>The live bar on <see cref="Err"/>, if one is drawn: notes are written above it.</summary>
    internal Output.TerminalBar? LiveBar { get; set; }

    /// <summary>Human progress and context lines: stderr, unless --quiet or --json (above the live bar, if one is drawn).</summary>
    public void Note(string line)
    {
        if (Args.Quiet || Args.Json)
            return;
        if (LiveBar is Output.TerminalBar bar)
            bar.WriteLine(line);
        else
            Err.WriteLine(line);
    }
}

/// <summary>
/// A command whose every MPI rank runs it and takes part in its collective calls (data-parallel
/// training, split sweeps and selections); under MPI the other commands run on rank 0 alone.
/// </summary>
internal interface IDistributedCommand : ICommand
{
}

/// <summary>One console command.</summary>
internal interface ICommand
{
    CommandSpec Spec { get; }

    /// <summary>Runs the command; returns the exit code.</summary>
    int Run(CommandContext context);
}
