namespace InfoGpu.Host.Cli;

/// <summary>
/// Turns Ctrl-C into a cancellation token for as long as it lives: training loops stop after the
/// current step, write a checkpoint and say how to resume, instead of the process dying.
/// </summary>
internal sealed class CtrlC : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly ConsoleCancelEventHandler handler;

    public CtrlC()
    {
        handler = (_, e) =>
        {
            e.Cancel = true;
            source.Cancel();
        };
        Console.CancelKeyPress += handler;
    }

    public CancellationToken Token => source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= handler;
        source.Dispose();
    }
}
