using System.Text.Json.Nodes;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Output;
using InfoGpu.Restricted;

namespace InfoGpu.Host.Report;

internal static partial class ReportSections
{
    /// <summary>
    /// The chapter's table of gradient estimators (exact, Gibbs sampling, CD-k, PCD) with measured
    /// columns beside its words, on 14x14 images and a hidden layer small enough to enumerate.
    /// </summary>
    private static void RbmGradients(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        int hidden = settings.Quick ? 12 : 14, trainRows = settings.Quick ? 500 : 2000, testRows = settings.Quick ? 300 : 1000;
        int cdK = settings.Quick ? 5 : 10, burnIn = settings.Quick ? 100 : 500, updates = settings.Quick ? 60 : 300, every = settings.Quick ? 10 : 25;
        const double momentum = 0.5, lr = 0.05;
        var ds = settings.Images;
        var train = ds.Train.Take(trainRows).Downscaled(2).Binarized();
        var test = ds.Test.Take(testRows).Downscaled(2).Binarized();
        var estimators = RbmEstimator.Chapter(cdK, burnIn);
        var options = new RbmGradientStudyOptions { BatchSize = 100, LearningRate = lr, Momentum = momentum, Updates = updates, EvaluateEvery = every, Estimates = 10, PersistentWarmup = burnIn, Seed = 1 };
        var initial = InfoGpu.Restricted.Rbm.Initialize(train.Pixels, hidden, 1, train.PixelMeans());
        var curves = RbmGradientStudy.LearningCurves(device, initial, train.Images, test.Images, estimators, options, settings.Bar?.Study("update", 0, 0.8));
        var trained = curves[0].FinalModel!;
        var quality = RbmGradientStudy.MeasureQuality(device, trained, train.Images, estimators, options, settings.Bar?.Study("estimate", 0.8, 1));

        var s = report.Add("rbm-gradients", "The chapter's table, measured: exact gradient, Gibbs sampling, CD-k and PCD");
        s.Paragraphs.Add(FormattableString.Invariant($"An RBM with {hidden} hidden units on the first {train.Count} training images of {settings.ImageSource}, shrunk to {train.Rows}x{train.Cols} (means of 2x2 blocks, then binarized), so that the exact gradient is affordable: its model term enumerates the 2^{hidden} hidden states (float64, on the host). Every estimator trains the same initial model for {updates} updates (batch 100, learning rate {lr}, constant momentum {momentum} for all, seed 1); the log-likelihood of {test.Count} held-out images is exact. The long chain restarts {options.ChainCount} chains from Bernoulli(1/2) and runs a burn-in of {burnIn} sweeps before every update; PCD-1 carries {options.ChainCount} chains from update to update."));
        s.Paragraphs.Add(FormattableString.Invariant($"The measured columns are taken at one set of parameters, the exact-gradient model after training: {options.Estimates} mini-batch estimates g_r per estimator, each against the exact gradient g*_r of the same mini-batch, so the mini-batch noise of the data term, which all share, does not count. Angle = mean angle to g*_r; bias = ||mean_r (g_r - g*_r)|| / mean ||g*_r|| (what averaging does not remove, with noise / sqrt({options.Estimates})); variance = mean ||e_r - mean e||^2 of the errors e_r = g_r - g*_r; cost = seconds per estimate on this device ({device.Info.Kind}); PCD's chains first run {burnIn} sweeps at these parameters."));
        var table = new ReportTable("The chapter's words beside the measured columns", ["estimator", "the chapter says", "gradient angle (deg)", "bias (relative)", "variance", "cost (s / update)", "final log-likelihood (nats)"], []);
        var json = new JsonArray();
        for (int k = 0; k < estimators.Count; k++)
        {
            var q = quality[k];
            var c = curves[k];
            double angle = Math.Acos(Math.Clamp(q.Cosine, -1, 1)) * 180 / Math.PI;
            string words = RbmCompareCommand.ChapterWords(estimators[k].Kind);
            table.Rows.Add([estimators[k].Name, words, angle, q.RelativeBias, q.SamplerVariance, q.SecondsPerUpdate, c.FinalLogLikelihood]);
            json.Add(new JsonObject
            {
                ["method"] = estimators[k].Name,
                ["chapter"] = words,
                ["gradient_cosine"] = Json.Number(q.Cosine),
                ["gradient_angle_degrees"] = Json.Number(angle),
                ["relative_error"] = Json.Number(q.RelativeError),
                ["bias"] = Json.Number(q.Bias),
                ["relative_bias"] = Json.Number(q.RelativeBias),
                ["variance"] = Json.Number(q.Variance),
                ["sampler_variance"] = Json.Number(q.SamplerVariance),
                ["seconds_per_update"] = Json.Number(q.SecondsPerUpdate),
                ["final_log_likelihood"] = Json.Number(c.FinalLogLikelihood),
                ["log_likelihood_curve"] = new JsonArray(c.LogLikelihood.Select(Json.Number).ToArray()),
            });
        }
        s.Tables.Add(table);
        Plots.Lines(Path.Combine(settings.Directory, "rbm_gradient_curves.png"), FormattableString.Invariant($"RBM ({hidden} hidden, {train.Rows}x{train.Cols}): exact held-out log-likelihood"), "update", "log p(v) (nats per image)",
            curves.Select(c => (c.Estimator, c.Updates.Select(u => (double)u).ToArray(), c.LogLikelihood)).ToArray());
        s.Figures.Add(new ReportFigure("rbm_gradient_curves.png", "Exact held-out log-likelihood while training with each estimator (same model, learning rate, momentum and seed)"));
        s.Json["hidden"] = hidden;
        s.Json["image_rows"] = train.Rows;
        s.Json["image_cols"] = train.Cols;
        s.Json["train_images"] = train.Count;
        s.Json["test_images"] = test.Count;
        s.Json["updates"] = updates;
        s.Json["momentum"] = Json.Number(momentum);
        s.Json["burn_in"] = burnIn;
        s.Json["estimates"] = options.Estimates;
        s.Json["estimators"] = json;
    }
}
