using System.Globalization;
using InfoGpu.Host.Cli;
using InfoGpu.Training;

namespace InfoGpu.Host.Commands;

/// <summary>What every train command shares: run the engine's session with the process's stop signals, and say how it ended.</summary>
internal static class SessionRunner
{
    /// <summary>
    /// Runs <paramref name="session"/> until done or until Ctrl-C/SIGTERM; returns the exit code
    /// (0, or 130/143 after an interruption, with the checkpoint and how to resume on stderr).
    /// </summary>
    /// <param name="context">Where to write.</param>
    /// <param name="session">The session, with its epoch callback already attached.</param>
    /// <param name="command">The train command, for the resume hint ("rbm train").</param>
    /// <param name="outDir">The run's folder (null: nothing is saved).</param>
    public static int Run<TMetrics>(CommandContext context, TrainingSession<TMetrics> session, string command, string? outDir)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        using var stop = new StopSignals();
        var stopped = session.Run(stop.Token);
        if (stopped == TrainingStop.Completed)
            return 0;
        var t = session.Trainer;
        string where = string.Create(CultureInfo.InvariantCulture, $"interrupted in epoch {t.Epoch + 1} after step {t.StepInEpoch} ({t.Step} updates done)");
        if (session.CheckpointPath is null)
        {
            context.Err.WriteLine($"{where}; nothing saved (give --out DIR to checkpoint)");
        }
        else
        {
            context.Err.WriteLine($"{where}; checkpoint written to {session.CheckpointPath}");
            context.Err.WriteLine($"resume with: {ProgramName()} {command} --resume {outDir}");
        }
        return stop.ExitCode;
    }

    /// <summary>The progress display for a run: a bar on stderr when it is a terminal and the command prints for humans; null otherwise.</summary>
    public static IProgress<TrainingProgress>? Progress(CommandContext context) =>
        context.Args.Quiet || context.Args.Json || Console.IsErrorRedirected || !ReferenceEquals(context.Err, Console.Error) ? null : new ConsoleBar(context.Err);

    /// <summary>How the user runs this program: "infogpu" when installed as a command, else the dotnet invocation.</summary>
    private static string ProgramName()
    {
        string? path = Environment.ProcessPath;
        return path is not null && Path.GetFileNameWithoutExtension(path) == "infogpu" ? "infogpu" : "dotnet run --project src/Host -c Release --";
    }

    /// <summary>One line on a terminal, rewritten at most five times a second.</summary>
    private sealed class ConsoleBar(TextWriter err) : IProgress<TrainingProgress>
    {
        private long lastTicks;

        public void Report(TrainingProgress p)
        {
            long now = Environment.TickCount64;
            bool end = p.StepInEpoch == p.StepsPerEpoch;
            if (!end && now - lastTicks < 200)
                return;
            lastTicks = now;
            const int width = 24;
            int filled = (int)Math.Round(p.Fraction * width);
            double eta = p.Fraction > 0 ? p.Seconds * (1 - p.Fraction) / p.Fraction : double.NaN;
            string line = string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('.', width - filled)}] {p.Fraction,4:P0}  epoch {p.Epoch}/{p.Epochs}  step {p.StepInEpoch}/{p.StepsPerEpoch}  {p.Seconds:F0} s{(double.IsFinite(eta) ? $", about {eta:F0} s left" : "")}   ");
            err.Write(line);
            if (end)
                err.Write("\r" + new string(' ', line.Length) + "\r");
            err.Flush();
        }
    }
}
