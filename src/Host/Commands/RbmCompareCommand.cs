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
/// <c>infogpu rbm compare</c>: the chapter's comparison of the ways to get the log-likelihood
/// gradient (the exact gradient when the hidden layer can be enumerated, a long chain run to
/// equilibrium with a stated burn-in, CD-1, CD-k, PCD-1) on the same data, the same initial
/// model, the same constant momentum and the same time budget, judged by the test
/// log-likelihood (exact when the hidden layer is small enough, else AIS) and, for small hidden
/// layers, by the quality of each estimator's gradients against the exact one at the same parameters.
/// </summary>
internal sealed class RbmCompareCommand : ICommand
{
    /// <summary>Hidden layers up to this size get the "exact gradient" row and the gradient-quality columns (2^16 states per update).</summary>
    internal const int ExactGradientLimit = 16;

    /// <summary>Hidden layers up to this size get exact log-likelihoods instead of AIS (2^20 states per evaluation).</summary>
    internal const int ExactLikelihoodLimit = 20;

    /// <summary>The constant momentum of every method unless --momentum says otherwise.</summary>
    internal const double DefaultMomentum = 0.5;

    public CommandSpec Spec { get; } = new(
        "rbm compare",
        "train with the exact gradient (small hidden layers), a long chain, CD-1, CD-k and PCD under one budget and compare test log-likelihoods and gradient quality",
        "[--data DIR] [--hidden 500] [--epochs 5] [--budget-seconds S] [--k 10] [--gibbs-steps 100] [--momentum 0.5] [--downscale 1] [--estimates 20] [--ais-runs 100] [--ais-betas 14500] [--curve-betas 1000] [--limit N] [--seed 1 | --seeds 1-4 [--grid-step auto|fused|one-by-one]] [--out DIR [--overwrite]] [--accelerator KIND] [--json]",
        [
            OptionSpec.File("data", "DIR", "IDX folder; default: /usr/share/datasets/fashion-mnist, else the embedded subset"),
            OptionSpec.Int("hidden", "H", $"hidden units (default 500); up to {ExactGradientLimit} adds the exact-gradient row and the gradient-quality columns (2^H hidden states per update: use --downscale 2), up to {ExactLikelihoodLimit} gives exact log-likelihoods instead of AIS", 500),
            OptionSpec.Int("epochs", "E", "epochs per method (default 5)", 5),
            OptionSpec.Double("budget-seconds", "S", "stop a method once its training time reaches S seconds (default: no limit)"),
            OptionSpec.Int("k", "K", "Gibbs steps of CD-k (default 10)", 10),
            OptionSpec.Int("gibbs-steps", "G", "burn-in of the long chain: fresh Bernoulli(1/2) chains run G sweeps before every update (default 100)", 100),
            OptionSpec.Double("momentum", "M", $"constant momentum of every method, in [0, 1) (default {DefaultMomentum}; no method gets a schedule the others do not)", DefaultMomentum),
            OptionSpec.Int("downscale", "F", "shrink the images by F in each direction (mean of F x F blocks, then binarized; 2 gives 14x14) so that the exact gradient is affordable (default 1)", 1),
            OptionSpec.Int("estimates", "R", "mini-batch gradient estimates per method for the gradient-quality columns (default 20; at least 2)", 20),
            OptionSpec.Int("ais-runs", "R", "AIS runs of the final estimates (default 100; unused when the log-likelihood is exact)", 100),
            OptionSpec.Int("ais-betas", "K", "AIS temperatures of the final estimates (default 14500, Salakhutdinov and Murray's schedule)", 14500),
            OptionSpec.Int("curve-betas", "K", "AIS temperatures of the per-epoch estimates on the curve (default 1000; 0 turns the curve off; with exact log-likelihoods any value > 0 keeps the exact curve)", 1000),
            OptionSpec.Double("lr", "R", "learning rate (default 0.05)", 0.05),
            OptionSpec.Int("batch", "B", "mini-batch size (default 100)", 100),
            OptionSpec.Int("limit", "N", "use the first N training and min(N, 10000) test images"),
            OptionSpec.Int("seed", "S", "seed of the initial model, the data order and every draw (default 1)", 1),
            new OptionSpec("seeds", "LIST", $"repeat every method with each seed, e.g. 1-4 or 1,3,7 (at most {ModelGrid.MaxModels}): a method's models train together as one grid (one set of launches on cuda and opencl), and the tables give the mean and the standard deviation over the seeds"),
            GridOption.Stepping,
            OptionSpec.File("out", "DIR", "where compare.md, compare.json and loglik_vs_time.png go", Path.Combine("out", "rbm-compare")),
            OptionSpec.Flag("overwrite", "replace a comparison already in the --out folder (default: refuse)"),
            CommandSpec.Accelerator,
        ],
        ["infogpu rbm compare --hidden 500 --epochs 5", "infogpu rbm compare --limit 2000 --hidden 16 --downscale 2 --epochs 3 --momentum 0.5 --json", "infogpu rbm compare --hidden 500 --epochs 5 --seeds 1-8"]);

