using System.Diagnostics;
using InfoGpu.Devices;
using InfoGpu.Evaluation;
using InfoGpu.Kernels;

namespace InfoGpu.Restricted;

/// <summary>How an estimator gets the model (negative) term of the RBM gradient.</summary>
public enum RbmEstimatorKind
{
    /// <summary>Exactly, by enumerating the hidden layer (<see cref="RbmExactGradient.ModelTerm"/>).</summary>
    Exact = 0,

    /// <summary>CD-k: one chain per batch row, started at the row, k Gibbs sweeps.</summary>
    Cd = 1,

    /// <summary>PCD-k: persistent chains advanced k sweeps per update.</summary>
    Pcd = 2,

    /// <summary>Fresh chains from Bernoulli(1/2) visibles, run a burn-in of k sweeps each update (Gibbs sampling to equilibrium).</summary>
    LongChain = 3,
}

/// <summary>One gradient estimator of the comparison: a name for tables, how the model term is found and its Gibbs sweeps.</summary>
/// <param name="Name">The name shown in tables and JSON.</param>
/// <param name="Kind">How the model term is found.</param>
/// <param name="Steps">Gibbs sweeps per update (k of CD-k and PCD-k, the burn-in of the long chain; 0 for the exact gradient).</param>
public sealed record RbmEstimator(string Name, RbmEstimatorKind Kind, int Steps)
{
    /// <summary>The exact gradient (the hidden layer enumerated).</summary>
    public static RbmEstimator Exact { get; } = new("exact gradient", RbmEstimatorKind.Exact, 0);

    /// <summary>CD-k.</summary>
    public static RbmEstimator Cd(int k) => new($"CD-{k}", RbmEstimatorKind.Cd, k);

    /// <summary>PCD-k.</summary>
    public static RbmEstimator Pcd(int k) => new($"PCD-{k}", RbmEstimatorKind.Pcd, k);

    /// <summary>Fresh chains with a burn-in of <paramref name="burnIn"/> sweeps.</summary>
    public static RbmEstimator LongChain(int burnIn) => new($"long chain (burn-in {burnIn})", RbmEstimatorKind.LongChain, burnIn);

    /// <summary>The chapter's rows: exact gradient, CD-1, CD-k, PCD-1 and the long chain.</summary>
    public static IReadOnlyList<RbmEstimator> Chapter(int cdK, int burnIn) => [Exact, Cd(1), Cd(cdK), Pcd(1), LongChain(burnIn)];
}

/// <summary>Settings of <see cref="RbmGradientStudy"/> and <see cref="RbmGradientTrainer"/>.</summary>
public sealed record RbmGradientStudyOptions
{
    /// <summary>Rows per mini-batch (the positive phase, and the chains of CD).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Chains of PCD and of the long chain; 0: as many as <see cref="BatchSize"/>.</summary>
    public int Chains { get; init; }

    /// <summary>Mini-batch estimates R per estimator for the bias and variance.</summary>
    public int Estimates { get; init; } = 20;

    /// <summary>
    /// Sweeps the persistent chains of PCD run at the measured parameters before its first
    /// estimate, standing in for the updates that brought them there (0: the estimates start
    /// from Bernoulli(1/2) chains).
    /// </summary>
    public int PersistentWarmup { get; init; } = 100;

    /// <summary>Step size of the updates.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Constant momentum of the updates (the same for every estimator).</summary>
    public double Momentum { get; init; } = 0.5;

    /// <summary>L2 penalty on the weights in the updates.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Updates of each learning curve.</summary>
    public int Updates { get; init; } = 100;

    /// <summary>Updates between two points of a learning curve (the first point is before any update).</summary>
    public int EvaluateEvery { get; init; } = 10;

    /// <summary>Philox seed of the batch order and every draw.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The chains in use by PCD and the long chain.</summary>
    public int ChainCount => Chains > 0 ? Chains : BatchSize;

    /// <summary>Throws <see cref="InfoGpuException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        static void Fail(string m) => throw new InfoGpuException("RBM gradient study: " + m);
        if (BatchSize < 1 || Chains < 0 || Estimates < 2 || PersistentWarmup < 0 || Updates < 1 || EvaluateEvery < 1)
            Fail($"batch size, updates and evaluation interval must be >= 1, estimates >= 2, chains and warm-up >= 0 (got batch {BatchSize}, chains {Chains}, estimates {Estimates}, warm-up {PersistentWarmup}, updates {Updates}, every {EvaluateEvery})");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            Fail($"the learning rate must be a positive number (got {LearningRate})");
        if (!(Momentum >= 0 && Momentum < 1))
            Fail($"the momentum must be in [0, 1) (got {Momentum})");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay))
            Fail($"the weight decay must be a number >= 0 (got {WeightDecay})");
    }
}

