using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Output;
using InfoGpu.Training;
using InfoGpu.Variational;

namespace InfoGpu.Host.Report;

internal static partial class ReportSections
{
    /// <summary>The VAE on the report's data (all of it; with --quick the first 5,000/1,000 images): training, ELBO parts, IWAE, latent statistics, beta sweep.</summary>
    private static void Vae(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        bool quick = settings.Quick;
        var full = settings.Images;
        var data = quick ? new Dataset(full.Train.Take(5000), full.Test.Take(1000), full.Description) : full;
        int hidden = 400, epochs = quick ? 3 : 10, iwaeK = quick ? 50 : 500, iwaeImages = quick ? 200 : 1000;
        var options = new VaeTrainerOptions { Epochs = epochs, Seed = 1, Hidden = hidden, Latent = 20 };
        var vae = InfoGpu.Variational.Vae.Create(data.Train.Pixels, options.Hidden, options.Latent, options.Seed);
        var table = new ReportTable("Training (per image, nats)", ["epoch", "seconds", "train loss", "test loss", "test reconstruction", "test KL"], []);
        var epochsJson = new JsonArray();
        var xs = new List<double>();
        var trainCurve = new List<double>();
        var testCurve = new List<double>();
        using (var trainer = new VaeTrainer(device, vae, data, options))
        {
            var session = new TrainingSession<VaeEpochMetrics>(trainer, new TrainingSessionOptions { Progress = settings.Bar?.Training() });
            session.Run();
            foreach (var r in session.History)
            {
                table.Rows.Add([r.Epoch, r.Seconds, r.TrainLoss, r.TestLoss, r.TestReconstruction, r.TestKl]);
                epochsJson.Add(new JsonObject { ["epoch"] = r.Epoch, ["seconds"] = Json.Number(r.Seconds), ["train_loss"] = Json.Number(r.TrainLoss), ["test_loss"] = Json.Number(r.TestLoss), ["test_reconstruction"] = Json.Number(r.TestReconstruction), ["test_kl"] = Json.Number(r.TestKl) });
                xs.Add(r.Epoch);
                trainCurve.Add(r.TrainLoss);
                testCurve.Add(r.TestLoss);
            }
        }
        var s = report.Add("vae", "Variational autoencoder on Fashion-MNIST");
        s.Paragraphs.Add(FormattableString.Invariant($"The chapter's VAE ({vae.Input}-{hidden}-20, ReLU, Bernoulli decoder) trained with Adam (lr 1e-3, batch 128) on {data.Train.Count} training images of {settings.ImageSource} ({data.Test.Count} test images): loss per image = BCE(x, sigmoid(logits)) + KL(q(z|x) || N(0, I)), grey levels as targets, as PyTorch's examples/vae. Dense layers are fused GEMMs; the noise is Philox, so the run repeats exactly."));
        s.Tables.Add(table);
        Plots.Lines(Path.Combine(settings.Directory, "vae_loss.png"), "VAE: negative ELBO per image", "epoch", "nats per image", ("train", xs.ToArray(), trainCurve.ToArray()), ("test", xs.ToArray(), testCurve.ToArray()));
        s.Figures.Add(new ReportFigure("vae_loss.png", "Training and test loss (negative ELBO) per epoch"));

        using (var analysis = new VaeAnalysis(device, vae, data.Test.Images))
        {
            var elbo = analysis.Elbo();
            var mc = analysis.MonteCarloElbo(quick ? 10 : 50, 1, iwaeImages);
            var iw = analysis.ImportanceWeighted(iwaeK, 1, iwaeImages);
            var iw1 = analysis.ImportanceWeighted(1, 1, iwaeImages);
            var lat = analysis.Latent();
            s.Tables.Add(new ReportTable("Bounds on log p(x) of test images (nats per image)", ["estimate", "value", "standard error", "images"],
            [
                ["ELBO (1 sample, analytic KL)", elbo.Elbo, null, elbo.Images],
                [$"ELBO, Monte-Carlo KL ({mc.Samples} samples)", mc.MonteCarlo, mc.StandardError, mc.Images],
                [$"ELBO, analytic KL (same {mc.Samples} samples)", mc.Analytic, null, mc.Images],
                ["IWAE, K = 1", iw1.LogLikelihood, iw1.StandardError, iw1.Images],
                [$"IWAE, K = {iwaeK}", iw.LogLikelihood, iw.StandardError, iw.Images],
            ]));
            s.Paragraphs.Add(FormattableString.Invariant($"The importance-weighted bound log (1/K) sum_k p(x, z_k) / q(z_k|x) tightens with K: {iw.LogLikelihood:F2} nats at K = {iwaeK} against the ELBO {iw.Elbo:F2} on the same samples. Active units (Cov_x E[z|x] > 0.01): {lat.ActiveUnits} of 20."));
            var latTable = new ReportTable("Latent statistics over the test images", ["dimension", "Var_x mu", "mean KL (nats)", "active"], []);
            for (int j = 0; j < lat.MuVariance.Length; j++)
                latTable.Rows.Add([j, lat.MuVariance[j], lat.KlPerDimension[j], lat.MuVariance[j] > VaeAnalysis.ActiveThreshold ? "yes" : "no"]);
            s.Tables.Add(latTable);
            int side = data.Test.Rows;
            VaePlots.Reconstructions(Path.Combine(settings.Directory, "vae_reconstructions.png"), analysis, data.Test.Images, side);
            s.Figures.Add(new ReportFigure("vae_reconstructions.png", "Test images (odd rows) above their reconstructions from z = mu (even rows)"));
            VaePlots.Samples(Path.Combine(settings.Directory, "vae_samples.png"), analysis, side, 32, 1);
            s.Figures.Add(new ReportFigure("vae_samples.png", "Decoded samples z ~ N(0, I)"));
            VaePlots.Latent(Path.Combine(settings.Directory, "vae_latent.png"), lat);
            s.Figures.Add(new ReportFigure("vae_latent.png", "Histograms of mu and sigma of q(z|x) over test images and dimensions"));
            s.Json["elbo"] = Json.Number(elbo.Elbo);
            s.Json["reconstruction"] = Json.Number(elbo.Reconstruction);
            s.Json["kl"] = Json.Number(elbo.Kl);
            s.Json["monte_carlo_elbo"] = Json.Number(mc.MonteCarlo);
            s.Json["iwae_log_likelihood"] = Json.Number(iw.LogLikelihood);
            s.Json["iwae_samples"] = iwaeK;
            s.Json["active_units"] = lat.ActiveUnits;
            s.Json["latent"] = VaeCommands.LatentJson(lat);
        }
        s.Json["epochs"] = epochsJson;
        s.Json["train_images"] = data.Train.Count;
        s.Json["test_images"] = data.Test.Count;

        double[] betas = quick ? [0.5, 1, 4] : [0.25, 0.5, 1, 2, 4, 8];
        var sweepData = new Dataset(data.Train.Take(quick ? 2000 : 5000), data.Test.Take(quick ? 1000 : 2000), data.Description);
        var sweep = VaeBetaSweep.Run(device, sweepData, betas, options with { Epochs = quick ? 2 : 5, Hidden = quick ? 200 : 400 });
        var sweepTable = new ReportTable("Beta sweep (test set, nats per image)", ["beta", "rate (KL)", "distortion (BCE)", "ELBO", "active units", "seconds"], []);
        var points = new JsonArray();
        foreach (var p in sweep)
        {
            sweepTable.Rows.Add([p.Beta, p.Rate, p.Distortion, p.Elbo, p.ActiveUnits, p.Seconds]);
            points.Add(new JsonObject { ["beta"] = p.Beta, ["rate"] = Json.Number(p.Rate), ["distortion"] = Json.Number(p.Distortion), ["elbo"] = Json.Number(p.Elbo), ["active_units"] = p.ActiveUnits });
        }
        s.Paragraphs.Add(FormattableString.Invariant($"A beta-VAE trades rate for distortion: one model per beta ({sweepData.Train.Count} training and {sweepData.Test.Count} test images, {(quick ? 2 : 5)} epochs, hidden {(quick ? 200 : 400)}). Larger beta: fewer nats through the latent code, blurrier reconstructions, fewer active units."));
        s.Tables.Add(sweepTable);
        VaePlots.RateDistortion(Path.Combine(settings.Directory, "vae_rate_distortion.png"), sweep);
        s.Figures.Add(new ReportFigure("vae_rate_distortion.png", "Rate against distortion across beta"));
        s.Json["beta_sweep"] = points;
    }
}
