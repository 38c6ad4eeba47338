using System.Text.Json;
using System.Text.RegularExpressions;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Training;

namespace InfoGpu.Tests.Console;

/// <summary>
/// The live bars: drawn only for people on a terminal (tests force one on a captured stderr and
/// drive the clock), with the stage, the fraction, the rate's time left, and notes written above
/// them; nothing at all when stderr is redirected or under --json / --quiet.
/// </summary>
public class ProgressBarTests
{
    private static readonly CommandSpec Spec = new("bar test", "a spec for the bar", "", [], []);

    private static (CommandContext Context, StringWriter Err, Func<long> Clock, Action<long> Advance) Terminal(params string[] argv)
    {
        long now = 1_000_000;
        var err = new StringWriter();
        var context = new CommandContext(Args.Parse(Spec, argv), new StringWriter(), err) { ForceTerminal = true, Clock = () => now };
        return (context, err, () => now, ms => now += ms);
    }

    /// <summary>The last drawn state of the line: what follows the last carriage return that starts a drawing.</summary>
    private static string LastDrawn(string err) => err[(err.LastIndexOf("\r" + "compare [", StringComparison.Ordinal) + 1)..];

    [Fact]
    public void StagedBarShowsTheStageItsFractionOfTheWholeAndTheTimeLeft()
    {
        var (context, err, _, advance) = Terminal();
        using (var bar = StagedBar.For(context, "compare", 3))
        {
            Assert.NotNull(bar);
            bar!.Begin(0, "CD-1");
            Assert.StartsWith("\rcompare [........................]", err.ToString(), StringComparison.Ordinal);
            Assert.Contains("CD-1 (1/3)", err.ToString(), StringComparison.Ordinal);
            advance(1000);
            // Half of stage 1 of 3: 1/6 of the whole after 1 s, so 5 s left at that rate; 24 * 1/6 = 4 cells.
            bar.Within(0.5, "epoch 1/2");
            string line = LastDrawn(err.ToString());
            Assert.StartsWith("compare [####....................]", line, StringComparison.Ordinal);
            Assert.Contains("CD-1 (1/3)  epoch 1/2", line, StringComparison.Ordinal);
            Assert.Contains("1 s, about 5 s left", line, StringComparison.Ordinal);
            advance(1000);
            bar.Begin(2, "PCD-1");
            line = LastDrawn(err.ToString());
            // Stage 3 of 3 begun: 2/3 after 2 s, 1 s left.
            Assert.StartsWith("compare [################........]", line, StringComparison.Ordinal);
            Assert.Contains("PCD-1 (3/3)", line, StringComparison.Ordinal);
            Assert.Contains("2 s, about 1 s left", line, StringComparison.Ordinal);
        }
        // Disposed: the line is blanked and the cursor back at its start.
        Assert.Matches(@"\r +\r$", err.ToString());
        Assert.Null(context.LiveBar);
    }

    [Fact]
    public void TheBarIsRedrawnAtMostFiveTimesASecondUnlessForced()
    {
        var (context, err, _, advance) = Terminal();
        using var bar = StagedBar.For(context, "compare", 1)!;
        bar.Begin(0, "x");
        int drawn = err.ToString().Count(c => c == '\r');
        bar.Within(0.1, null);
        advance(100);
        bar.Within(0.2, null);
        Assert.Equal(drawn, err.ToString().Count(c => c == '\r'));
        advance(150);
        bar.Within(0.3, null);
        Assert.Equal(drawn + 1, err.ToString().Count(c => c == '\r'));
        bar.Within(0.4, null, force: true);
        Assert.Equal(drawn + 2, err.ToString().Count(c => c == '\r'));
    }

    [Fact]
    public void NotesAreWrittenAboveTheLiveBarWhichIsThenDrawnAgain()
    {
        var (context, err, _, advance) = Terminal();
        using (var bar = StagedBar.For(context, "compare", 2)!)
        {
            bar.Begin(1, "CD-3");
            int before = err.ToString().Length;
            context.Note("CD-3 epoch 1: 0.10 s");
            string after = err.ToString()[before..];
            // Erase (blank the drawn line), the note on a line of its own, then the bar again.
            Assert.Matches(@"^\r +\rCD-3 epoch 1: 0\.10 s" + Regex.Escape(Environment.NewLine) + @"\rcompare \[", after);
            Assert.Contains("CD-3 (2/2)", after, StringComparison.Ordinal);
        }
        // Once the bar is gone, notes are plain lines again.
        int end = err.ToString().Length;
        context.Note("done");
        Assert.Equal("done" + Environment.NewLine, err.ToString()[end..]);
    }