/// <summary>
/// How good one estimator's gradients are at fixed parameters: R mini-batch estimates g_r, each
/// against the exact gradient g*_r of the same mini-batch (data term of the batch, model term enumerated).
/// </summary>
/// <param name="Estimator">The estimator's name.</param>
/// <param name="Cosine">Mean over r of cos(g_r, g*_r).</param>
/// <param name="RelativeError">Mean over r of ||g_r - g*_r|| / ||g*_r||.</param>
/// <param name="Bias">||mean_r (g_r - g*_r)||: the error that averaging R estimates does not remove (the estimator's bias, plus its noise / sqrt(R)).</param>
/// <param name="RelativeBias"><paramref name="Bias"/> / mean_r ||g*_r||.</param>
/// <param name="Variance">Mean over r of ||g_r - mean g||^2, summed over all parameters: the spread of the estimates over mini-batches, the data term's mini-batch noise included (the exact row shows that part alone).</param>
/// <param name="SamplerVariance">Mean over r of ||e_r - mean e||^2 with e_r = g_r - g*_r: the spread of the estimator's own error (0 for the exact gradient).</param>
/// <param name="SecondsPerUpdate">Mean wall-clock seconds of one estimate (sampling and statistics; the device synchronized).</param>
/// <param name="Estimates">R.</param>
public sealed record RbmGradientQuality(string Estimator, double Cosine, double RelativeError, double Bias, double RelativeBias, double Variance, double SamplerVariance, double SecondsPerUpdate, int Estimates);

/// <summary>Where a <see cref="RbmGradientStudy"/> call is: which estimator, and how far through its work.</summary>
/// <param name="Estimator">The name of the estimator under way.</param>
/// <param name="EstimatorIndex">Its 0-based position in the list of estimators.</param>
/// <param name="Estimators">How many estimators the call runs.</param>
/// <param name="Done">Units of work done for this estimator: estimates for <see cref="RbmGradientStudy.MeasureQuality"/>, updates for <see cref="RbmGradientStudy.LearningCurves"/>.</param>
/// <param name="Total">Units of work of this estimator (R estimates, or the updates of a curve).</param>
public readonly record struct RbmStudyProgress(string Estimator, int EstimatorIndex, int Estimators, int Done, int Total)
{
    /// <summary>Fraction of the whole call done, in [0, 1] (every estimator counted as an equal share).</summary>
    public double Fraction => Estimators <= 0 ? 1 : Math.Clamp((EstimatorIndex + (Total <= 0 ? 1 : (double)Done / Total)) / Estimators, 0, 1);
}

/// <summary>Exact log-likelihood during training with one estimator.</summary>
/// <param name="Estimator">The estimator's name.</param>
/// <param name="Updates">Updates done at each point (0 first).</param>
/// <param name="Seconds">Training seconds (estimates and updates) at each point.</param>
/// <param name="LogLikelihood">Exact mean log p(v) of the evaluation data at each point (nats).</param>
public sealed record RbmLearningCurve(string Estimator, int[] Updates, double[] Seconds, double[] LogLikelihood)
{
    /// <summary>The last point's log-likelihood.</summary>
    public double FinalLogLikelihood => LogLikelihood[^1];

    /// <summary>The model after the last update.</summary>
    public Rbm? FinalModel { get; init; }
}

