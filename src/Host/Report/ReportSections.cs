using System.Text.Json.Nodes;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Measures;
using InfoGpu.Host.Commands;

namespace InfoGpu.Host.Report;

/// <summary>The report's sections, in order.</summary>
internal static partial class ReportSections
{
    public delegate void Section(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report);

    public static IReadOnlyList<(string Name, Section Run)> All { get; } =
    [
        ("information measures", Measures),
        ("general Boltzmann machine", GeneralBoltzmann),
        ("variational autoencoder", Vae),
        ("information bottleneck", Bottleneck),
        ("mutual information", MutualInformation),
        ("restricted Boltzmann machines", RbmWithDataNote),
        ("RBM gradient estimators", RbmGradients),
    ];

    /// <summary>The RBM section (RbmSection.cs), then one sentence on the visible data it uses and the alternatives.</summary>
    private static void RbmWithDataNote(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        Rbm(device, settings, report);
        report.Sections.FirstOrDefault(x => x.Id == "rbm")?.Paragraphs.Add(
            "The images here are binarized at 0.5 (the console's default, --binarize threshold); 'infogpu rbm train --binarize stochastic' draws each pixel once as Bernoulli(intensity), and '--binarize none' trains on the grey levels themselves, as scikit-learn's BernoulliRBM does.");
    }

    private static void GeneralBoltzmann(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        const int size = 3, hidden = 4;
        int epochs = settings.Quick ? 150 : 800;
        var data = InfoGpu.Boltzmann.BarsAndStripes.Generate(size);
        var machine = new InfoGpu.Boltzmann.BoltzmannMachine(size * size, hidden);
        machine.InitializeRandom(1, 0.01);
        var options = new InfoGpu.Boltzmann.BoltzmannTrainingOptions { LearningRate = 0.2, BurnIn = 10, Samples = 10, PositiveChains = 4, NegativeChains = 200, Persistent = true, Seed = 1, Epochs = epochs };
        IReadOnlyList<InfoGpu.Boltzmann.BoltzmannEpochMetrics> history;
        using (var trainer = new InfoGpu.Boltzmann.BoltzmannTrainer(device, machine, data, options))
        {
            var session = new InfoGpu.Training.TrainingSession<InfoGpu.Boltzmann.BoltzmannEpochMetrics>(trainer, new InfoGpu.Training.TrainingSessionOptions { Progress = settings.Bar?.Training() });
            session.Run();
            history = session.History;
        }
        double seconds = history.Sum(r => r.Seconds);
        var xs = history.Select(r => (double)r.Epoch).ToList();
        var ll = history.Select(r => r.ExactLogLikelihood ?? double.NaN).ToList();
        int patterns = data.Length / (size * size);
        var s = report.Add("boltzmann", "The general Boltzmann machine on bars-and-stripes");
        s.Paragraphs.Add(FormattableString.Invariant($"A fully connected Boltzmann machine ({size * size} visible, {hidden} hidden units, hidden-hidden links) learns the {patterns} bars-and-stripes patterns of {size}x{size} pixels: positive phase with the visible units clamped, negative phase from {options.NegativeChains} persistent chains, single-site Gibbs sampling. The log-likelihood is exact (all 2^{machine.Units} states enumerated); the best possible is -ln {patterns} = {-Math.Log(patterns):F3} nats."));
        s.Tables.Add(new ReportTable("Training", ["updates", "seconds", "exact log-likelihood (nats)", "best possible"], [[epochs, seconds, ll[^1], -Math.Log(patterns)]]));
        Plots.Lines(Path.Combine(settings.Directory, "boltzmann_loglik.png"), "General Boltzmann machine: exact log-likelihood", "update", "log p(v) (nats per pattern)", ("exact log-likelihood", xs.ToArray(), ll.ToArray()));
        s.Figures.Add(new ReportFigure("boltzmann_loglik.png", "Exact log-likelihood of the bars-and-stripes patterns during learning"));
        s.Json["epochs"] = epochs;
        s.Json["exact_log_likelihood"] = Json.Number(ll[^1]);
        s.Json["best_possible_log_likelihood"] = Json.Number(-Math.Log(patterns));
        s.Json["seconds"] = Json.Number(seconds);

        // The gradient at the final parameters: the exact one (hidden units of the data phase
        // marginalised, the model phase enumerated) against long Gibbs chains of two sizes.
        var (dataPairs, dataMeans) = InfoGpu.Boltzmann.BoltzmannExact.DataStatistics(machine, data);
        var (exactPairs, exactMeans) = InfoGpu.Boltzmann.BoltzmannExact.ModelStatistics(machine);
        var exactGradient = GradientVector(machine.Units, dataPairs, dataMeans, exactPairs, exactMeans);
        var checks = new ReportTable("The gradient at the final parameters: long Gibbs chains against the exact gradient", ["chains", "burn-in sweeps", "cosine", "relative error"], []);
        var checkJson = new JsonArray();
        foreach (var (chains, burnIn) in new[] { (options.NegativeChains, options.BurnIn), (5000, 100) })
        {
            var states = InfoGpu.Boltzmann.BoltzmannTrainer.Sample(device, machine, chains, burnIn, 2);
            int n = machine.Units;
            var pairs = new double[n * n];
            var means = new double[n];
            for (int c = 0; c < chains; c++)
            {
                for (int i = 0; i < n; i++)
                {
                    if (states[c * n + i] == 0)
                        continue;
                    means[i] += 1.0 / chains;
                    for (int j = 0; j < n; j++)
                        pairs[i * n + j] += states[c * n + j] / (double)chains;
                }
            }
            var estimate = GradientVector(n, dataPairs, dataMeans, pairs, means);
            double dot = 0, ee = 0, xx = 0, diff = 0;
            for (int k = 0; k < estimate.Length; k++)
            {
                dot += estimate[k] * exactGradient[k];
                ee += estimate[k] * estimate[k];
                xx += exactGradient[k] * exactGradient[k];
                diff += (estimate[k] - exactGradient[k]) * (estimate[k] - exactGradient[k]);
            }
            double cosine = dot / Math.Sqrt(ee * xx), relative = Math.Sqrt(diff / xx);
            checks.Rows.Add([chains, burnIn, cosine, relative]);
            checkJson.Add(new JsonObject { ["chains"] = chains, ["burn_in"] = burnIn, ["gradient_cosine"] = Json.Number(cosine), ["relative_error"] = Json.Number(relative) });
        }
        s.Paragraphs.Add("At the final parameters the exact log-likelihood gradient (E_data[s s^T] - E_model[s s^T], the data phase's hidden units marginalised and the model phase enumerated) is compared with the estimate whose model phase comes from independent Gibbs chains started at random: the training's own negative-phase size, and a longer, larger run.");
        s.Tables.Add(checks);
        s.Json["gradient_checks"] = checkJson;
        GibbsMixing(device, settings, s, machine);
    }

