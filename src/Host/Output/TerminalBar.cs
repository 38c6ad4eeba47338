using System.Globalization;
using InfoGpu.Host.Cli;

namespace InfoGpu.Host.Output;

/// <summary>
/// One live line on a terminal: a label, a bar, the fraction done, the elapsed time, the rate when
/// given and the time left; redrawn at most five times a second and erased when the work ends.
/// Only made when stderr is a terminal and the command prints for people (<see cref="For"/>).
/// </summary>
internal sealed class TerminalBar : IProgress<double>, IDisposable
{
    private const int Width = 24;
    private readonly TextWriter err;
    private readonly string label;
    private long started = -1;
    private double startFraction;
    private long lastDrawn = long.MinValue / 2;
    private int lastLength;

    private TerminalBar(TextWriter err, string label)
    {
        this.err = err;
        this.label = label;
    }

    /// <summary>A bar on stderr, or null when stderr is redirected or the command runs with --json or --quiet.</summary>
    public static TerminalBar? For(CommandContext context, string label) =>
        Enabled(context) ? new TerminalBar(context.Err, label) : null;

    /// <summary>Whether live progress may be drawn: stderr is the terminal and the output is for people.</summary>
    public static bool Enabled(CommandContext context) =>
        !context.Args.Quiet && !context.Args.Json && !Console.IsErrorRedirected && ReferenceEquals(context.Err, Console.Error);

    /// <summary>Draws the fraction done (0..1).</summary>
    public void Report(double value) => Draw(value, null);

    /// <summary>Draws the fraction done with a detail after it (e.g. "epoch 2/5  step 40/600").</summary>
    public void Draw(double fraction, string? detail, bool force = false)
    {
        long now = Environment.TickCount64;
        if (!force && now - lastDrawn < 200)
            return;
        lastDrawn = now;
        fraction = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1);
        if (started < 0)
        {
            // The rate is measured from here: a resumed run starts part-way through.
            started = now;
            startFraction = fraction;
        }
        double seconds = (now - started) / 1000.0;
        int filled = (int)Math.Round(fraction * Width);
        double left = fraction > startFraction && seconds > 0 ? seconds * (1 - fraction) / (fraction - startFraction) : double.NaN;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {fraction,4:P0}{(detail is null ? "" : "  " + detail)}  {seconds:F0} s{(double.IsFinite(left) && fraction < 1 ? $", about {left:F0} s left" : "")}");
        int pad = Math.Max(0, lastLength - line.Length);
        err.Write(line + new string(' ', pad));
        lastLength = line.Length;
        err.Flush();
    }

    /// <summary>Erases the line.</summary>
    public void Dispose()
    {
        if (lastLength > 0)
        {
            err.Write("\r" + new string(' ', lastLength) + "\r");
            err.Flush();
        }
    }
}