/// <summary>
/// The chapter's comparison of gradient estimators for small RBMs (hidden layer up to
/// <see cref="RbmExactGradient.MaxHidden"/>): the exact gradient against CD-1, CD-k, PCD and a
/// long chain at the same parameters, and learning curves in exact log-likelihood.
/// </summary>
/// <remarks>
/// Each call makes its own device buffers; calls do not share state, but a
/// <see cref="ComputeDevice"/> should not be used by two calls at once.
/// </remarks>
public static class RbmGradientStudy
{
    /// <summary>
    /// R mini-batch estimates g_r from each estimator at the parameters of <paramref name="rbm"/>
    /// (batches from a seeded shuffle of <paramref name="data"/>, the same for every estimator),
    /// each compared with the exact gradient of the same mini-batch, g*_r = E_batch[v h^T] - E_model[v h^T]
    /// with the model term enumerated: so the figures measure the estimator's own error, not the
    /// mini-batch noise of the data term that every estimator shares.
    /// </summary>
    /// <param name="device">Where the chains run.</param>
    /// <param name="rbm">The parameters at which the gradients are measured (not changed).</param>
    /// <param name="data">Binary rows of <see cref="Rbm.Visible"/> values.</param>
    /// <param name="estimators">The estimators to measure, in order.</param>
    /// <param name="options">Settings.</param>
    /// <param name="progress">
    /// Told after every estimate which estimator is under way and how many of its estimates are
    /// done (on the calling thread; null: not told). It does not change any figure.
    /// </param>
    public static IReadOnlyList<RbmGradientQuality> MeasureQuality(ComputeDevice device, Rbm rbm, ReadOnlySpan<float> data, IReadOnlyList<RbmEstimator> estimators, RbmGradientStudyOptions options, IProgress<RbmStudyProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(estimators);
        options.Validate();
        var exactModel = RbmExactGradient.ModelTerm(rbm);
        var result = new List<RbmGradientQuality>();
        for (int index = 0; index < estimators.Count; index++)
        {
            var estimator = estimators[index];
            progress?.Report(new RbmStudyProgress(estimator.Name, index, estimators.Count, 0, options.Estimates));
            using var trainer = new RbmGradientTrainer(device, rbm.Clone(), data, estimator, options);
            if (estimator.Kind == RbmEstimatorKind.Pcd)
                trainer.AdvanceChains(options.PersistentWarmup);
            var estimates = new List<RbmGradient>();
            var errors = new List<RbmGradient>();
            double seconds = 0, cosine = 0, relative = 0, exactNorms = 0;
            for (int r = 0; r < options.Estimates; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                var (g, dataTerm) = trainer.EstimateNextWithDataTerm();
                seconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                var exact = dataTerm;
                exact.Add(exactModel, -1);
                double norm = exact.Norm();
                cosine += g.Cosine(exact);
                relative += g.Distance(exact) / norm;
                exactNorms += norm;
                var error = g.Clone();
                error.Add(exact, -1);
                estimates.Add(g);
                errors.Add(error);
                progress?.Report(new RbmStudyProgress(estimator.Name, index, estimators.Count, r + 1, options.Estimates));
            }
            int n = estimates.Count;
            var meanEstimate = Mean(estimates, rbm);
            var meanError = Mean(errors, rbm);
            double bias = meanError.Norm();
            result.Add(new RbmGradientQuality(
                estimator.Name,
                cosine / n,
                relative / n,
                bias,
                bias / (exactNorms / n),
                estimates.Average(g => Math.Pow(g.Distance(meanEstimate), 2)),
                errors.Average(e => Math.Pow(e.Distance(meanError), 2)),
                seconds / n,
                n));
        }
        return result;
    }

    private static RbmGradient Mean(List<RbmGradient> xs, Rbm rbm)
    {
        var mean = new RbmGradient(rbm.Visible, rbm.Hidden);
        foreach (var g in xs)
            mean.Add(g, 1.0 / xs.Count);
        return mean;
    }

    /// <summary>
    /// Trains a copy of <paramref name="initial"/> with each estimator (same learning rate,
    /// momentum, seed, batch order and number of updates) and records the exact mean
    /// log-likelihood of <paramref name="evalData"/> every <see cref="RbmGradientStudyOptions.EvaluateEvery"/> updates.
    /// </summary>
    /// <param name="device">Where the chains and the enumeration run.</param>
    /// <param name="initial">The starting model (copied for each estimator, not changed).</param>
    /// <param name="trainData">Binary training rows.</param>
    /// <param name="evalData">Binary rows whose exact log-likelihood makes the curve.</param>
    /// <param name="estimators">The estimators to train with, in order.</param>
    /// <param name="options">Settings.</param>
    /// <param name="progress">
    /// Told after every update which estimator is under way and how many of its updates
    /// are done (on the calling thread; null: not told). It does not change any figure.
    /// </param>
    public static IReadOnlyList<RbmLearningCurve> LearningCurves(ComputeDevice device, Rbm initial, ReadOnlySpan<float> trainData, ReadOnlySpan<float> evalData, IReadOnlyList<RbmEstimator> estimators, RbmGradientStudyOptions options, IProgress<RbmStudyProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(estimators);
        options.Validate();
        var curves = new List<RbmLearningCurve>();
        for (int index = 0; index < estimators.Count; index++)
        {
            var estimator = estimators[index];
            progress?.Report(new RbmStudyProgress(estimator.Name, index, estimators.Count, 0, options.Updates));
            using var trainer = new RbmGradientTrainer(device, initial.Clone(), trainData, estimator, options);
            var updates = new List<int> { 0 };
            var seconds = new List<double> { 0 };
            var ll = new List<double> { ExactLogLikelihood(device, trainer.Model, evalData) };
            for (int u = 1; u <= options.Updates; u++)
            {
                trainer.Update();
                if (u % options.EvaluateEvery == 0 || u == options.Updates)
                {
                    updates.Add(u);
                    seconds.Add(trainer.Seconds);
                    ll.Add(ExactLogLikelihood(device, trainer.Model, evalData));
                }
                progress?.Report(new RbmStudyProgress(estimator.Name, index, estimators.Count, u, options.Updates));
            }
            curves.Add(new RbmLearningCurve(estimator.Name, updates.ToArray(), seconds.ToArray(), ll.ToArray()) { FinalModel = trainer.Model });
        }
        return curves;
    }

