using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Evaluation;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Output;
using InfoGpu.Restricted;
using InfoGpu.Training;

namespace InfoGpu.Host.Report;

internal static partial class ReportSections
{
    /// <summary>CD-1, CD-k and PCD-1 on the first images of the report's data, small enough for the exact log-likelihood.</summary>
    private static void Rbm(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        const int hidden = 16;
        int epochs = settings.Quick ? 3 : 5, trainRows = settings.Quick ? 2000 : 5000, testRows = settings.Quick ? 300 : 1000, cdK = settings.Quick ? 5 : 10;
        // 16 hidden units keep log Z exact; the first images are enough for them (60,000 would only make it slower).
        var ds = settings.Images;
        var train = ds.Train.Take(trainRows).Binarized();
        var test = ds.Test.Take(testRows).Binarized();
        var means = train.PixelMeans();
        var s = report.Add("rbm", "Restricted Boltzmann machines: CD-1, CD-k and PCD-1");
        s.Paragraphs.Add(FormattableString.Invariant($"Bernoulli RBMs with {hidden} hidden units, so that the log partition function is exact (2^{hidden} hidden configurations enumerated), trained on the first {train.Count} binarized training images of {settings.ImageSource} for {epochs} epochs (batch 100, learning rate 0.05, momentum 0.5 then 0.9, weight decay 1e-4, seed 1; PCD-1 also without momentum, as scikit-learn's BernoulliRBM trains: with momentum the persistent chains lag the parameters and the likelihood swings). Monitors on {test.Count} held-out images: reconstruction error (summed squared error of one v -> h -> v pass with probabilities), the one-flip pseudo-log-likelihood of scikit-learn's BernoulliRBM.score_samples (same pixel indices, numpy RandomState(seed).randint), the free-energy gap (held-out minus training mean) and the exact log-likelihood."));
        var table = new ReportTable("Samplers after the last epoch", ["sampler", "seconds / epoch", "reconstruction error", "pseudo-log-likelihood", "exact log-likelihood (nats)", "free-energy gap"], []);
        var json = new JsonArray();
        var curves = new List<(string, double[], double[])>();
        // PCD-1 twice: with the momentum schedule of the CD runs, and without momentum (as
        // scikit-learn's BernoulliRBM): momentum makes the persistent chains lag the moving
        // parameters, and on this small model the held-out likelihood then swings by tens of nats.
        var samplers = new[]
        {
            ("CD-1", RbmSamplerKind.Cd, 1, true), ($"CD-{cdK}", RbmSamplerKind.Cd, cdK, true),
            ("PCD-1", RbmSamplerKind.Pcd, 1, true), ("PCD-1, no momentum", RbmSamplerKind.Pcd, 1, false),
        };
        for (int run = 0; run < samplers.Length; run++)
        {
            var (name, kind, k, momentum) = samplers[run];
            var rbm = Restricted.Rbm.Initialize(train.Pixels, hidden, 1, means);
            var options = new RbmTrainerOptions { Sampler = kind, K = k, Epochs = epochs, Seed = 1, AllBitsRows = 0 };
            if (!momentum)
                options = options with { InitialMomentum = 0, FinalMomentum = 0 };
            var xs = new List<double> { 0 };
            var ll = new List<double> { ExactLogLikelihood(device, rbm, test.Images) };
            RbmEpochMetrics? last = null;
            double seconds = 0;
            using (var trainer = new RbmTrainer(device, rbm, train.Images, test.Images, options))
            {
                var session = new TrainingSession<RbmEpochMetrics>(trainer, new TrainingSessionOptions { Progress = settings.Bar?.Training((double)run / samplers.Length, (run + 1.0) / samplers.Length) });
                session.EpochCompleted += m =>
                {
                    last = m;
                    seconds += m.Seconds;
                    xs.Add(m.Epoch);
                    ll.Add(ExactLogLikelihood(device, rbm, test.Images));
                };
                session.Run();
            }
            curves.Add((name, xs.ToArray(), ll.ToArray()));
            table.Rows.Add([name, seconds / epochs, last!.ReconstructionError, last.PseudoLogLikelihood, ll[^1], last.FreeEnergyGap]);
            json.Add(new JsonObject
            {
                ["sampler"] = name,
                ["momentum"] = momentum ? $"{options.InitialMomentum} then {options.FinalMomentum}" : "0",
                ["seconds_per_epoch"] = Json.Number(seconds / epochs),
                ["reconstruction_error"] = Json.Number(last.ReconstructionError),
                ["pseudo_log_likelihood"] = Json.Number(last.PseudoLogLikelihood),
                ["exact_log_likelihood"] = Json.Number(ll[^1]),
                ["free_energy_gap"] = Json.Number(last.FreeEnergyGap),
            });
            if (kind == RbmSamplerKind.Pcd && !momentum)
            {
                ImageTiles.Save(Path.Combine(settings.Directory, "rbm_filters.png"), rbm.Weights, hidden, train.Rows, train.Cols, 1, hidden, 8, normalizeEach: true, scale: 3);
                var samples = RbmSampler.Sample(device, rbm, 32, settings.Quick ? 100 : 1000, 1);
                ImageTiles.Save(Path.Combine(settings.Directory, "rbm_samples.png"), samples, 32, train.Rows, train.Cols, train.Pixels, 1, 8, normalizeEach: false, scale: 3);
            }
        }
        s.Tables.Add(table);
        Plots.Lines(Path.Combine(settings.Directory, "rbm_loglik.png"), "RBM (16 hidden units): exact held-out log-likelihood", "epoch", "log p(v) (nats per image)", curves.ToArray());
        s.Figures.Add(new ReportFigure("rbm_loglik.png", "Exact held-out log-likelihood per epoch for each sampler"));
        s.Figures.Add(new ReportFigure("rbm_filters.png", "PCD-1 (no momentum) filters: the weights of each hidden unit as a 28x28 image (each scaled to its own range)"));
        s.Figures.Add(new ReportFigure("rbm_samples.png", "Mean images p(v | h) of fresh Gibbs chains of the PCD-1 (no momentum) model"));
        s.Json["hidden"] = hidden;
        s.Json["epochs"] = epochs;
        s.Json["train_images"] = train.Count;
        s.Json["test_images"] = test.Count;
        s.Json["samplers"] = json;
    }

    private static double ExactLogLikelihood(InfoGpu.Devices.ComputeDevice device, Restricted.Rbm rbm, float[] data)
    {
        double logZ = RbmExactLikelihood.LogPartitionByHidden(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias);
        int rows = data.Length / rbm.Visible;
        double sum = 0;
        for (int n = 0; n < rows; n++)
            sum += -rbm.FreeEnergy(data.AsSpan(n * rbm.Visible, rbm.Visible)) - logZ;
        return sum / rows;
    }
}
