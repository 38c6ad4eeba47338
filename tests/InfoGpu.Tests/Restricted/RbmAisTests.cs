using InfoGpu.Data;
using InfoGpu.Evaluation;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Restricted;

/// <summary>AIS against the exact log partition function of an RBM trained on real data.</summary>
public class RbmAisTests
{
    [Fact]
    public void AisMatchesTheExactLogPartitionFunction()
    {
        // 20 hidden units trained by CD-1 on 2000 binarized Fashion-MNIST images; log Z exact by
        // enumerating the 2^20 hidden configurations. AIS with 100 runs over 3,000 betas must land
        // within 0.5 nats, and its +-3 sigma interval must cover the exact value.
        var ds = FashionMnist.LoadEmbedded(2000);
        var train = ds.Train.Binarized();
        var means = train.PixelMeans();
        var rbm = Rbm.Initialize(train.Pixels, 20, 3, means);
        var device = TestDevices.Get("cpu");
        var (exact, ais) = TestDevices.Use("cpu", d =>
        {
            using (var t = new RbmTrainer(d, rbm, train.Images, default, new RbmTrainerOptions { Seed = 3, MonitorRows = 10, AllBitsRows = 0 }))
            {
                for (int e = 0; e < 3; e++)
                    t.TrainEpoch();
            }
            double logZ = RbmExactLikelihood.LogPartitionByHidden(d, rbm.Weights, rbm.VisibleBias, rbm.HiddenBias);
            var est = RbmAis.LogPartition(d, rbm, RbmAis.BaseRateBiases(means), runs: 100, betas: RbmAis.Schedule(3000), seed: 5);
            return (logZ, est);
        });
        Assert.True(Math.Abs(ais.LogZ - exact) < 0.5, $"AIS log Z {ais.LogZ:F4} (stderr {ais.StandardError:F4}) vs exact {exact:F4}");
        Assert.True(ais.LogZLow <= exact && exact <= ais.LogZHigh, $"exact log Z {exact:F4} outside the 3-sigma interval [{ais.LogZLow:F4}, {ais.LogZHigh:F4}]");
        Assert.True(double.IsFinite(RbmAis.MeanLogLikelihood(rbm, ds.Test.Binarized().Images, ais.LogZ)));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AisOnATinyRbmMatchesEnumerationOnEveryBackend(string kind)
    {
        // 8 visible, 4 hidden, weights of scale 0.5: 256 runs over 20 betas (few launches: the ILGPU
        // CPU accelerator simulates every thread) estimate log Z with a standard error of a few
        // hundredths; the bound 0.15 nats allows for that and the short schedule's bias.
        var rbm = new Rbm(8, 4);
        RbmKernelTests.Random(32, 91, 0.5).CopyTo(rbm.Weights, 0);
        RbmKernelTests.Random(8, 92, 0.5).CopyTo(rbm.VisibleBias, 0);
        RbmKernelTests.Random(4, 93, 0.5).CopyTo(rbm.HiddenBias, 0);
        double exact = RbmExactLikelihood.LogPartitionByVisible(TestDevices.Get("cpu"), rbm.Weights, rbm.VisibleBias, rbm.HiddenBias);
        var baseRate = RbmAis.BaseRateBiases(Enumerable.Repeat(0.4f, 8).ToArray());
        var ais = TestDevices.Use(kind, d => RbmAis.LogPartition(d, rbm, baseRate, runs: 256, betas: RbmAis.Schedule(20), seed: 3));
        Assert.True(Math.Abs(ais.LogZ - exact) < 0.15, $"{kind}: AIS log Z {ais.LogZ:F4} (stderr {ais.StandardError:F4}) vs exact {exact:F4}");
    }

    [Fact]
    public void ScheduleFollowsThePaper()
    {
        var b = RbmAis.Schedule();
        Assert.Equal(14_501, b.Length);
        Assert.Equal(0, b[0]);
        Assert.Equal(1, b[^1]);
        Assert.Equal(0.5, b[500], 12);
        Assert.Equal(0.9, b[4500], 12);
        for (int k = 1; k < b.Length; k++)
            Assert.True(b[k] > b[k - 1]);
    }
}
