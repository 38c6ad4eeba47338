using System.Runtime.InteropServices;

namespace InfoGpu.Training;

/// <summary>
/// Turns the process's interrupt (Ctrl-C, SIGINT) and termination (SIGTERM) requests into a
/// cancellation token for as long as it lives, so that a <see cref="TrainingSession{TMetrics}"/>
/// stops after the current step and writes its checkpoint instead of the process dying. Create
/// one per run and dispose it when the run ends (the signals then act as before).
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly List<PosixSignalRegistration> registrations = [];

    /// <summary>Starts listening for SIGINT and SIGTERM (Ctrl-C and Ctrl-Break on Windows).</summary>
    public StopSignals()
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                Signal ??= context.Signal;
                source.Cancel();
            }));
        }
    }

    /// <summary>Cancelled at the first signal.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>The first signal received; null while none was.</summary>
    public PosixSignal? Signal { get; private set; }

    /// <summary>The exit status a shell gives a process ended by <see cref="Signal"/>: 130 for SIGINT, 143 for SIGTERM (128 + the signal's number).</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        foreach (var r in registrations)
            r.Dispose();
        source.Dispose();
    }
}
