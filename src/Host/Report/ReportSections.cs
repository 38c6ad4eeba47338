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
        ("restricted Boltzmann machines", Rbm),
    ];

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
            var session = new InfoGpu.Training.TrainingSession<InfoGpu.Boltzmann.BoltzmannEpochMetrics>(trainer, new InfoGpu.Training.TrainingSessionOptions());
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
    }
}