    /// <summary>Exact mean log p(v) of binary rows: mean -F(v) - log Z, log Z by enumerating the hidden layer on the device.</summary>
    public static double ExactLogLikelihood(ComputeDevice device, Rbm rbm, ReadOnlySpan<float> data)
    {
        int nv = rbm.Visible;
        if (data.IsEmpty || data.Length % nv != 0)
            throw new InfoGpuException($"exact log-likelihood: {data.Length} values do not make rows of {nv} visible units");
        double logZ = RbmExactLikelihood.LogPartitionByHidden(device, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias);
        int rows = data.Length / nv;
        double sum = 0;
        for (int n = 0; n < rows; n++)
            sum += -rbm.FreeEnergy(data.Slice(n * nv, nv));
        return sum / rows - logZ;
    }
}

/// <summary>
/// Trains an RBM by momentum SGD with one <see cref="RbmEstimator"/> of the gradient: the
/// positive phase and the statistics in float64 on the host, the Gibbs chains on the device
/// (one GEMM per half-sweep, as in <see cref="RbmTrainer"/>), the model term exact for
/// <see cref="RbmEstimatorKind.Exact"/>. Meant for the small models of the gradient comparison.
/// Not thread-safe: one caller at a time. Calls synchronize with the device.
/// </summary>
/// <remarks>
/// Update: velocity = momentum velocity + lr (g - decay W) (no decay on the biases), then
/// parameters += velocity, with g the estimate of the gradient of the batch's mean log-likelihood.
/// Batches are rows of <see cref="Data.Shuffle.Permutation"/>(n, seed, epoch), epoch after epoch.
/// </remarks>
public sealed class RbmGradientTrainer : IDisposable
{
    private const ulong SampleStream = 61;
    private const ulong ChainInitStream = 62;

    private readonly ComputeDevice device;
    private readonly Rbm rbm;
    private readonly RbmEstimator estimator;
    private readonly RbmGradientStudyOptions options;
    private readonly float[] data;
    private readonly int nv, nh, rows, batch, chains, maxRows;
    private readonly int[] order;
    private readonly float[] batchRows, chainStates, persistent;
    private readonly double[] velocityW, velocityB, velocityC;
    private readonly DeviceBuffer<float>? w, b, c, v, pv, h, ph;
    private int epoch, position;
    private long draws, initDraws;
    private bool uploaded;

