using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Training;

namespace InfoGpu.Variational;

/// <summary>One beta-VAE of a sweep, on the test set: rate = KL(q(z|x) || p(z)), distortion = -E_q log p(x|z) (nats per image).</summary>
public sealed record VaeBetaPoint(double Beta, double Rate, double Distortion, double Elbo, int ActiveUnits, double Seconds);

/// <summary>Trains one VAE per beta (same seed, sizes and epochs) and measures rate against distortion.</summary>
public static class VaeBetaSweep
{
    /// <summary>
    /// Runs the sweep: for each beta a new model of <see cref="VaeTrainerOptions.Hidden"/> and
    /// <see cref="VaeTrainerOptions.Latent"/> units trained for <see cref="VaeTrainerOptions.Epochs"/>
    /// epochs; <paramref name="progress"/> hears one point per finished model. Cancellation stops
    /// after the current step and returns the points finished so far.
    /// </summary>
    public static IReadOnlyList<VaeBetaPoint> Run(ComputeDevice device, Dataset data, IReadOnlyList<double> betas, VaeTrainerOptions options, Action<VaeBetaPoint>? progress = null, CancellationToken cancel = default)
    {
        if (betas.Count == 0)
            throw new InfoGpuException("beta sweep: give at least one beta");
        var points = new List<VaeBetaPoint>();
        foreach (double beta in betas)
        {
            var o = options with { Beta = beta };
            var vae = Vae.Create(data.Train.Pixels, o.Hidden, o.Latent, o.Seed);
            VaeEpochMetrics last;
            double seconds;
            using (var trainer = new VaeTrainer(device, vae, data, o))
            {
                var session = new TrainingSession<VaeEpochMetrics>(trainer, new TrainingSessionOptions());
                if (session.Run(cancel) == TrainingStop.Cancelled)
                    break;
                last = session.History[^1];
                seconds = session.History.Sum(m => m.Seconds);
            }
            var test = o.Binarize ? data.Test.Binarized() : data.Test;
            using var analysis = new VaeAnalysis(device, vae, test.Images);
            var active = analysis.Latent().ActiveUnits;
            var p = new VaeBetaPoint(beta, last.TestKl, last.TestReconstruction, -(last.TestKl + last.TestReconstruction), active, seconds);
            points.Add(p);
            progress?.Invoke(p);
        }
        return points;
    }
}
