using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Distributed;
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
    /// <remarks>
    /// With a distributed <paramref name="cluster"/> the betas are split into contiguous shares
    /// (<see cref="Cluster.ShareOf"/>), each rank trains its share, and every rank returns every
    /// point in beta order (a collective call): each model is trained exactly as in one process, so
    /// the points equal a single run's (but for the seconds). When a rank was cancelled, the points
    /// before the first one missing are returned.
    /// <para>
    /// With <paramref name="together"/> the models of a rank's share are trained together as one
    /// <see cref="ModelGrid{TMetrics}"/> stepped that way (<see cref="GridStepping.Fused"/>: one set of
    /// launches for all the betas), each model with the bits it has alone on <c>cpu</c>; every model
    /// then holds its own copy of the training images at once, and a cancelled grid returns no point.
    /// </para>
    /// </remarks>
    public static IReadOnlyList<VaeBetaPoint> Run(ComputeDevice device, Dataset data, IReadOnlyList<double> betas, VaeTrainerOptions options, Action<VaeBetaPoint>? progress = null, CancellationToken cancel = default, Cluster? cluster = null, GridStepping? together = null)
    {
        if (betas.Count == 0)
            throw new InfoGpuException("beta sweep: give at least one beta");
        cluster ??= Cluster.Single;
        var (first, count) = Cluster.ShareOf(betas.Count, cluster.Size, cluster.Rank);
        var share = betas.Skip(first).Take(count).ToList();
        var mine = together is GridStepping stepping && share.Count > 0
            ? TrainTogether(device, data, share, options, progress, cancel, stepping)
            : Train(device, data, share, options, progress, cancel);
        return cluster.Size == 1 ? mine : GatherPoints(cluster, betas.Count, mine);
    }

    private const int Fields = 6;

    /// <summary>Every rank's points, in beta order, on every rank: the shares padded to one size and all-gathered as float64.</summary>
    private static List<VaeBetaPoint> GatherPoints(Cluster cluster, int total, List<VaeBetaPoint> mine)
    {
        int cap = (total + cluster.Size - 1) / cluster.Size;
        var local = new double[1 + cap * Fields];
        local[0] = mine.Count;
        for (int i = 0; i < mine.Count; i++)
        {
            var p = mine[i];
            new[] { p.Beta, p.Rate, p.Distortion, p.Elbo, p.ActiveUnits, p.Seconds }.CopyTo(local, 1 + i * Fields);
        }
        var all = new double[local.Length * cluster.Size];
        cluster.AllGather(local, all);
        var points = new List<VaeBetaPoint>();
        for (int r = 0; r < cluster.Size; r++)
        {
            var part = all.AsSpan(r * local.Length, local.Length);
            int expected = Cluster.ShareOf(total, cluster.Size, r).Count, got = (int)part[0];
            for (int i = 0; i < got; i++)
            {
                var f = part.Slice(1 + i * Fields, Fields);
                points.Add(new VaeBetaPoint(f[0], f[1], f[2], f[3], (int)f[4], f[5]));
            }
            if (got < expected)
                break;
        }
        return points;
    }

    private static List<VaeBetaPoint> TrainTogether(ComputeDevice device, Dataset data, List<double> betas, VaeTrainerOptions options, Action<VaeBetaPoint>? progress, CancellationToken cancel, GridStepping stepping)
    {
        var trainers = new List<VaeTrainer>(betas.Count);
        try
        {
            foreach (double beta in betas)
            {
                var o = options with { Beta = beta };
                trainers.Add(new VaeTrainer(device, Vae.Create(data.Train.Pixels, o.Hidden, o.Latent, o.Seed), data, o));
            }
            var sessions = trainers.Select(t => new TrainingSession<VaeEpochMetrics>(t, new TrainingSessionOptions())).ToList();
            var grid = new ModelGrid<VaeEpochMetrics>(sessions, [.. betas.Select(b => FormattableString.Invariant($"beta {b:G6}"))], stepping);
            if (grid.Run(cancel) == TrainingStop.Cancelled)
                return [];
            var points = new List<VaeBetaPoint>(betas.Count);
            for (int i = 0; i < betas.Count; i++)
            {
                var p = Point(device, data, trainers[i], sessions[i]);
                points.Add(p);
                progress?.Invoke(p);
            }
            return points;
        }
        finally
        {
            for (int i = trainers.Count - 1; i >= 0; i--)
                trainers[i].Dispose();
        }
    }

    /// <summary>A trained model's point: its last epoch's test rate and distortion, its active units, its seconds.</summary>
    private static VaeBetaPoint Point(ComputeDevice device, Dataset data, VaeTrainer trainer, TrainingSession<VaeEpochMetrics> session)
    {
        var o = trainer.Options;
        var last = session.History[^1];
        var test = o.Binarize ? data.Test.Binarized() : data.Test;
        using var analysis = new VaeAnalysis(device, trainer.Vae, test.Images);
        return new VaeBetaPoint(o.Beta, last.TestKl, last.TestReconstruction, -(last.TestKl + last.TestReconstruction), analysis.Latent().ActiveUnits, session.History.Sum(m => m.Seconds));
    }

    private static List<VaeBetaPoint> Train(ComputeDevice device, Dataset data, List<double> betas, VaeTrainerOptions options, Action<VaeBetaPoint>? progress, CancellationToken cancel)
    {
        var points = new List<VaeBetaPoint>();
        foreach (double beta in betas)
        {
            var o = options with { Beta = beta };
            VaeBetaPoint p;
            using (var trainer = new VaeTrainer(device, Vae.Create(data.Train.Pixels, o.Hidden, o.Latent, o.Seed), data, o))
            {
                var session = new TrainingSession<VaeEpochMetrics>(trainer, new TrainingSessionOptions());
                if (session.Run(cancel) == TrainingStop.Cancelled)
                    break;
                p = Point(device, data, trainer, session);
            }
            points.Add(p);
            progress?.Invoke(p);
        }
        return points;
    }
}