    public int Run(CommandContext context)
    {
        var a = context.Args;
        int hidden = a.GetInt("hidden", 500), epochs = a.GetInt("epochs", 5), k = a.GetInt("k", 10), gibbs = a.GetInt("gibbs-steps", 100);
        int ais = a.GetInt("ais-runs", 100), betas = a.GetInt("ais-betas", 14_500), curveBetas = a.GetInt("curve-betas", 1000), batch = a.GetInt("batch", 100);
        int downscale = a.GetInt("downscale", 1), estimates = a.GetInt("estimates", 20);
        double budget = a.GetDouble("budget-seconds", double.PositiveInfinity), lr = a.GetDouble("lr", 0.05), momentum = a.GetDouble("momentum", DefaultMomentum);
        if (a.Has("seeds") && a.Has("seed"))
            throw new UsageException("give --seed or --seeds, not both");
        int[] seeds = a.Get("seeds") is string list ? [.. GridOption.ParseSeeds(list).Select(x => (int)x)] : [a.GetInt("seed", 1)];
        if (seeds.Length > ModelGrid.MaxModels)
            throw new UsageException($"--seeds lists {seeds.Length} seeds; at most {ModelGrid.MaxModels}");
        if (a.Has("grid-step") && !a.Has("seeds"))
            throw new UsageException("--grid-step applies to --seeds (a method's seeds train as one grid): leave it out of a comparison with one seed");
        var stepping = GridOption.ParseStepping(a, grid: true);
        int seed = seeds[0];
        if (hidden < 1 || epochs < 1 || k < 1 || gibbs < 1 || ais < 2 || betas < 3 || curveBetas < 0 || (curveBetas > 0 && curveBetas < 3) || batch < 1 || seed < 0 || !(budget > 0) || downscale < 1 || estimates < 2)
            throw new UsageException("--hidden, --epochs, --k, --gibbs-steps, --batch, --downscale must be >= 1, --estimates and --ais-runs >= 2, --ais-betas >= 3, --curve-betas 0 or >= 3, --budget-seconds > 0, --seed >= 0");
        if (!(momentum >= 0 && momentum < 1))
            throw new UsageException($"--momentum must be a number in [0, 1) (got {a.Raw("momentum")})");
        if (!(lr > 0) || !double.IsFinite(lr))
            throw new UsageException($"--lr must be a positive number (got {a.Raw("lr")})");
        string outDir = Path.GetFullPath(a.GetOrDefault("out")!);
        if (File.Exists(Path.Combine(outDir, "compare.json")) && !a.Has("overwrite"))
            throw new InfoGpuException($"{outDir} already holds a comparison (compare.json); give another --out or add --overwrite to replace it");
        var data = FashionMnist.Load(a.Get("data"), a.Has("limit") ? a.GetInt("limit", 0) : null);
        var train = data.Train.Downscaled(downscale).Binarized();
        var test = data.Test.Downscaled(downscale).Binarized();
        int nv = train.Pixels;
        bool exactGradient = hidden <= ExactGradientLimit;
        bool exactLikelihood = hidden <= ExactLikelihoodLimit;
        Directory.CreateDirectory(outDir);
        using var device = DeviceOption.Open(context);
        string seedWords = seeds.Length == 1 ? $"seed {seed}" : $"{seeds.Length} seeds ({a.Get("seeds")}), each method's models trained as one grid";
        context.Note($"{data.Description}; {train.Rows}x{train.Cols} images ({nv} visible) x {hidden} hidden; {epochs} epochs per method, momentum {momentum.ToString(CultureInfo.InvariantCulture)}, {seedWords} on {device.Info.Kind}");
        context.Note(exactLikelihood ? $"log-likelihoods exact (2^{hidden} hidden states enumerated)" : $"log-likelihoods by AIS ({ais} runs x {betas} temperatures)");

        var methods = new List<(string Name, RbmEstimator Estimator)>();
        if (exactGradient)
            methods.Add((RbmEstimator.Exact.Name, RbmEstimator.Exact));
        methods.Add((RbmEstimator.LongChain(gibbs).Name, RbmEstimator.LongChain(gibbs)));
        methods.Add(("CD-1", RbmEstimator.Cd(1)));
        methods.Add(($"CD-{k}", RbmEstimator.Cd(k)));
        methods.Add(("PCD-1", RbmEstimator.Pcd(1)));
        var baseBias = AnnealedImportanceSampling.BaseRateBiases(train.Images, train.Count, nv);
        var results = new List<MethodResult>();
        Rbm? exactModel = null;
        // One stage per method, and one for the gradient-quality columns when they are measured.
        using var bar = StagedBar.For(context, "compare", methods.Count + (exactGradient ? 1 : 0));
        // Training fills a method's stage, or its first 80 % when a final AIS follows.
        double trainingShare = exactLikelihood ? 1 : 0.8;
        for (int m = 0; m < methods.Count; m++)
        {
            var (name, estimator) = methods[m];
            bar?.Begin(m, name);
            var options = new RbmTrainerOptions
            {
                Sampler = estimator.Kind is RbmEstimatorKind.Pcd or RbmEstimatorKind.LongChain ? RbmSamplerKind.Pcd : RbmSamplerKind.Cd,
                RestartChains = estimator.Kind == RbmEstimatorKind.LongChain,
                K = Math.Max(1, estimator.Steps),
                LearningRate = lr,
                BatchSize = batch,
                Epochs = epochs,
                Seed = (ulong)seed,
                InitialMomentum = momentum,
                FinalMomentum = momentum,
            };
            var runs = seeds.Select(sd => new SeedRun(sd, Rbm.Initialize(nv, hidden, (ulong)sd, train.PixelMeans()))).ToArray();
            void EpochDone(SeedRun run, int e, double seconds, double recon, double pseudo)
            {
                run.Trained += seconds;
                run.EpochSeconds.Add(seconds);
                run.Reconstruction = recon;
                run.PseudoLogLikelihood = pseudo;
                string point = "";
                if (curveBetas > 0)
                {
                    double ll = exactLikelihood
                        ? RbmGradientStudy.ExactLogLikelihood(device, run.Rbm, test.Images)
                        : TestLogLikelihood(device, run.Rbm, test, AnnealedImportanceSampling.EstimateLogPartition(device, run.Rbm.Weights, run.Rbm.VisibleBias, run.Rbm.HiddenBias, baseBias, new AisOptions(Math.Min(ais, 50), curveBetas, (ulong)run.Seed)).LogZ);
                    run.Curve.Add((run.Trained, ll));
                    point = exactLikelihood ? FormattableString.Invariant($", exact test log-likelihood {ll:F2}") : FormattableString.Invariant($", AIS ({curveBetas} betas) test log-likelihood {ll:F2}");
                }
                string who = seeds.Length == 1 ? name : $"{name} seed {run.Seed}";
                context.Note(FormattableString.Invariant($"{who,-10} epoch {e}: {seconds:F2} s, reconstruction error {recon:F3}, PLL {pseudo:F3}{point}"));
            }
            if (estimator.Kind == RbmEstimatorKind.Exact)
            {
                // The exact gradient has no sampler to share launches: its seeds run one after another.
                for (int r = 0; r < runs.Length; r++)
                {
                    var run = runs[r];
                    var studyOptions = new RbmGradientStudyOptions { BatchSize = batch, LearningRate = lr, Momentum = momentum, WeightDecay = options.WeightDecay, Seed = (ulong)run.Seed };
                    using var trainer = new RbmGradientTrainer(device, run.Rbm, train.Images, estimator, studyOptions);
                    using var evaluator = new RbmEvaluator(device, nv, hidden, Math.Min(1000, Math.Max(1, test.Count)));
                    var flips = new NumpyLegacyRandom((uint)run.Seed).RandInt(0, nv, test.Count);
                    var progress = bar?.Training(trainingShare * r / runs.Length, trainingShare * (r + 1) / runs.Length);
                    for (int e = 1; e <= epochs && run.Trained < budget; e++)
                    {
                        double before = trainer.Seconds;
                        for (int step = 0; step < trainer.StepsPerEpoch; step++)
                        {
                            trainer.Update();
                            progress?.Report(new TrainingProgress(e, epochs, step + 1, trainer.StepsPerEpoch, (long)(e - 1) * trainer.StepsPerEpoch + step + 1, trainer.Seconds));
                        }
                        var scores = evaluator.Evaluate(run.Rbm, test.Images, flips);
                        EpochDone(run, e, trainer.Seconds - before, scores.ReconstructionError, scores.PseudoLogLikelihood);
                    }
                }
                exactModel = runs[0].Rbm;
            }
            else
            {
                // The seeds of a sampler train as one grid: on cuda and opencl one set of launches
                // steps them all (their seconds are each model's share of the grid's time).
                var trainers = new List<RbmTrainer>(runs.Length);
                try
                {
                    foreach (var run in runs)
                        trainers.Add(new RbmTrainer(device, run.Rbm, train.Images, test.Images, options with { Seed = (ulong)run.Seed }));
                    using var overBudget = new CancellationTokenSource();
                    var sessions = trainers.Select((t, i) => new TrainingSession<RbmEpochMetrics>(t, new TrainingSessionOptions { Progress = i == 0 ? bar?.Training(0, trainingShare) : null })).ToList();
                    using var grid = new ModelGrid<RbmEpochMetrics>(sessions, [.. runs.Select(r => $"seed {r.Seed}")], seeds.Length == 1 ? GridStepping.OneByOne : stepping);
                    if (seeds.Length > 1)
                        context.Note(grid.Fused ? $"{name}: {seeds.Length} models in one set of launches per step" : $"{name}: {seeds.Length} models one after another ({grid.NotFusedReason})");
                    grid.EpochCompleted += (i, x) =>
                    {
                        EpochDone(runs[i], x.Epoch, x.Seconds, x.ReconstructionError, x.PseudoLogLikelihood);
                        if (i == runs.Length - 1 && runs.Average(r => r.Trained) >= budget)
                            overBudget.Cancel();
                    };
                    grid.Run(overBudget.Token);
                }
                finally
                {
                    foreach (var t in trainers)
                        t.Dispose();
                }
            }
            for (int r = 0; r < runs.Length; r++)
            {
                var run = runs[r];
                if (exactLikelihood)
                {
                    run.LogZ = RbmExactLikelihood.LogPartitionByHidden(device, run.Rbm.Weights, run.Rbm.VisibleBias, run.Rbm.HiddenBias);
                }
                else
                {
                    string who = seeds.Length == 1 ? name : $"{name} seed {run.Seed}";
                    context.Note($"{who}: final AIS ({ais} runs x {betas} betas) ...");
                    var result = AnnealedImportanceSampling.EstimateLogPartition(device, run.Rbm.Weights, run.Rbm.VisibleBias, run.Rbm.HiddenBias, baseBias, new AisOptions(ais, betas, (ulong)run.Seed), bar?.Fraction("final AIS", trainingShare + ((1 - trainingShare) * r / runs.Length), trainingShare + ((1 - trainingShare) * (r + 1) / runs.Length)));
                    run.LogZ = result.LogZ;
                    run.LogZStdErr = result.LogZStdErr;
                }
                run.TestLogLikelihood = TestLogLikelihood(device, run.Rbm, test, run.LogZ);
            }
            results.Add(MethodResult.Of(name, estimator, runs));
        }

        IReadOnlyList<RbmGradientQuality>? quality = null;
        if (exactModel is not null)
        {
            context.Note($"gradient quality at the exact-gradient model's final parameters: {estimates} mini-batch estimates per method ...");
            var studyOptions = new RbmGradientStudyOptions { BatchSize = batch, Estimates = estimates, PersistentWarmup = gibbs, Seed = (ulong)seed };
            bar?.Begin(methods.Count, "gradient quality");
            quality = RbmGradientStudy.MeasureQuality(device, exactModel, train.Images, methods.Select(m => m.Estimator).ToList(), studyOptions, bar?.Study("estimate"));
        }

        bar?.Dispose();
        var settings = new Settings(data.Description, train.Rows, train.Cols, nv, hidden, momentum, gibbs, estimates, ais, betas, curveBetas, exactLikelihood, device.Info.Kind, seeds);
        string md = Markdown(results, quality, settings);
        Plots.SaveAtomically(Path.Combine(outDir, "compare.md"), tmp => File.WriteAllText(tmp, md));
        if (curveBetas > 0)
        {
            var series = results.Where(r => r.Curve.Count > 0).Select(r => (r.Name, r.Curve.Select(p => p.Seconds).ToArray(), r.Curve.Select(p => p.LogLikelihood).ToArray())).ToArray();
            Plots.Lines(Path.Combine(outDir, "loglik_vs_time.png"), exactLikelihood ? "Exact test log-likelihood against training time" : "AIS test log-likelihood against training time", "training seconds", "mean log p(v) (nats)", series);
        }
        var json = ToJson(results, quality, settings, outDir);
        Plots.SaveAtomically(Path.Combine(outDir, "compare.json"), tmp => File.WriteAllText(tmp, json.ToJsonString()));
        if (a.Json)
            Json.Write(context.Out, json);
        else
            context.Out.Write(md);
        return 0;
    }

