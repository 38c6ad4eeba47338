using InfoGpu.Kernels;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Restricted;

public class RbmGradientTests
{
    /// <summary>
    /// Central differences of a float64 log-likelihood with a step of about 1e-3: the truncation
    /// error is (step^2 / 6) |f'''|, below 1e-6 for these O(1) parameters, and the rounding
    /// error 1e-16 / 1e-3 is far smaller; 2e-6 absolute leaves a margin.
    /// </summary>
    private const double FiniteDifference = 2e-6;

    private static Rbm RandomRbm(int nv, int nh, ulong seed, double scale)
    {
        var rbm = new Rbm(nv, nh);
        for (int k = 0; k < rbm.Weights.Length; k++)
            rbm.Weights[k] = (float)(scale * Philox.Normal(seed, 1, (ulong)k));
        for (int i = 0; i < nv; i++)
            rbm.VisibleBias[i] = (float)(0.5 * scale * Philox.Normal(seed, 2, (ulong)i));
        for (int j = 0; j < nh; j++)
            rbm.HiddenBias[j] = (float)(0.5 * scale * Philox.Normal(seed, 3, (ulong)j));
        return rbm;
    }

    private static float[] RandomRows(int rows, int nv, ulong seed, double p = 0.5)
    {
        var x = new float[rows * nv];
        for (int k = 0; k < x.Length; k++)
            x[k] = Philox.Uniform(seed, 4, (ulong)k) < p ? 1f : 0f;
        return x;
    }

    /// <summary>Rows that strongly prefer two patterns (and their noisy copies): a model fitted to them has a multimodal distribution.</summary>
    private static float[] TwoPatterns(int rows, int nv, ulong seed)
    {
        var x = new float[rows * nv];
        for (int r = 0; r < rows; r++)
        {
            bool first = r % 2 == 0;
            for (int i = 0; i < nv; i++)
            {
                bool on = first ? i < nv / 2 : i >= nv / 2;
                if (Philox.Uniform(seed, 5, (ulong)(r * nv + i)) < 0.05f)
                    on = !on;
                x[r * nv + i] = on ? 1f : 0f;
            }
        }
        return x;
    }

    private static double LogLikelihood(Rbm rbm, float[] data) =>
        TestDevices.Use("cpu", d => RbmGradientStudy.ExactLogLikelihood(d, rbm, data));

    /// <summary>d/dx of the log-likelihood by central differences in one float parameter (the step actually taken, after rounding to float).</summary>
    private static double Numeric(Rbm rbm, float[] data, float[] array, int k)
    {
        float x = array[k];
        float up = x + 1e-3f, down = x - 1e-3f;
        array[k] = up;
        double lu = LogLikelihood(rbm, data);
        array[k] = down;
        double ld = LogLikelihood(rbm, data);
        array[k] = x;
        return (lu - ld) / ((double)up - down);
    }

    [Theory]
    [InlineData(5, 3, 7)]
    [InlineData(4, 11, 9)] // more than 2^10 hidden states: several Gray-code blocks
    public void ExactRbmGradientMatchesFiniteDifferencesOfTheExactLogLikelihood(int nv, int nh, int rows)
    {
        var rbm = RandomRbm(nv, nh, 11, 0.8);
        var data = RandomRows(rows, nv, 12);
        var g = RbmExactGradient.Compute(rbm, data);
        var expected = new List<double>();
        var actual = new List<double>();
        for (int k = 0; k < rbm.Weights.Length; k++)
        {
            expected.Add(Numeric(rbm, data, rbm.Weights, k));
            actual.Add(g.Weights[k]);
        }
        for (int i = 0; i < nv; i++)
        {
            expected.Add(Numeric(rbm, data, rbm.VisibleBias, i));
            actual.Add(g.VisibleBias[i]);
        }
        for (int j = 0; j < nh; j++)
        {
            expected.Add(Numeric(rbm, data, rbm.HiddenBias, j));
            actual.Add(g.HiddenBias[j]);
        }
        Assert.True(expected.Max(Math.Abs) > 0.01, "the gradient is too small to test anything");
        Tolerance.AllClose(expected, actual, 0, FiniteDifference, "exact RBM gradient against finite differences");
    }

    [Fact]
    public void CdOneIsBiasedWhileTheLongChainApproachesTheExactGradient()
    {
        const int nv = 12, nh = 6;
        var data = TwoPatterns(40, nv, 21);
        // A model with strong weights, fitted a little to the two patterns, so that one Gibbs step
        // from the data is far from the model's distribution.
        var rbm = RandomRbm(nv, nh, 5, 1.5);
        var options = new RbmGradientStudyOptions { BatchSize = 40, Chains = 2000, Estimates = 8, PersistentWarmup = 200, Seed = 3 };
        var quality = TestDevices.Use("cpu", d => RbmGradientStudy.MeasureQuality(d, rbm, data, [RbmEstimator.Exact, RbmEstimator.Cd(1), RbmEstimator.LongChain(200), RbmEstimator.Pcd(1)], options));
        var exact = quality[0];
        var cd1 = quality[1];
        var longChain = quality[2];
        var pcd = quality[3];
        // With the whole data as the batch the exact estimator is g* itself.
        Tolerance.Close(1, exact.Cosine, 1e-12, 0, "cosine of the exact estimator");
        Assert.True(exact.RelativeBias < 1e-12, $"exact estimator bias {exact.RelativeBias}");
        // 2000 chains x 8 estimates = 16,000 samples of the model term: Monte Carlo relative error of order 1%;
        // 0.05 on the bias and 0.99 on the cosine leave a margin of several standard errors.
        Assert.True(longChain.RelativeBias < 0.05, $"long chain relative bias {longChain.RelativeBias}");
        Assert.True(longChain.Cosine > 0.99, $"long chain cosine {longChain.Cosine}");
        Assert.True(pcd.Cosine > 0.9, $"PCD-1 (warmed-up chains) cosine {pcd.Cosine}");
        // CD-1's bias does not average away: it stays far above the long chain's.
        Assert.True(cd1.RelativeBias > 0.2 && cd1.RelativeBias > 5 * longChain.RelativeBias, $"CD-1 relative bias {cd1.RelativeBias}, long chain {longChain.RelativeBias}");
        foreach (var q in quality)
        {
            Assert.True(q.Variance >= 0 && double.IsFinite(q.Variance), $"{q.Estimator}: variance {q.Variance}");
            Assert.True(q.SecondsPerUpdate > 0, $"{q.Estimator}: seconds per update {q.SecondsPerUpdate}");
        }
        Assert.True(exact.Variance < 1e-20, $"the exact full-batch gradient has no variance (got {exact.Variance})");
    }