    /// <summary>Burn-in and mixing of the learned machine's Gibbs sampler: TV against sweeps with the exact-sampler floor, tau and ESS.</summary>
    private static void GibbsMixing(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportSection s, InfoGpu.Boltzmann.BoltzmannMachine machine)
    {
        var o = new InfoGpu.Boltzmann.GibbsDiagnosticsOptions
        {
            Chains = settings.Quick ? 1000 : 4000,
            Sweeps = settings.Quick ? 100 : 300,
            BurnIn = settings.Quick ? 30 : 100,
            MaxLag = 20,
            Seed = 1,
        };
        var d = InfoGpu.Boltzmann.GibbsDiagnostics.Run(device, machine, o);
        var e = d.Energy;
        var sweeps = Enumerable.Range(0, d.Sweeps + 1).Select(k => (double)k).ToArray();
        s.Paragraphs.Add(FormattableString.Invariant(
            $"Burn-in and mixing of the learned machine's sampler: {d.Chains} independent chains from random states, single-site Gibbs sampling (a sweep is {machine.Units} updates at random sites). The total-variation distance between the chains' visible states after each sweep and the exact p(v) (hidden units summed out) falls to the floor that {d.Chains} exact samples from p(v) show ({d.TotalVariationFloor:F3}, the mean of {o.FloorRepetitions} draws): from there on, burn-in is complete and the remaining distance is sampling noise. After {d.BurnIn} sweeps the energy's integrated autocorrelation time is {e.Tau:F2} sweeps (Sokal's window, c = 5{(e.WindowReached ? "" : ", not reached: a lower estimate")}), so the {e.Samples} energies are worth {e.EffectiveSampleSize:F0} independent ones. The console gives the same with 'infogpu bm sample --diagnostics'."));
        s.Tables.Add(new ReportTable("Gibbs mixing of the learned machine", ["chains", "sweeps", "TV after 1 sweep", "TV after the last", "exact-sampler floor", "autocorrelation time (sweeps)", "effective sample size"],
            [[d.Chains, d.Sweeps, d.TotalVariationBySweep[1], d.TotalVariationBySweep[^1], d.TotalVariationFloor, e.Tau, e.EffectiveSampleSize]]));
        Plots.Lines(Path.Combine(settings.Directory, "boltzmann_tv.png"), "General Boltzmann machine: Gibbs burn-in", "sweeps", "total variation from the exact p(v)",
            ("Gibbs chains", sweeps, d.TotalVariationBySweep),
            ("exact-sampler floor", [0, d.Sweeps], [d.TotalVariationFloor, d.TotalVariationFloor]));
        s.Figures.Add(new ReportFigure("boltzmann_tv.png", FormattableString.Invariant($"Total-variation distance of {d.Chains} Gibbs chains from the exact distribution of the visible units against sweeps; the flat line is what {d.Chains} exact samples show")));
        s.Json["gibbs_diagnostics"] = BmCommands.DiagnosticsJson(d);
    }

