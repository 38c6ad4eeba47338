using InfoGpu.Host.Cli;

namespace InfoGpu.Tests.Console;

/// <summary>Runs the console in-process and captures what it prints.</summary>
internal static class ConsoleRunner
{
    private static readonly object Gate = new();

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code;
        lock (Gate)
            code = CommandLine.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs the console as if stderr were a terminal: the live progress bars are drawn into the captured stderr.</summary>
    public static (int Code, string Out, string Err) RunOnTerminal(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code;
        lock (Gate)
            code = CommandLine.Run(args, stdout, stderr, InfoGpu.Distributed.Cluster.Single, forceTerminal: true);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
