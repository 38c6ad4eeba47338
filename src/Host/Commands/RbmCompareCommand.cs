using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Evaluation;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Restricted;
using InfoGpu.Training;

namespace InfoGpu.Host.Commands;

/// <summary>
/// <c>infogpu rbm compare</c>: the chapter's comparison of the negative-phase samplers (long
/// Gibbs chains, CD-1, CD-k, PCD) on the same data, the same initial model and the same time
/// budget, judged by the AIS log-likelihood of held-out images.
/// </summary>
internal sealed class RbmCompareCommand : ICommand
{
    public CommandSpec Spec { get; } = new(
        "rbm compare",
        "train with long Gibbs chains, CD-1, CD-k and PCD under one budget and compare their AIS test log-likelihoods",
        "[--data DIR] [--hidden 500] [--epochs 5] [--budget-seconds S] [--k 10] [--gibbs-steps 100] [--ais-runs 100] [--ais-betas 14500] [--curve-betas 1000] [--limit N] [--seed 1] [--out DIR] [--accelerator KIND] [--json]",
        [
            new("data", "DIR", "IDX folder; default: /usr/share/datasets/fashion-mnist, else the embedded subset"),
            new("hidden", "H", "hidden units (default 500)"),
            new("epochs", "E", "epochs per method (default 5)"),
            new("budget-seconds", "S", "stop a method once its training time reaches S seconds (default: no limit)"),
            new("k", "K", "Gibbs steps of CD-k (default 10)"),
            new("gibbs-steps", "G", "sweeps of the long chains of the 'full Gibbs' negative phase (default 100)"),
            new("ais-runs", "R", "AIS runs of the final estimates (default 100)"),
            new("ais-betas", "K", "AIS temperatures of the final estimates (default 14500, Salakhutdinov and Murray's schedule)"),
            new("curve-betas", "K", "AIS temperatures of the per-epoch estimates on the curve (default 1000; 0 turns the curve off)"),
            new("lr", "R", "learning rate (default 0.05)"),
            new("batch", "B", "mini-batch size (default 100)"),
            new("limit", "N", "use the first N training and min(N, 10000) test images"),
            new("seed", "S", "seed of the initial model, the data order and every draw (default 1)"),
            new("out", "DIR", "where compare.md, compare.json and loglik_vs_time.png go (default out/rbm-compare)"),
            CommandSpec.Accelerator,
        ],
        ["infogpu rbm compare --hidden 500 --epochs 5", "infogpu rbm compare --limit 2000 --hidden 64 --epochs 3 --ais-betas 3000 --json"]);

    public int Run(CommandContext context)
    {
        var a = context.Args;
        int hidden = a.GetInt("hidden", 500), epochs = a.GetInt("epochs", 5), k = a.GetInt("k", 10), gibbs = a.GetInt("gibbs-steps", 100);
        int runs = a.GetInt("ais-runs", 100), betas = a.GetInt("ais-betas", 14_500), curveBetas = a.GetInt("curve-betas", 1000), batch = a.GetInt("batch", 100);
        double budget = a.GetDouble("budget-seconds", double.PositiveInfinity), lr = a.GetDouble("lr", 0.05);
        int seed = a.GetInt("seed", 1);
        if (hidden < 1 || epochs < 1 || k < 1 || gibbs < 1 || runs < 2 || betas < 3 || curveBetas < 0 || (curveBetas > 0 && curveBetas < 3) || batch < 1 || seed < 0 || !(budget > 0))
            throw new UsageException("--hidden, --epochs, --k, --gibbs-steps, --batch must be >= 1, --ais-runs >= 2, --ais-betas >= 3, --curve-betas 0 or >= 3, --budget-seconds > 0, --seed >= 0");
        string outDir = Path.GetFullPath(a.Get("out") ?? Path.Combine("out", "rbm-compare"));
        Directory.CreateDirectory(outDir);
        var data = FashionMnist.Load(a.Get("data"), a.Has("limit") ? a.GetInt("limit", 0) : null);
        var train = data.Train.Binarized();
        var test = data.Test.Binarized();
        int nv = train.Pixels;
        using var device = DeviceOption.Open(context);
        context.Note($"{data.Description}; {nv} visible x {hidden} hidden; {epochs} epochs per method on {device.Info.Kind}");

        var methods = new (string Name, RbmSamplerKind Sampler, int K)[]
        {
            ($"Gibbs-{gibbs}", RbmSamplerKind.Cd, gibbs),
            ("CD-1", RbmSamplerKind.Cd, 1),
            ($"CD-{k}", RbmSamplerKind.Cd, k),
            ("PCD-1", RbmSamplerKind.Pcd, 1),
        };
        var baseBias = AnnealedImportanceSampling.BaseRateBiases(train.Images, train.Count, nv);
        var results = new List<MethodResult>();
        foreach (var (name, sampler, steps) in methods)
        {
            var options = new RbmTrainerOptions { Sampler = sampler, K = steps, LearningRate = lr, BatchSize = batch, Epochs = epochs, Seed = (ulong)seed };
            var rbm = Rbm.Initialize(nv, hidden, options.Seed, train.PixelMeans());
            var curve = new List<(double Seconds, double LogLikelihood)>();
            var epochSeconds = new List<double>();
            RbmEpochMetrics? last = null;
            double trained = 0;
            using (var trainer = new RbmTrainer(device, rbm, train.Images, test.Images, options))
            using (var overBudget = new CancellationTokenSource())
            {
                var session = new TrainingSession<RbmEpochMetrics>(trainer, new TrainingSessionOptions());
                session.EpochCompleted += m =>
                {
                    int e = m.Epoch;
                    last = m;
                    trained += last.Seconds;
                    epochSeconds.Add(last.Seconds);
                    string point = "";
                    if (curveBetas > 0)
                    {
                        var quick = AnnealedImportanceSampling.EstimateLogPartition(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias, baseBias, new AisOptions(Math.Min(runs, 50), curveBetas, (ulong)seed));
                        double ll = TestLogLikelihood(device, rbm, test, quick.LogZ);
                        curve.Add((trained, ll));
                        point = FormattableString.Invariant($", AIS ({curveBetas} betas) test log-likelihood {ll:F2}");
                    }
                    context.Note(FormattableString.Invariant($"{name,-10} epoch {e}: {last.Seconds:F2} s, reconstruction error {last.ReconstructionError:F3}, PLL {last.PseudoLogLikelihood:F3}{point}"));
                    if (trained >= budget)
                        overBudget.Cancel();
                };
                session.Run(overBudget.Token);
            }
            context.Note($"{name}: final AIS ({runs} runs x {betas} betas) ...");
            var ais = AnnealedImportanceSampling.EstimateLogPartition(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias, baseBias, new AisOptions(runs, betas, (ulong)seed));
            double testLl = TestLogLikelihood(device, rbm, test, ais.LogZ);
            results.Add(new MethodResult(name, epochSeconds.Count, trained, Median(epochSeconds), testLl, ais, last!.PseudoLogLikelihood, last.ReconstructionError, curve));
        }

        string md = Markdown(results, data.Description, nv, hidden, runs, betas, device.Info.Kind);
        Plots.SaveAtomically(Path.Combine(outDir, "compare.md"), tmp => File.WriteAllText(tmp, md));
        if (curveBetas > 0)
        {
            var series = results.Where(r => r.Curve.Count > 0).Select(r => (r.Name, r.Curve.Select(p => p.Seconds).ToArray(), r.Curve.Select(p => p.LogLikelihood).ToArray())).ToArray();
            Plots.Lines(Path.Combine(outDir, "loglik_vs_time.png"), "AIS test log-likelihood against training time", "training seconds", "mean log p(v) (nats)", series);
        }
        var json = ToJson(results, data.Description, nv, hidden, runs, betas, curveBetas, outDir);
        Plots.SaveAtomically(Path.Combine(outDir, "compare.json"), tmp => File.WriteAllText(tmp, json.ToJsonString()));
        if (a.Json)
            Json.Write(context.Out, json);
        else
            context.Out.Write(md);
        return 0;
    }

