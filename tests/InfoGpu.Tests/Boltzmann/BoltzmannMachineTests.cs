using InfoGpu.Boltzmann;
using InfoGpu.Training;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Boltzmann;

public class BoltzmannMachineTests
{
    private static BoltzmannMachine RandomMachine(int visible, int hidden, ulong seed, double scale)
    {
        var m = new BoltzmannMachine(visible, hidden);
        m.InitializeRandom(seed, scale);
        for (int i = 0; i < m.Units; i++)
            m.Biases[i] = scale * Philox.Normal(seed, 9, (ulong)i);
        return m;
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void GibbsChainsReachTheExactDistribution(string kind)
    {
        var m = RandomMachine(3, 2, 5, 1.0);
        var exact = BoltzmannExact.Distribution(m);
        const int chains = 6000;
        var samples = TestDevices.Use(kind, d => BoltzmannTrainer.Sample(d, m, chains, burnIn: 40, seed: 3));
        var counts = new double[exact.Length];
        for (int c = 0; c < chains; c++)
            counts[BoltzmannExact.Index(samples.AsSpan(c * m.Units, m.Units))]++;
        // Pearson chi-square over the states with an expected count of at least 5 (the rest
        // pooled). The 0.999 quantile of chi-square with <= 31 degrees of freedom is below 62,
        // so a correct sampler fails this with probability under 0.1%; after 40 sweeps of 5
        // units the chains' distance from stationarity is far below the sampling noise.
        double chi2 = 0, pooledExpected = 0, pooledObserved = 0;
        int df = -1;
        for (int k = 0; k < exact.Length; k++)
        {
            double e = exact[k] * chains;
            if (e >= 5)
            {
                chi2 += (counts[k] - e) * (counts[k] - e) / e;
                df++;
            }
            else
            {
                pooledExpected += e;
                pooledObserved += counts[k];
            }
        }
        if (pooledExpected > 0)
        {
            chi2 += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / pooledExpected;
            df++;
        }
        Assert.True(df >= 10, $"only {df} degrees of freedom");
        Assert.True(chi2 < 62, $"chi-square {chi2:F1} with {df} degrees of freedom: the samples do not follow the exact distribution");
    }

    [Fact]
    public void SameSeedGivesTheSameSamplesOnEveryBackend()
    {
        var m = RandomMachine(4, 3, 8, 0.7);
        var cpu = TestDevices.Use("cpu", d => BoltzmannTrainer.Sample(d, m, 37, 5, 21));
        var ilgpu = TestDevices.Use("ilgpu-cpu", d => BoltzmannTrainer.Sample(d, m, 37, 5, 21));
        Assert.Equal(cpu, ilgpu);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LearningRaisesTheExactLogLikelihood(bool persistent)
    {
        var data = BarsAndStripes.Generate(2);
        Assert.Equal(6 * 4, data.Length);
        var m = new BoltzmannMachine(4, 2);
        m.InitializeRandom(1, 0.1);
        double before = BoltzmannExact.LogLikelihood(m, data);
        var options = new BoltzmannTrainingOptions { LearningRate = 0.2, BurnIn = 5, Samples = 5, PositiveChains = 8, NegativeChains = 300, Persistent = persistent, Seed = 2 };
        double? after = null;
        TestDevices.Use("cpu", d =>
        {
            using var trainer = new BoltzmannTrainer(d, m, data, options);
            for (int e = 0; e < 500; e++)
                after = trainer.TrainEpoch().Metrics!.ExactLogLikelihood;
            return 0;
        });
        // Uniform over 16 patterns gives -ln 16 = -2.77; the 6 patterns alone give -ln 6 = -1.79.
        Assert.True(after > before + 0.5, $"exact log-likelihood {before:F3} -> {after:F3}");
    }

    [Fact]
    public void ExactEnumerationMatchesAHandComputedMachine()
    {
        var m = new BoltzmannMachine(1, 1);
        m.Biases[0] = 0.3;
        m.Biases[1] = -0.2;
        m.SetWeight(0, 1, 0.7);
        double z = 1 + Math.Exp(0.3) + Math.Exp(-0.2) + Math.Exp(0.3 - 0.2 + 0.7);
        Tolerance.Close(Math.Log(z), BoltzmannExact.LogPartition(m), 1e-14);
        var pv = BoltzmannExact.VisibleLogProbabilities(m);
        Tolerance.Close(Math.Log((1 + Math.Exp(-0.2)) / z), pv[0], 1e-14);
        Tolerance.Close(Math.Log((Math.Exp(0.3) + Math.Exp(0.8)) / z), pv[1], 1e-14);
    }

    [Fact]
    public void BarsAndStripesHasTheRightPatterns()
    {
        Assert.Equal((16 - 2) * 9, BarsAndStripes.Generate(3).Length);
        Assert.Equal((32 - 2) * 16, BarsAndStripes.Generate(4).Length);
        Assert.Throws<InfoGpuException>(() => BarsAndStripes.Generate(9));
    }
}