    [Fact]
    public void TrainingWithTheExactGradientRaisesTheExactLogLikelihoodAtEveryStep()
    {
        const int nv = 10, nh = 5;
        var data = TwoPatterns(30, nv, 31);
        var rbm = RandomRbm(nv, nh, 9, 0.5);
        var options = new RbmGradientStudyOptions { BatchSize = 30, LearningRate = 0.1, Momentum = 0, Updates = 60, EvaluateEvery = 1, Seed = 2 };
        var curve = TestDevices.Use("cpu", d => RbmGradientStudy.LearningCurves(d, rbm, data, data, [RbmEstimator.Exact], options))[0];
        Assert.Equal(61, curve.LogLikelihood.Length);
        for (int t = 1; t < curve.LogLikelihood.Length; t++)
        {
            // Full-batch gradient ascent with a step well below 2 / (the curvature bound) cannot go down;
            // 1e-12 allows only float rounding of the parameters.
            Assert.True(curve.LogLikelihood[t] > curve.LogLikelihood[t - 1] - 1e-12, $"update {t}: {curve.LogLikelihood[t - 1]} -> {curve.LogLikelihood[t]}");
        }
        Assert.True(curve.FinalLogLikelihood > curve.LogLikelihood[0] + 0.5, $"log-likelihood {curve.LogLikelihood[0]} -> {curve.FinalLogLikelihood}");
    }

    // cpu: 4,000 chains, Monte Carlo error about 1/sqrt(4000) of the model term. The ILGPU CPU
    // accelerator emulates the GEMMs thread by thread (minutes for that run), so it gets 300 chains
    // and bounds sqrt(4000 / 300) = 3.7 times wider on the error.
    [Theory]
    [InlineData("cpu", 4000, 100, 0.98, 0.15)]
    [InlineData("ilgpu-cpu", 300, 20, 0.85, 0.55)]
    public void TheTrainersLongChainStepFollowsTheExactGradient(string kind, int chains, int burnIn, double minCosine, double maxRelative)
    {
        const int nv = 8, nh = 4, rows = 20;
        var data = TwoPatterns(rows, nv, 41);
        var rbm = RandomRbm(nv, nh, 17, 1.0);
        var exact = RbmExactGradient.Compute(rbm, data);
        // One full-batch update without momentum or decay: the parameter change is lr times the
        // estimate. Fresh chains with a burn-in of 20 or more sweeps of this 12-unit model are at equilibrium.
        const double lr = 0.01;
        var options = new RbmTrainerOptions
        {
            Sampler = RbmSamplerKind.Pcd, RestartChains = true, K = burnIn, Chains = chains, BatchSize = rows, LearningRate = lr,
            InitialMomentum = 0, FinalMomentum = 0, WeightDecay = 0, Seed = 5, AllBitsRows = 0,
        };
        var after = rbm.Clone();
        TestDevices.Use(kind, d =>
        {
            using var trainer = new RbmTrainer(d, after, data, data, options);
            trainer.TrainStep();
            trainer.SyncModel();
            return 0;
        });
        var step = new RbmGradient(nv, nh);
        for (int k = 0; k < step.Weights.Length; k++)
            step.Weights[k] = ((double)after.Weights[k] - rbm.Weights[k]) / lr;
        for (int i = 0; i < nv; i++)
            step.VisibleBias[i] = ((double)after.VisibleBias[i] - rbm.VisibleBias[i]) / lr;
        for (int j = 0; j < nh; j++)
            step.HiddenBias[j] = ((double)after.HiddenBias[j] - rbm.HiddenBias[j]) / lr;
        double cosine = step.Cosine(exact), relative = step.Distance(exact) / exact.Norm();
        Assert.True(cosine > minCosine && relative < maxRelative, $"long-chain step against the exact gradient: cosine {cosine}, relative error {relative}");
    }

    [Fact]
    public void RestartingChainsNeedsThePersistentSampler()
    {
        var e = Assert.Throws<InfoGpuException>(() => new RbmTrainerOptions { Sampler = RbmSamplerKind.Cd, RestartChains = true }.Validate());
        Assert.Contains("PCD", e.Message);
        new RbmTrainerOptions { Sampler = RbmSamplerKind.Pcd, RestartChains = true }.Validate();
    }

    [Fact]
    public void TheExactGradientRefusesATooLargeHiddenLayer()
    {
        var rbm = new Rbm(2, RbmExactGradient.MaxHidden + 1);
        var e = Assert.Throws<InfoGpuException>(() => RbmExactGradient.ModelTerm(rbm));
        Assert.Contains("hidden units", e.Message);
    }
}
