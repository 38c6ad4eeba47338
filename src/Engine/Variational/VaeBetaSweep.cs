using InfoGpu.Data;
using InfoGpu.Devices;

namespace InfoGpu.Variational;

/// <summary>One beta-VAE of a sweep, on the test set: rate = KL(q(z|x) || p(z)), distortion = -E_q log p(x|z) (nats per image).</summary>
public sealed record VaeBetaPoint(double Beta, double Rate, double Distortion, double Elbo, int ActiveUnits, double Seconds);

/// <summary>Trains one VAE per beta (same seed, sizes and epochs) and measures rate against distortion.</summary>
public static class VaeBetaSweep
{
    /// <summary>Runs the sweep; <paramref name="progress"/> hears one line per finished model.</summary>
    public static IReadOnlyList<VaeBetaPoint> Run(ComputeDevice device, Dataset data, IReadOnlyList<double> betas, VaeTrainerOptions options, int hidden, int latent, Action<VaeBetaPoint>? progress = null, CancellationToken cancel = default)
    {
        if (betas.Count == 0)
            throw new InfoGpuException("beta sweep: give at least one beta");
        var points = new List<VaeBetaPoint>();
        foreach (double beta in betas)
        {
            var o = options with { Beta = beta };
            var vae = Vae.Create(data.Train.Pixels, hidden, latent, o.Seed);
            double seconds = 0;
            VaeEpoch last = default;
            using (var trainer = new VaeTrainer(device, vae, data, o))
            {
                for (int e = 0; e < o.Epochs && !cancel.IsCancellationRequested; e++)
                {
                    last = trainer.TrainEpoch();
                    seconds += last.Seconds;
                }
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