    /// <param name="device">Where the chains run.</param>
    /// <param name="rbm">The model, trained in place.</param>
    /// <param name="trainData">Binary training rows of <see cref="Rbm.Visible"/> values.</param>
    /// <param name="estimator">The gradient estimator.</param>
    /// <param name="options">Settings.</param>
    public RbmGradientTrainer(ComputeDevice device, Rbm rbm, ReadOnlySpan<float> trainData, RbmEstimator estimator, RbmGradientStudyOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(rbm);
        ArgumentNullException.ThrowIfNull(estimator);
        options.Validate();
        nv = rbm.Visible;
        nh = rbm.Hidden;
        if (trainData.IsEmpty || trainData.Length % nv != 0)
            throw new InfoGpuException($"RBM gradient training: {trainData.Length} values do not make rows of {nv} visible units");
        if (estimator.Kind == RbmEstimatorKind.Exact && nh > RbmExactGradient.MaxHidden)
            throw new InfoGpuException($"the exact gradient enumerates 2^{nh} hidden states; at most {RbmExactGradient.MaxHidden} hidden units are allowed");
        if (estimator.Kind != RbmEstimatorKind.Exact && estimator.Steps < 1)
            throw new InfoGpuException($"{estimator.Name}: a Gibbs estimator needs at least one sweep (got {estimator.Steps})");
        this.device = device;
        this.rbm = rbm;
        this.estimator = estimator;
        this.options = options;
        data = trainData.ToArray();
        rows = trainData.Length / nv;
        batch = Math.Min(options.BatchSize, rows);
        chains = estimator.Kind == RbmEstimatorKind.Cd ? batch : options.ChainCount;
        maxRows = Math.Max(batch, chains);
        order = Data.Shuffle.Permutation(rows, options.Seed, 1);
        epoch = 1;
        batchRows = new float[batch * nv];
        chainStates = new float[maxRows * nv];
        persistent = new float[chains * nv];
        velocityW = new double[nv * nh];
        velocityB = new double[nv];
        velocityC = new double[nh];
        if (estimator.Kind != RbmEstimatorKind.Exact)
        {
            w = device.Allocate<float>((long)nv * nh);
            b = device.Allocate<float>(nv);
            c = device.Allocate<float>(nh);
            v = device.Allocate<float>((long)maxRows * nv);
            pv = device.Allocate<float>((long)maxRows * nv);
            h = device.Allocate<float>((long)maxRows * nh);
            ph = device.Allocate<float>((long)maxRows * nh);
        }
        if (estimator.Kind == RbmEstimatorKind.Pcd)
            FillBernoulli(persistent);
    }

    /// <summary>The model being trained.</summary>
    public Rbm Model => rbm;

    /// <summary>Updates done.</summary>
    public long Step { get; private set; }

    /// <summary>Wall-clock seconds of the updates so far (estimates and parameter steps).</summary>
    public double Seconds { get; private set; }

    /// <summary>Updates per pass over the training rows: ceil(rows / batch).</summary>
    public int StepsPerEpoch => (rows + batch - 1) / batch;

    /// <summary>The estimate of the gradient on the next mini-batch, without changing the parameters (PCD's chains do move).</summary>
    public RbmGradient EstimateNext() => EstimateNextWithDataTerm().Estimate;

    /// <summary>As <see cref="EstimateNext"/>, with the batch's data term E_batch[v p(h | v)^T] (exact) beside the estimate.</summary>
    public (RbmGradient Estimate, RbmGradient DataTerm) EstimateNextWithDataTerm()
    {
        var rowsOfBatch = NextBatch();
        var dataTerm = RbmExactGradient.DataTerm(rbm, rowsOfBatch);
        var g = dataTerm.Clone();
        g.Add(ModelTerm(rowsOfBatch), -1);
        return (g, dataTerm);
    }

    /// <summary>One update: the estimate on the next mini-batch, then the momentum step.</summary>
    public void Update()
    {
        long t0 = Stopwatch.GetTimestamp();
        var g = Estimate(NextBatch());
        double lr = options.LearningRate, m = options.Momentum, decay = options.WeightDecay;
        for (int k = 0; k < velocityW.Length; k++)
        {
            velocityW[k] = (m * velocityW[k]) + (lr * (g.Weights[k] - (decay * rbm.Weights[k])));
            rbm.Weights[k] = (float)(rbm.Weights[k] + velocityW[k]);
        }
        for (int i = 0; i < nv; i++)
        {
            velocityB[i] = (m * velocityB[i]) + (lr * g.VisibleBias[i]);
            rbm.VisibleBias[i] = (float)(rbm.VisibleBias[i] + velocityB[i]);
        }
        for (int j = 0; j < nh; j++)
        {
            velocityC[j] = (m * velocityC[j]) + (lr * g.HiddenBias[j]);
            rbm.HiddenBias[j] = (float)(rbm.HiddenBias[j] + velocityC[j]);
        }
        uploaded = false;
        Step++;
        Seconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
        if (rbm.FirstNonFinite() is string bad)
            throw new Training.TrainingDivergedException($"RBM training with {estimator.Name} diverged by update {Step}: {bad}; lower the learning rate");
    }