    /// <summary>The gradient as one vector: the upper-triangle weights (i &lt; j), then the biases.</summary>
    private static double[] GradientVector(int n, double[] dataPairs, double[] dataMeans, double[] modelPairs, double[] modelMeans)
    {
        var g = new List<double>();
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
                g.Add(dataPairs[i * n + j] - modelPairs[i * n + j]);
        }
        for (int i = 0; i < n; i++)
            g.Add(dataMeans[i] - modelMeans[i]);
        return g.ToArray();
    }

    private static void Measures(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        var s = report.Add("measures", "Information measures: the chapter's worked examples");
        s.Paragraphs.Add("Each example computed on the device in float32 and on the host in float64.");
        var m = new InformationMeasures(device);
        var single = ChapterExamples.Compute(m, Precision.Single);
        var exact = ChapterExamples.Compute(null, Precision.Double);
        var table = new ReportTable("Worked examples", ["example", "float32 (device)", "float64 (host)", "relative difference"], []);
        var json = new JsonObject();
        for (int i = 0; i < exact.Count; i++)
        {
            double e = exact[i].Value, f = single[i].Value;
            table.Rows.Add([exact[i].Key, f, e, e == 0 ? Math.Abs(f) : Math.Abs(f - e) / Math.Abs(e)]);
            json[exact[i].Key] = Json.Number(e);
        }
        s.Tables.Add(table);
        s.Json["examples"] = json;
        ExamplesCommand.WritePlots(m, settings.Directory, settings.Context);
        s.Figures.Add(new ReportFigure("binary_entropy.png", "Binary entropy H(p) in bits: maximal at p = 0.5"));
        s.Figures.Add(new ReportFigure("confidence_loss.png", "Cross-entropy of a correct prediction against its confidence"));
        ConditionalEntropyParagraph(s);
        LabelSmoothingParagraph(s, settings.Directory);
    }

    /// <summary>The chapter's conditional entropies, computed directly, next to what its listing prints.</summary>
    private static void ConditionalEntropyParagraph(ReportSection s)
    {
        var j = InformationMeasures64.Joint(ChapterExamples.JointTable, 2, 2, LogBase.Bits);
        var listing = ChapterExamples.ListingConditionalEntropies();
        s.Paragraphs.Add(FormattableString.Invariant(
            $"Mutual information and conditional entropies in float64 are computed directly, not as differences of entropies: I(X;Y) as the sum of p(x,y) log(p(x,y) / (p(x) p(y))) in non-negative terms (never negative, exactly 0 for an independent table, about 1e-15 relative also when X and Y are nearly independent), H(X|Y) as the sum over y of p(y) H(X|Y=y); 'infogpu measure joint' and 'measure mi' use this path by default, and the float32 device path above (differences of float32 entropies, error up to 2^-22 (H(X) + H(Y) + H(X,Y) + 1)) serves batches. For the chapter's joint table H(X|Y) = {j.HXGivenY:F4} and H(Y|X) = {j.HYGivenX:F4} bits, and the chain rule H(X,Y) = H(Y) + H(X|Y) holds to {Math.Abs(j.HXY - j.HY - j.HXGivenY):G2} bits; the chapter's own conditional-entropy listing sums over the wrong axis (it normalizes and weights each column by the other variable's marginal) and prints {listing.HXGivenY:F4} and {listing.HYGivenX:F4}, which miss the chain rule by {listing.GapXGivenY:F4} and {listing.GapYGivenX:F4} bits."));
        s.Json["conditional_entropy"] = new JsonObject
        {
            ["H_X_given_Y_bits"] = Json.Number(j.HXGivenY),
            ["H_Y_given_X_bits"] = Json.Number(j.HYGivenX),
            ["chain_rule_gap_bits"] = Json.Number(j.HXY - j.HY - j.HXGivenY),
            ["listing_H_X_given_Y_bits"] = Json.Number(listing.HXGivenY),
            ["listing_H_Y_given_X_bits"] = Json.Number(listing.HYGivenX),
            ["listing_chain_rule_gap_X_given_Y_bits"] = Json.Number(listing.GapXGivenY),
            ["listing_chain_rule_gap_Y_given_X_bits"] = Json.Number(listing.GapYGivenX),
        };
    }

    /// <summary>The chapter's exercise 5: loss against confidence with and without label smoothing.</summary>
    private static void LabelSmoothingParagraph(ReportSection s, string directory)
    {
        const int classes = 3;
        const double epsilon = 0.1;
        var c = ChapterExamples.LabelSmoothingCurve(classes, epsilon);
        s.Paragraphs.Add(FormattableString.Invariant(
            $"Label smoothing (the chapter's exercise 5): logits that give probability p to the true class and (1 - p)/{classes - 1} to each of the other {classes - 1} classes. Without smoothing the cross-entropy -ln p keeps falling as p -> 1, so training pushes the confidence to 1. With smoothing E = {epsilon} the target itself is spread, and the loss has its minimum below p = 1, at the smoothed target's own probability: p = 1 - E + E/K = {c.TorchOptimum:F4} with PyTorch's convention ((1 - E) one-hot + E/K; grid minimum {c.TorchMinimum:F4}) and p = 1 - E = {c.TextbookOptimum:F4} with the textbook's (1 - E on the target, E/(K - 1) on the others; grid minimum {c.TextbookMinimum:F4}); beyond it more confidence costs loss. 'infogpu measure loss --label-smoothing E --smoothing-convention torch|textbook' computes these losses for any logits."));
        Plots.Lines(Path.Combine(directory, "label_smoothing.png"), $"Loss against confidence, K = {classes}", "confidence p in the true class", "loss (nats)",
            ("no smoothing: -ln p", c.Confidence, c.Plain),
            (FormattableString.Invariant($"E = {epsilon}, torch"), c.Confidence, c.Torch),
            (FormattableString.Invariant($"E = {epsilon}, textbook"), c.Confidence, c.Textbook));
        s.Figures.Add(new ReportFigure("label_smoothing.png", FormattableString.Invariant($"Cross-entropy of a correct prediction against its confidence, without and with label smoothing E = {epsilon} (K = {classes}): the smoothed losses are smallest at p = {c.TorchOptimum:F3} (torch) and {c.TextbookOptimum:F3} (textbook), not at p = 1")));
        s.Json["label_smoothing"] = new JsonObject
        {
            ["classes"] = classes,
            ["epsilon"] = Json.Number(epsilon),
            ["torch_optimum_confidence"] = Json.Number(c.TorchOptimum),
            ["torch_grid_minimum_confidence"] = Json.Number(c.TorchMinimum),
            ["textbook_optimum_confidence"] = Json.Number(c.TextbookOptimum),
            ["textbook_grid_minimum_confidence"] = Json.Number(c.TextbookMinimum),
        };
    }
}
