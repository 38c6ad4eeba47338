using System.Globalization;
using InfoGpu.Host.Cli;

namespace InfoGpu.Host.Output;

/// <summary>
/// One live line on a terminal: a label, a bar, the fraction done, the elapsed time, the rate when
/// given and the time left; redrawn at most five times a second and erased when the work ends.
/// Only made when stderr is a terminal and the command prints for people (<see cref="For"/>); while
/// it is live, <see cref="CommandContext.Note"/> erases it, writes its line and draws it again.
/// Not thread-safe: the thread that runs the command reports to it.
/// </summary>
internal sealed class TerminalBar : IProgress<double>, IDisposable
{
    private const int Width = 24;
    private readonly TextWriter err;
    private readonly string label;
    private readonly Func<long> clock;
    private readonly CommandContext? owner;
    private long started = -1;
    private double startFraction;
    private long lastDrawn = long.MinValue / 2;
    private int lastLength;
    private double lastFraction;
    private string? lastDetail;

    /// <summary>A bar on <paramref name="err"/> (tests: a forced terminal, and a clock in milliseconds).</summary>
    internal TerminalBar(TextWriter err, string label, Func<long>? clock = null, CommandContext? owner = null)
    {
        this.err = err;
        this.label = label;
        this.clock = clock ?? (() => Environment.TickCount64);
        this.owner = owner;
    }

    /// <summary>A bar on stderr, or null when stderr is redirected or the command runs with --json or --quiet.</summary>
    public static TerminalBar? For(CommandContext context, string label)
    {
        if (!Enabled(context))
            return null;
        var bar = new TerminalBar(context.Err, label, context.Clock, context);
        context.LiveBar = bar;
        return bar;
    }

    /// <summary>Whether live progress may be drawn: stderr is the terminal (or a test forces one) and the output is for people.</summary>
    public static bool Enabled(CommandContext context) =>
        !context.Args.Quiet && !context.Args.Json
        && (context.ForceTerminal || (!Console.IsErrorRedirected && ReferenceEquals(context.Err, Console.Error)));

    /// <summary>Draws the fraction done (0..1).</summary>
    public void Report(double value) => Draw(value, null);

    /// <summary>Draws the fraction done with a detail after it (e.g. "epoch 2/5  step 40/600").</summary>
    public void Draw(double fraction, string? detail, bool force = false)
    {
        long now = clock();
        fraction = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1);
        lastFraction = fraction;
        lastDetail = detail;
        if (started < 0)
        {
            // The rate is measured from here: a resumed run starts part-way through.
            started = now;
            startFraction = fraction;
        }
        if (!force && now - lastDrawn < 200)
            return;
        lastDrawn = now;
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

    /// <summary>Writes one line of text above the bar: erases the bar, writes the line, draws the bar again.</summary>
    public void WriteLine(string text)
    {
        bool drawn = lastLength > 0;
        Erase();
        err.WriteLine(text);
        if (drawn)
            Draw(lastFraction, lastDetail, force: true);
    }

    /// <summary>Erases the line (the bar may be drawn again).</summary>
    public void Erase()
    {
        if (lastLength > 0)
        {
            err.Write("\r" + new string(' ', lastLength) + "\r");
            err.Flush();
            lastLength = 0;
        }
    }

    /// <summary>Erases the line; the command's notes go straight to stderr again.</summary>
    public void Dispose()
    {
        Erase();
        if (owner is not null && ReferenceEquals(owner.LiveBar, this))
            owner.LiveBar = null;
    }
}

/// <summary>
/// A bar over work in stages (the methods of a comparison, the sections of a report, the cases of a
/// bench): stage i of n with its name, and the fraction done within the stage. <see cref="For"/>
/// returns null when no bar may be drawn (callers report with <c>?.</c>, so nothing is drawn then).
/// Not thread-safe: the command's thread reports to it.
/// </summary>
internal sealed class StagedBar : IDisposable
{
    private readonly TerminalBar bar;
    private readonly int stages;
    private int index;
    private string name = "";

    internal StagedBar(TerminalBar bar, int stages)
    {
        this.bar = bar;
        this.stages = Math.Max(1, stages);
    }

    /// <summary>A bar labelled <paramref name="label"/> over <paramref name="stages"/> stages, or null where <see cref="TerminalBar.For"/> gives none.</summary>
    public static StagedBar? For(CommandContext context, string label, int stages) =>
        TerminalBar.For(context, label) is TerminalBar bar ? new StagedBar(bar, stages) : null;

    /// <summary>Starts stage <paramref name="stage"/> (0-based) called <paramref name="stageName"/>.</summary>
    public void Begin(int stage, string stageName)
    {
        index = Math.Clamp(stage, 0, stages - 1);
        name = stageName;
        Within(0, null, force: true);
    }

    /// <summary>Draws the fraction done within the current stage, with a detail after the stage's name.</summary>
    public void Within(double fraction, string? detail, bool force = false)
    {
        fraction = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1);
        string text = string.Create(CultureInfo.InvariantCulture, $"{name} ({index + 1}/{stages}){(detail is null ? "" : "  " + detail)}");
        bar.Draw((index + fraction) / stages, text, force);
    }

    /// <summary>Training progress within the current stage, mapped onto [<paramref name="from"/>, <paramref name="to"/>] of it.</summary>
    public IProgress<InfoGpu.Training.TrainingProgress> Training(double from = 0, double to = 1) => new TrainingWithin(this, from, to);

    /// <summary>A plain fraction within the current stage, mapped onto [<paramref name="from"/>, <paramref name="to"/>] of it, with a fixed detail.</summary>
    public IProgress<double> Fraction(string? detail, double from = 0, double to = 1) => new FractionWithin(this, detail, from, to);

    /// <summary>
    /// The progress of an RBM gradient study within the current stage, mapped onto [<paramref name="from"/>,
    /// <paramref name="to"/>] of it, with the estimator and its <paramref name="unit"/>s done (e.g. "CD-1: update 40/300").
    /// </summary>
    public IProgress<InfoGpu.Restricted.RbmStudyProgress> Study(string unit, double from = 0, double to = 1) => new StudyWithin(this, unit, from, to);

    /// <summary>Erases the bar.</summary>
    public void Dispose() => bar.Dispose();

    private sealed class StudyWithin(StagedBar owner, string unit, double from, double to) : IProgress<InfoGpu.Restricted.RbmStudyProgress>
    {
        public void Report(InfoGpu.Restricted.RbmStudyProgress p) =>
            owner.Within(from + (to - from) * p.Fraction, string.Create(CultureInfo.InvariantCulture, $"{p.Estimator}: {unit} {p.Done}/{p.Total}"));
    }

    private sealed class TrainingWithin(StagedBar owner, double from, double to) : IProgress<InfoGpu.Training.TrainingProgress>
    {
        public void Report(InfoGpu.Training.TrainingProgress p) =>
            owner.Within(from + (to - from) * p.Fraction, string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{p.Epochs}  step {p.StepInEpoch}/{p.StepsPerEpoch}"));
    }

    private sealed class FractionWithin(StagedBar owner, string? detail, double from, double to) : IProgress<double>
    {
        public void Report(double value) => owner.Within(from + (to - from) * value, detail);
    }
}