    private static double TestLogLikelihood(InfoGpu.Devices.ComputeDevice device, Rbm rbm, ImageSet test, double logZ) =>
        AnnealedImportanceSampling.NegativeFreeEnergies(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias, test.Images, test.Count).Average() - logZ;

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[(s.Length / 2) - 1] + s[s.Length / 2]);
    }

    private static string Markdown(List<MethodResult> results, string data, int nv, int hidden, int runs, int betas, string device)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# RBM samplers compared ({nv} x {hidden}, {device})");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Data: {data}. Same initial model, data order and seed for every method. Test log-likelihood = mean -F(v) over the test images - log Z, log Z by AIS ({runs} runs x {betas} temperatures; +- is the standard error of log Z).");
        sb.AppendLine();
        sb.AppendLine("| method | epochs | s / epoch | training s | AIS test log-likelihood (nats) | log Z +- se | pseudo-log-likelihood | reconstruction error |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Epochs} | {r.SecondsPerEpoch:F2} | {r.TrainingSeconds:F1} | {r.TestLogLikelihood:F2} | {r.Ais.LogZ:F2} +- {r.Ais.LogZStdErr:F2} | {r.PseudoLogLikelihood:F2} | {r.ReconstructionError:F2} |");
        return sb.ToString();
    }

    private static JsonObject ToJson(List<MethodResult> results, string data, int nv, int hidden, int runs, int betas, int curveBetas, string outDir)
    {
        var methods = new JsonArray();
        foreach (var r in results)
        {
            var curve = new JsonArray();
            foreach (var (s, ll) in r.Curve)
                curve.Add(new JsonObject { ["seconds"] = Json.Number(s), ["test_log_likelihood"] = Json.Number(ll) });
            methods.Add(new JsonObject
            {
                ["method"] = r.Name,
                ["epochs"] = r.Epochs,
                ["seconds_per_epoch"] = Json.Number(r.SecondsPerEpoch),
                ["training_seconds"] = Json.Number(r.TrainingSeconds),
                ["test_log_likelihood"] = Json.Number(r.TestLogLikelihood),
                ["log_z"] = Json.Number(r.Ais.LogZ),
                ["log_z_stderr"] = Json.Number(r.Ais.LogZStdErr),
                ["pseudo_log_likelihood"] = Json.Number(r.PseudoLogLikelihood),
                ["reconstruction_error"] = Json.Number(r.ReconstructionError),
                ["curve"] = curve,
            });
        }
        return new JsonObject
        {
            ["data"] = data,
            ["visible"] = nv,
            ["hidden"] = hidden,
            ["ais_runs"] = runs,
            ["ais_betas"] = betas,
            ["curve_betas"] = curveBetas,
            ["methods"] = methods,
            ["markdown"] = Path.Combine(outDir, "compare.md"),
            ["plot"] = curveBetas > 0 ? Path.Combine(outDir, "loglik_vs_time.png") : null,
        };
    }

    private sealed record MethodResult(string Name, int Epochs, double TrainingSeconds, double SecondsPerEpoch, double TestLogLikelihood, AisResult Ais, double PseudoLogLikelihood, double ReconstructionError, List<(double Seconds, double LogLikelihood)> Curve);
}