    [Fact]
    public void TrainingAndStudyProgressMapOntoTheirShareOfTheStage()
    {
        var (context, err, _, advance) = Terminal();
        using var bar = StagedBar.For(context, "compare", 2)!;
        bar.Begin(1, "exact gradient");
        advance(1000);
        // Epoch 2 of 2, step 5 of 10: 75 % of the training, which fills the first 80 % of stage 2 of 2.
        bar.Training(0, 0.8).Report(new TrainingProgress(2, 2, 5, 10, 15, 1));
        string line = LastDrawn(err.ToString());
        Assert.Contains("exact gradient (2/2)  epoch 2/2  step 5/10", line, StringComparison.Ordinal);
        int filled = line.Count(c => c == '#');
        Assert.Equal((int)Math.Round(24 * (1 + 0.75 * 0.8) / 2), filled);
        advance(1000);
        bar.Study("estimate", 0.8, 1).Report(new RbmStudyProgress("CD-1", 1, 4, 5, 20));
        line = LastDrawn(err.ToString());
        Assert.Contains("exact gradient (2/2)  CD-1: estimate 5/20", line, StringComparison.Ordinal);
        // Study fraction (1 + 5/20) / 4 = 0.3125 mapped to 0.8 + 0.2 * 0.3125 of stage 2.
        Assert.Equal((int)Math.Round(24 * (1 + 0.8 + 0.2 * 0.3125) / 2), line.Count(c => c == '#'));
    }

    [Theory]
    [InlineData("--json")]
    [InlineData("--quiet")]
    public void NoBarForMachinesOrQuietRunsEvenOnATerminal(string flag)
    {
        var (context, err, _, _) = Terminal(flag);
        Assert.Null(StagedBar.For(context, "compare", 3));
        Assert.Null(TerminalBar.For(context, "AIS"));
        context.Note("a note");
        Assert.Equal("", err.ToString());
    }

    [Fact]
    public void NoBarWhenStderrIsNotTheTerminal()
    {
        var err = new StringWriter();
        var context = new CommandContext(Args.Parse(Spec, []), new StringWriter(), err);
        Assert.Null(StagedBar.For(context, "bench", 2));
        Assert.Null(TerminalBar.For(context, "training"));
    }

    [Fact]
    public void StudyProgressIsReportedForEveryEstimateAndEveryUpdateWithoutChangingTheFigures()
    {
        const int nv = 8, nh = 4;
        var rng = new System.Random(5);
        var data = Enumerable.Range(0, 24 * nv).Select(_ => rng.NextDouble() < 0.4 ? 1f : 0f).ToArray();
        var rbm = Rbm.Initialize(nv, nh, 3, weightScale: 0.3);
        var options = new RbmGradientStudyOptions { BatchSize = 12, Estimates = 3, Updates = 4, EvaluateEvery = 2, PersistentWarmup = 5, Seed = 7 };
        RbmEstimator[] estimators = [RbmEstimator.Exact, RbmEstimator.Cd(1), RbmEstimator.Pcd(1)];
        var qualityReports = new List<RbmStudyProgress>();
        var curveReports = new List<RbmStudyProgress>();
        var (plain, reported, plainCurves, reportedCurves) = TestDevices.Use("cpu", d => (
            RbmGradientStudy.MeasureQuality(d, rbm, data, estimators, options),
            RbmGradientStudy.MeasureQuality(d, rbm, data, estimators, options, new Recorder(qualityReports.Add)),
            RbmGradientStudy.LearningCurves(d, rbm, data, data, estimators, options),
            RbmGradientStudy.LearningCurves(d, rbm, data, data, estimators, options, new Recorder(curveReports.Add))));
        // The same figures with and without a listener (the seconds are wall-clock, so not compared).
        Assert.Equal(plain.Select(q => (q.Estimator, q.Cosine, q.RelativeError, q.Bias, q.Variance)), reported.Select(q => (q.Estimator, q.Cosine, q.RelativeError, q.Bias, q.Variance)));
        Assert.Equal(plainCurves.SelectMany(c => c.LogLikelihood), reportedCurves.SelectMany(c => c.LogLikelihood));
        // A start report and one per estimate (updates), per estimator, in order, ending at 1.
        Assert.Equal(estimators.Length * (options.Estimates + 1), qualityReports.Count);
        Assert.Equal(estimators.Length * (options.Updates + 1), curveReports.Count);
        foreach (var reports in new[] { qualityReports, curveReports })
        {
            for (int i = 1; i < reports.Count; i++)
                Assert.True(reports[i].Fraction >= reports[i - 1].Fraction, $"report {i}: {reports[i - 1]} -> {reports[i]}");
            Assert.Equal(0, reports[0].Fraction);
            Assert.Equal(1, reports[^1].Fraction);
            Assert.Equal(estimators.Select(e => e.Name), reports.Select(r => r.Estimator).Distinct());
        }
    }

