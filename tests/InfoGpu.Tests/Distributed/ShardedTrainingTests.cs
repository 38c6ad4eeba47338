using InfoGpu.Distributed;
using InfoGpu.Restricted;
using InfoGpu.Selection;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Tests.Restricted;

namespace InfoGpu.Tests.Distributed;

/// <summary>
/// Data parallel in one process: an RBM trained with its batches split into shards (the
/// partial gradients added in shard order, as MPI ranks add theirs) against the unsplit run,
/// and MI selection scored share by share against the whole.
/// </summary>
public class ShardedTrainingTests
{
    /// <summary>
    /// Splitting a batch changes only how the gradient's float32 sums are grouped; each unit's draws
    /// are those of the unsplit batch. A few steps of a tiny RBM therefore stay within float32
    /// rounding of a few reassociated sums of 10-20 terms (unless a draw falls within that rounding
    /// of its probability, which these seeds do not hit).
    /// </summary>
    private const double ReassociationAbsolute = 2e-5;

    private static (float[] W, float[] B, float[] C, float[]? Chains, long Draws) Train(RbmSamplerKind sampler, int shards, int k)
    {
        var data = RbmTrainingTests.TinyData(60, 91);
        var rbm = Rbm.Initialize(6, 5, 92, weightScale: 0.3);
        var o = new RbmTrainerOptions { Sampler = sampler, K = k, BatchSize = 14, Chains = 9, LearningRate = 0.1, Seed = 93, AllBitsRows = 0, SparsityTarget = 0.2, SparsityCost = 0.1 };
        return TestDevices.Use("cpu", d =>
        {
            var parallel = shards == 1 ? null : new DataParallel(Cluster.Single, shards);
            using var t = new RbmTrainer(d, rbm.Clone(), data, default, o, parallel);
            // 60 rows in batches of 14: 5 steps per epoch, the last of 4 rows (fewer rows than 5 shards hold).
            for (int e = 0; e < 2; e++)
            {
                for (int s = 0; s < t.StepsPerEpoch; s++)
                    t.TrainStep();
                t.EndEpoch();
            }
            var m = t.Model;
            return (m.Weights.ToArray(), m.VisibleBias.ToArray(), m.HiddenBias.ToArray(), t.CaptureChains(), t.Draws);
        });
    }

    [Theory]
    [InlineData(RbmSamplerKind.Cd, 2, 1)]
    [InlineData(RbmSamplerKind.Cd, 5, 2)]
    [InlineData(RbmSamplerKind.Pcd, 3, 1)]
    [InlineData(RbmSamplerKind.Pcd, 5, 3)]
    public void ShardedTrainingStaysWithinReassociationOfTheUnsplitRun(RbmSamplerKind sampler, int shards, int k)
    {
        var one = Train(sampler, 1, k);
        var split = Train(sampler, shards, k);
        Assert.Equal(one.Draws, split.Draws);
        Tolerance.AllClose(one.W.Select(x => (double)x).ToArray(), split.W.Select(x => (double)x).ToArray(), 0, ReassociationAbsolute, "W");
        Tolerance.AllClose(one.B.Select(x => (double)x).ToArray(), split.B.Select(x => (double)x).ToArray(), 0, ReassociationAbsolute, "b");
        Tolerance.AllClose(one.C.Select(x => (double)x).ToArray(), split.C.Select(x => (double)x).ToArray(), 0, ReassociationAbsolute, "c");
        if (sampler == RbmSamplerKind.Pcd)
        {
            // The chains are binary states: every one of them must be the unsplit run's.
            Assert.Equal(one.Chains, split.Chains);
        }
    }

    [Fact]
    public void ShardedTrainingIsReproducible()
    {
        var a = Train(RbmSamplerKind.Pcd, 3, 2);
        var b = Train(RbmSamplerKind.Pcd, 3, 2);
        Assert.True(a.W.AsSpan().SequenceEqual(b.W), "W differs between two runs with 3 shards");
        Assert.Equal(a.Chains, b.Chains);
    }