    /// <summary>Advances PCD's persistent chains <paramref name="sweeps"/> Gibbs sweeps at the current parameters (nothing for other estimators).</summary>
    public void AdvanceChains(int sweeps)
    {
        if (estimator.Kind != RbmEstimatorKind.Pcd || sweeps < 1)
            return;
        RunChains(persistent, chains, sweeps);
        chainStates.AsSpan(0, persistent.Length).CopyTo(persistent);
    }

    /// <summary>Frees the device buffers (reverse order of allocation).</summary>
    public void Dispose()
    {
        ph?.Dispose();
        h?.Dispose();
        pv?.Dispose();
        v?.Dispose();
        c?.Dispose();
        b?.Dispose();
        w?.Dispose();
    }

    private ReadOnlySpan<float> NextBatch()
    {
        if (position >= rows)
        {
            epoch++;
            Data.Shuffle.Permute(order, options.Seed, (ulong)epoch);
            position = 0;
        }
        int size = Math.Min(batch, rows - position);
        for (int r = 0; r < size; r++)
            data.AsSpan(order[position + r] * nv, nv).CopyTo(batchRows.AsSpan(r * nv, nv));
        position += size;
        return batchRows.AsSpan(0, size * nv);
    }

    private RbmGradient Estimate(ReadOnlySpan<float> rowsOfBatch)
    {
        var g = RbmExactGradient.DataTerm(rbm, rowsOfBatch);
        g.Add(ModelTerm(rowsOfBatch), -1);
        return g;
    }

    private RbmGradient ModelTerm(ReadOnlySpan<float> rowsOfBatch)
    {
        RbmGradient model;
        switch (estimator.Kind)
        {
            case RbmEstimatorKind.Exact:
                model = RbmExactGradient.ModelTerm(rbm);
                break;
            case RbmEstimatorKind.Cd:
            {
                int n = rowsOfBatch.Length / nv;
                model = ModelTermFromChains(rowsOfBatch, n, estimator.Steps);
                break;
            }
            case RbmEstimatorKind.Pcd:
                model = ModelTermFromChains(persistent, chains, estimator.Steps);
                chainStates.AsSpan(0, persistent.Length).CopyTo(persistent);
                break;
            default:
            {
                var fresh = new float[chains * nv];
                FillBernoulli(fresh);
                model = ModelTermFromChains(fresh, chains, estimator.Steps);
                break;
            }
        }
        return model;
    }

    /// <summary>Runs the chains from <paramref name="start"/> and returns the mean of v p(h | v)^T, v, p(h | v) over their last states.</summary>
    private RbmGradient ModelTermFromChains(ReadOnlySpan<float> start, int n, int sweeps)
    {
        RunChains(start, n, sweeps);
        var g = new RbmGradient(nv, nh);
        var p = new double[nh];
        for (int r = 0; r < n; r++)
        {
            var row = chainStates.AsSpan(r * nv, nv);
            RbmExactGradient.HiddenProbabilities(rbm, row, p);
            RbmExactGradient.AddOuter(g, row, p);
        }
        g.Scale(1.0 / n);
        return g;
    }

    /// <summary>Block Gibbs sweeps v -> h -> v on the device; the last visible states land in <see cref="chainStates"/>.</summary>
    private void RunChains(ReadOnlySpan<float> start, int n, int sweeps)
    {
        if (w is null || b is null || c is null || v is null || pv is null || h is null || ph is null)
            throw new InvalidOperationException("the exact estimator runs no chains");
        if (!uploaded)
        {
            w.CopyFrom(rbm.Weights);
            b.CopyFrom(rbm.VisibleBias);
            c.CopyFrom(rbm.HiddenBias);
            uploaded = true;
        }
        v.CopyFrom(start[..(n * nv)]);
        for (int t = 0; t < sweeps; t++)
        {
            RbmHalfSweep.Hidden((v, n, nv), w, c, (ph, n, nh), h, options.Seed, SampleStream, draws);
            draws += (long)n * nh;
            RbmHalfSweep.Visible((h, n, nh), w, b, (pv, n, nv), v, options.Seed, SampleStream, draws);
            draws += (long)n * nv;
        }
        v.CopyTo(chainStates.AsSpan(0, n * nv));
    }

    private void FillBernoulli(Span<float> states)
    {
        for (int k = 0; k < states.Length; k++)
            states[k] = Philox.Uniform(options.Seed, ChainInitStream, (ulong)(initDraws + k)) < 0.5f ? 1f : 0f;
        initDraws += states.Length;
    }
}