    [Fact]
    public void RbmCompareOnATerminalDrawsOneStagePerMethodAndPrintsTheSameNotes()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-bar-compare-{Environment.ProcessId}");
        try
        {
            string[] argv = ["rbm", "compare", "--limit", "100", "--hidden", "6", "--epochs", "1", "--k", "2", "--gibbs-steps", "3",
                "--estimates", "2", "--curve-betas", "0", "--out", dir, "--overwrite", "--accelerator", "cpu"];
            var (code, output, err) = ConsoleRunner.RunOnTerminal(argv);
            Assert.True(code == 0, err);
            foreach (string stage in new[] { "exact gradient (1/6)", "long chain (burn-in 3) (2/6)", "CD-1 (3/6)", "CD-2 (4/6)", "PCD-1 (5/6)", "gradient quality (6/6)" })
                Assert.Contains(stage, err, StringComparison.Ordinal);
            Assert.Contains("\rcompare [", err, StringComparison.Ordinal);
            Assert.DoesNotContain('\r', output);
            // The same run redirected: not a carriage return, and the same note lines (the bar's drawings and blankings removed).
            var (code2, _, plainErr) = ConsoleRunner.Run(argv);
            Assert.True(code2 == 0, plainErr);
            Assert.DoesNotContain('\r', plainErr);
            static string[] Notes(string s) => Regex.Replace(Regex.Replace(s, @"\rcompare \[[^\r\n]*", ""), @"\r *", "").Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries)
                .Select(l => Regex.Replace(l, @"[0-9.]+ s\b", "T s")).ToArray();
            Assert.Equal(Notes(plainErr), Notes(err));
            // --json on a terminal: one document on stdout, nothing on stderr.
            var (code3, json, jsonErr) = ConsoleRunner.RunOnTerminal([.. argv, "--json"]);
            Assert.True(code3 == 0, jsonErr);
            Assert.Equal("", jsonErr);
            using var doc = JsonDocument.Parse(json);
            Assert.Equal(5, doc.RootElement.GetProperty("methods").GetArrayLength());
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BenchOnATerminalShowsCaseIOfNAndNothingWhenRedirected()
    {
        string[] argv = ["bench", "--suite", "measures", "--quick", "--repeat", "1", "--accelerator", "cpu"];
        var (code, output, err) = ConsoleRunner.RunOnTerminal(argv);
        Assert.True(code == 0, err);
        Assert.Contains("\rbench [", err, StringComparison.Ordinal);
        Assert.Contains("measures (1/1)  case 1/2: entropy", err, StringComparison.Ordinal);
        Assert.Contains("measures (1/1)  case 2/2: kl", err, StringComparison.Ordinal);
        // The bar is erased before the table goes to stdout, which carries no bar.
        Assert.DoesNotContain('\r', output);
        Assert.Matches(@"\r +\r$", err);
        var (code2, output2, plainErr) = ConsoleRunner.Run(argv);
        Assert.True(code2 == 0, plainErr);
        Assert.DoesNotContain('\r', plainErr);
        Assert.Contains("entropy", output2, StringComparison.Ordinal);
    }

    [Fact]
    public void ReportOnATerminalShowsEachSectionAndTheTrainingEpochs()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-bar-report-{Environment.ProcessId}");
        try
        {
            var (code, output, err) = ConsoleRunner.RunOnTerminal("report", "--quick", "--out", dir, "--accelerator", "cpu");
            Assert.True(code == 0, err);
            int sections = InfoGpu.Host.Report.ReportSections.All.Count;
            for (int i = 0; i < sections; i++)
                Assert.Contains($"{InfoGpu.Host.Report.ReportSections.All[i].Name} ({i + 1}/{sections})", err, StringComparison.Ordinal);
            // Within a training section, the epoch and step of its run.
            string Stage(string name) => $"{name} ({InfoGpu.Host.Report.ReportSections.All.Select(x => x.Name).ToList().IndexOf(name) + 1}/{sections})";
            Assert.Matches(Regex.Escape(Stage("variational autoencoder")) + "  epoch [0-9]+/[0-9]+  step [0-9]+/[0-9]+", err);
            Assert.Matches(Regex.Escape(Stage("RBM gradient estimators")) + "  [^\r]*: update [0-9]+/[0-9]+", err);
            Assert.DoesNotContain('\r', output);
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class Recorder(Action<RbmStudyProgress> on) : IProgress<RbmStudyProgress>
    {
        public void Report(RbmStudyProgress value) => on(value);
    }
}