    private static double TestLogLikelihood(InfoGpu.Devices.ComputeDevice device, Rbm rbm, ImageSet test, double logZ) =>
        AnnealedImportanceSampling.NegativeFreeEnergies(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias, test.Images, test.Count).Average() - logZ;

    private static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[(s.Length / 2) - 1] + s[s.Length / 2]);
    }

    /// <summary>What the chapter's table says of each way to get the gradient.</summary>
    internal static string ChapterWords(RbmEstimatorKind kind) => kind switch
    {
        RbmEstimatorKind.Exact => "exact: no sampling error, intractable beyond small models (2^H hidden states)",
        RbmEstimatorKind.LongChain => "Gibbs sampling: unbiased at equilibrium, slow (a long burn-in per update)",
        RbmEstimatorKind.Cd => "CD-k: biased, low variance, cheap",
        _ => "PCD: high accuracy with small learning rates",
    };

    private static string Markdown(List<MethodResult> results, IReadOnlyList<RbmGradientQuality>? quality, Settings s)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# RBM gradient estimators compared ({s.Visible} x {s.Hidden}, {s.Device})");
        sb.AppendLine();
        string ll = s.Exact
            ? $"log Z exact (the 2^{s.Hidden} hidden states enumerated; +- is 0)"
            : $"log Z by AIS ({s.AisRuns} runs x {s.AisBetas} temperatures; +- is the standard error of log Z)";
        sb.AppendLine(CultureInfo.InvariantCulture, $"Data: {s.Data}, {s.Rows}x{s.Cols} binarized images. Same initial model, data order, seed and constant momentum {s.Momentum} for every method. The long chain restarts {s.BurnIn}-sweep chains from Bernoulli(1/2) before every update. Test log-likelihood = mean -F(v) over the test images - log Z, {ll}.");
        bool several = s.Seeds.Length > 1;
        if (several)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Every method ran once per seed ({string.Join(", ", s.Seeds)}): each figure is the mean over the {s.Seeds.Length} seeds, the test log-likelihood's +- its standard deviation over them; the seeds' own figures follow the table. A sampler's seeds trained together as one grid, so its seconds are each model's share of the grid's time.");
        }
        sb.AppendLine();
        sb.AppendLine(several
            ? "| method | epochs | s / epoch | training s | test log-likelihood (nats, mean +- sd) | log Z +- se | pseudo-log-likelihood | reconstruction error |"
            : "| method | epochs | s / epoch | training s | test log-likelihood (nats) | log Z +- se | pseudo-log-likelihood | reconstruction error |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            string testLl = several ? FormattableString.Invariant($"{r.TestLogLikelihood:F2} +- {r.TestLogLikelihoodSd:F2}") : FormattableString.Invariant($"{r.TestLogLikelihood:F2}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Epochs} | {r.SecondsPerEpoch:F2} | {r.TrainingSeconds:F1} | {testLl} | {r.LogZ:F2} +- {r.LogZStdErr:F2} | {r.PseudoLogLikelihood:F2} | {r.ReconstructionError:F2} |");
        }
        if (several)
        {
            sb.AppendLine();
            sb.AppendLine("| method | seed | epochs | training s | test log-likelihood (nats) | log Z +- se |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var r in results)
            {
                foreach (var run in r.Runs)
                    sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {run.Seed} | {run.EpochSeconds.Count} | {run.Trained:F1} | {run.TestLogLikelihood:F2} | {run.LogZ:F2} +- {run.LogZStdErr:F2} |");
            }
        }
        if (quality is not null)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Gradient quality at the same parameters (the exact-gradient model after training{(several ? $", seed {s.Seeds[0]}" : "")}): {s.Estimates} mini-batch estimates g_r per method, each against the exact gradient g*_r of the same mini-batch (its data term, the model term enumerated), so that only the estimator's own error counts. Cosine and relative error ||g_r - g*_r|| / ||g*_r|| are means over r; bias = ||mean_r (g_r - g*_r)|| / mean ||g*_r|| (bias plus noise / sqrt({s.Estimates})); variance = mean ||g_r - mean g||^2 over the mini-batches (the data's mini-batch noise included: the exact row is that part alone); sampler variance = the same for the errors g_r - g*_r; s / update = seconds per estimate on this device. PCD's chains first run {s.BurnIn} sweeps at these parameters.");
            sb.AppendLine();
            sb.AppendLine("| method | the chapter says | gradient cosine (angle) | relative error | bias (relative) | variance | sampler variance | s / update | final test log-likelihood |");
            sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in results)
            {
                var q = quality.First(x => x.Estimator == r.Estimator.Name);
                double angle = Math.Acos(Math.Clamp(q.Cosine, -1, 1)) * 180 / Math.PI;
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {ChapterWords(r.Estimator.Kind)} | {q.Cosine:F4} ({angle:F1} deg) | {q.RelativeError:F3} | {q.RelativeBias:F3} | {q.Variance:G3} | {q.SamplerVariance:G3} | {q.SecondsPerUpdate:G3} | {r.TestLogLikelihood:F2} |");
            }
        }
        return sb.ToString();
    }

    private static JsonObject ToJson(List<MethodResult> results, IReadOnlyList<RbmGradientQuality>? quality, Settings s, string outDir)
    {
        var methods = new JsonArray();
        foreach (var r in results)
        {
            var curve = new JsonArray();
            foreach (var (sec, ll) in r.Curve)
                curve.Add(new JsonObject { ["seconds"] = Json.Number(sec), ["test_log_likelihood"] = Json.Number(ll) });
            var q = quality?.First(x => x.Estimator == r.Estimator.Name);
            methods.Add(new JsonObject
            {
                ["method"] = r.Name,
                ["chapter"] = ChapterWords(r.Estimator.Kind),
                ["epochs"] = r.Epochs,
                ["seconds_per_epoch"] = Json.Number(r.SecondsPerEpoch),
                ["training_seconds"] = Json.Number(r.TrainingSeconds),
                ["test_log_likelihood"] = Json.Number(r.TestLogLikelihood),
                ["test_log_likelihood_sd"] = Json.Number(r.TestLogLikelihoodSd),
                ["final_log_likelihood"] = Json.Number(r.TestLogLikelihood),
                ["log_z"] = Json.Number(r.LogZ),
                ["log_z_stderr"] = Json.Number(r.LogZStdErr),
                ["pseudo_log_likelihood"] = Json.Number(r.PseudoLogLikelihood),
                ["reconstruction_error"] = Json.Number(r.ReconstructionError),
                ["gibbs_sweeps"] = r.Estimator.Steps,
                ["gradient_cosine"] = q is null ? null : Json.Number(q.Cosine),
                ["gradient_angle_degrees"] = q is null ? null : Json.Number(Math.Acos(Math.Clamp(q.Cosine, -1, 1)) * 180 / Math.PI),
                ["relative_error"] = q is null ? null : Json.Number(q.RelativeError),
                ["bias"] = q is null ? null : Json.Number(q.Bias),
                ["relative_bias"] = q is null ? null : Json.Number(q.RelativeBias),
                ["variance"] = q is null ? null : Json.Number(q.Variance),
                ["sampler_variance"] = q is null ? null : Json.Number(q.SamplerVariance),
                ["seconds_per_update"] = q is null ? null : Json.Number(q.SecondsPerUpdate),
                ["curve"] = curve,
                ["by_seed"] = BySeed(r.Runs),
            });
        }
        return new JsonObject
        {
            ["data"] = s.Data,
            ["image_rows"] = s.Rows,
            ["image_cols"] = s.Cols,
            ["visible"] = s.Visible,
            ["hidden"] = s.Hidden,
            ["momentum"] = Json.Number(s.Momentum),
            ["burn_in"] = s.BurnIn,
            ["log_likelihood"] = s.Exact ? "exact" : "ais",
            ["gradient_estimates"] = quality is null ? null : s.Estimates,
            ["gradient_parameters"] = quality is null ? null : "the exact-gradient model after training",
            ["ais_runs"] = s.AisRuns,
            ["ais_betas"] = s.AisBetas,
            ["curve_betas"] = s.CurveBetas,
            ["seeds"] = new JsonArray([.. s.Seeds.Select(x => (JsonNode)x)]),
            ["methods"] = methods,
            ["markdown"] = Path.Combine(outDir, "compare.md"),
            ["plot"] = s.CurveBetas > 0 ? Path.Combine(outDir, "loglik_vs_time.png") : null,
        };
    }

    private static JsonArray BySeed(IReadOnlyList<SeedRun> runs)
    {
        var list = new JsonArray();
        foreach (var run in runs)
        {
            list.Add(new JsonObject
            {
                ["seed"] = run.Seed,
                ["epochs"] = run.EpochSeconds.Count,
                ["training_seconds"] = Json.Number(run.Trained),
                ["seconds_per_epoch"] = Json.Number(Median(run.EpochSeconds)),
                ["test_log_likelihood"] = Json.Number(run.TestLogLikelihood),
                ["log_z"] = Json.Number(run.LogZ),
                ["log_z_stderr"] = Json.Number(run.LogZStdErr),
                ["pseudo_log_likelihood"] = Json.Number(run.PseudoLogLikelihood),
                ["reconstruction_error"] = Json.Number(run.Reconstruction),
            });
        }
        return list;
    }

    private sealed record Settings(string Data, int Rows, int Cols, int Visible, int Hidden, double Momentum, int BurnIn, int Estimates, int AisRuns, int AisBetas, int CurveBetas, bool Exact, string Device, int[] Seeds);

    /// <summary>One seed's model of a method and what was measured of it.</summary>
    private sealed class SeedRun(int seed, Rbm rbm)
    {
        public int Seed { get; } = seed;

        public Rbm Rbm { get; } = rbm;

        public List<double> EpochSeconds { get; } = [];

        public List<(double Seconds, double LogLikelihood)> Curve { get; } = [];

        public double Trained { get; set; }

        public double Reconstruction { get; set; } = double.NaN;

        public double PseudoLogLikelihood { get; set; } = double.NaN;

        public double LogZ { get; set; }

        public double LogZStdErr { get; set; }

        public double TestLogLikelihood { get; set; }
    }

    /// <summary>
    /// A method's row: with one seed that seed's figures; with several, their means (the seconds
    /// per epoch the mean of each seed's median; the curve the mean of each epoch's points), the
    /// test log-likelihood's standard deviation over the seeds, and every seed's own figures.
    /// </summary>
    private sealed record MethodResult(string Name, RbmEstimator Estimator, int Epochs, double TrainingSeconds, double SecondsPerEpoch, double TestLogLikelihood, double TestLogLikelihoodSd, double LogZ, double LogZStdErr, double PseudoLogLikelihood, double ReconstructionError, List<(double Seconds, double LogLikelihood)> Curve, IReadOnlyList<SeedRun> Runs)
    {
        public static MethodResult Of(string name, RbmEstimator estimator, IReadOnlyList<SeedRun> runs)
        {
            double Mean(Func<SeedRun, double> f) => runs.Average(f);
            int points = runs.Min(r => r.Curve.Count);
            var curve = Enumerable.Range(0, points).Select(i => (runs.Average(r => r.Curve[i].Seconds), runs.Average(r => r.Curve[i].LogLikelihood))).ToList();
            double ll = Mean(r => r.TestLogLikelihood);
            // The sample standard deviation over the seeds (0 for one seed).
            double sd = runs.Count < 2 ? 0 : Math.Sqrt(runs.Sum(r => (r.TestLogLikelihood - ll) * (r.TestLogLikelihood - ll)) / (runs.Count - 1));
            return new MethodResult(
                name,
                estimator,
                runs.Min(r => r.EpochSeconds.Count),
                Mean(r => r.Trained),
                Mean(r => Median(r.EpochSeconds)),
                runs.Count == 1 ? runs[0].TestLogLikelihood : ll,
                sd,
                Mean(r => r.LogZ),
                Mean(r => r.LogZStdErr),
                Mean(r => r.PseudoLogLikelihood),
                Mean(r => r.Reconstruction),
                curve,
                runs);
        }
    }
}