    /// <summary>
    /// A VAE step's gradient is a sum over the batch's rows; split into shards, only the grouping of
    /// that float32 sum changes (each row keeps its noise), and Adam's normalized step keeps a few
    /// steps within a small multiple of the learning rate times that rounding.
    /// </summary>
    private const double VaeReassociationAbsolute = 1e-5;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ShardedVaeStaysWithinReassociationOfTheUnsplitRun(int shards)
    {
        var images = RbmTrainingTests.TinyData(50, 95);
        var o = new InfoGpu.Variational.VaeTrainerOptions { BatchSize = 16, Hidden = 8, Latent = 2, Seed = 96, LearningRate = 1e-3 };
        double[] Run(int s) => TestDevices.Use<double[]>("cpu", d =>
        {
            var vae = InfoGpu.Variational.Vae.Create(6, 8, 2, 96);
            using var t = new InfoGpu.Variational.VaeTrainer(d, vae, images, images, o, s == 1 ? null : new DataParallel(Cluster.Single, s));
            // 50 rows in batches of 16: 4 steps, the last of 2 rows (a shard of 3 gets none).
            for (int k = 0; k < t.StepsPerEpoch; k++)
                t.TrainStep();
            var m = t.EndEpoch();
            return [.. vae.Tensors.SelectMany(x => x.Values).Select(v => (double)v), m.TrainLoss];
        });
        var one = Run(1);
        var split = Run(shards);
        Tolerance.AllClose(one[..^1], split[..^1], 0, VaeReassociationAbsolute, "VAE parameters");
        Tolerance.Close(one[^1], split[^1], Tolerance.Float32Relative, 0, "training loss");
    }

    [Fact]
    public void TooManyShardsForTheBatchIsAClearError()
    {
        var data = RbmTrainingTests.TinyData(20, 94);
        var e = Assert.Throws<InfoGpuException>(() => TestDevices.Use("cpu", d =>
        {
            using var t = new RbmTrainer(d, Rbm.Initialize(6, 3, 1), data, default, new RbmTrainerOptions { BatchSize = 4, AllBitsRows = 0 }, new DataParallel(Cluster.Single, 5));
            return 0;
        }));
        Assert.Contains("--batch", e.Message);
    }

    [Theory]
    [InlineData(false, 3)]
    [InlineData(true, 2)]
    [InlineData(false, 7)]
    public void MutualInformationSharesTogetherAreTheWholeSelection(bool regression, int parts)
    {
        const int n = 120, f = 7;
        var x = new double[n * f];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < f; j++)
                x[i * f + j] = j == 3 ? (i % 4) : InfoGpu.Kernels.Philox.Uniform(5, 2, (ulong)(i * f + j)) + (j < 2 ? 0.3 * (i % 3) : 0);
            y[i] = regression ? x[i * f] + 0.1 * InfoGpu.Kernels.Philox.Uniform(5, 3, (ulong)i) : i % 3;
        }
        var options = new MutualInformationOptions(Neighbors: 3, Regression: regression, DiscreteFeatures: [3], Seed: 11);
        TestDevices.Use("cpu", d =>
        {
            var selector = new MutualInformationSelector(d);
            var whole = selector.Select(x, n, f, y, options);
            var joined = new double[f];
            for (int p = 0; p < parts; p++)
            {
                var (scores, _) = selector.ScoreShare(x, n, f, y, options, p, parts);
                var (start, count) = Cluster.ShareOf(f, parts, p);
                for (int j = 0; j < f; j++)
                {
                    if (j < start || j >= start + count)
                        Assert.Equal(0, scores[j]);
                    else
                        joined[j] = scores[j];
                }
            }
            for (int j = 0; j < f; j++)
                Assert.True(BitConverter.DoubleToInt64Bits(whole.Scores[j]) == BitConverter.DoubleToInt64Bits(joined[j]), $"feature {j}: whole {whole.Scores[j]:R}, from its share {joined[j]:R}");
            Assert.True(whole.Scores.Count(s => s > 0) >= 2, "the data must give some features positive MI");
            return 0;
        });
    }
}
