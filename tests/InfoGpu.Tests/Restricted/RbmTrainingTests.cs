using InfoGpu.Checkpoints;
using InfoGpu.Data;
using InfoGpu.Evaluation;
using InfoGpu.Kernels;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Training;

namespace InfoGpu.Tests.Restricted;

/// <summary>CD-k / PCD training: one step against a float64 reference, learning on a tiny RBM, exact reproducibility, checkpoints.</summary>
public class RbmTrainingTests
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Tiny data: noisy copies of three 6-pixel prototypes.</summary>
    internal static float[] TinyData(int rows, ulong seed)
    {
        float[][] protos = [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]];
        var x = new float[rows * 6];
        for (int n = 0; n < rows; n++)
        {
            var p = protos[n % 3];
            for (int i = 0; i < 6; i++)
            {
                bool flip = Philox.Uniform(seed, 3, (ulong)(n * 6 + i)) < 0.05f;
                x[n * 6 + i] = flip ? 1 - p[i] : p[i];
            }
        }
        return x;
    }

    internal static double ExactLogLikelihood(Rbm rbm, float[] data)
    {
        double logZ = RbmExactLikelihood.LogPartitionByHidden(TestDevices.Get("cpu"), rbm.Weights, rbm.VisibleBias, rbm.HiddenBias);
        int rows = data.Length / rbm.Visible;
        double sum = 0;
        for (int n = 0; n < rows; n++)
            sum += -rbm.FreeEnergy(data.AsSpan(n * rbm.Visible, rbm.Visible)) - logZ;
        return sum / rows;
    }

    [Theory]
    [InlineData("cpu", false)]
    [InlineData("ilgpu-cpu", false)]
    [InlineData("cpu", true)]
    [InlineData("ilgpu-cpu", true)]
    public void OneCd1StepMatchesFloat64Reference(string kind, bool greyLevels)
    {
        // greyLevels: intensities in [0, 1] as data (binarize mode none): the reference below takes
        // v0 = the data as it is, so the positive phase and the chains' start must use the grey levels.
        const int n = 10, batch = 5, nv = 7, nh = 5;
        var data = greyLevels ? Enumerable.Range(0, n * nv).Select(i => Philox.Uniform(51, 9, (ulong)i)).ToArray() : RbmKernelTests.Bits(n * nv, 51);
        var rbm = Rbm.Initialize(nv, nh, 3, weightScale: 0.5);
        RbmKernelTests.Random(nv, 52, 0.3).CopyTo(rbm.VisibleBias, 0);
        var start = rbm.Clone();
        var o = new RbmTrainerOptions { BatchSize = batch, LearningRate = 0.1, InitialMomentum = 0.5, WeightDecay = 0.01, SparsityTarget = 0.1, SparsityCost = 0.2, SparsityDecay = 0.9, Seed = 7, AllBitsRows = 0, Binarize = greyLevels ? InfoGpu.Data.BinarizeMode.None : InfoGpu.Data.BinarizeMode.Threshold };
        if (greyLevels)
            Assert.Throws<InfoGpuException>(() => TestDevices.Use(kind, d => new RbmTrainer(d, rbm, data, data, o with { Binarize = InfoGpu.Data.BinarizeMode.Threshold })));
        TestDevices.Use(kind, d =>
        {
            using var t = new RbmTrainer(d, rbm, data, data, o);
            t.TrainStep();
            t.SyncModel();
            return 0;
        });

        // Reference: the same batch (Shuffle order), the same Philox draws, float64 arithmetic.
        var order = Shuffle.Permutation(n, 7, 1);
        double[,] v0 = new double[batch, nv], ph0 = new double[batch, nh], v1 = new double[batch, nv], ph1 = new double[batch, nh];
        var h0 = new double[batch, nh];
        long draw = 0;
        for (int r = 0; r < batch; r++)
        {
            for (int i = 0; i < nv; i++)
                v0[r, i] = data[order[r] * nv + i];
        }
        for (int r = 0; r < batch; r++)
        {
            for (int j = 0; j < nh; j++)
            {
                double a = start.HiddenBias[j];
                for (int i = 0; i < nv; i++)
                    a += v0[r, i] * start.Weights[i * nh + j];
                ph0[r, j] = Sigmoid(a);
                h0[r, j] = Philox.Uniform(7, 41, (ulong)(draw + r * nh + j)) < ph0[r, j] ? 1 : 0;
            }
        }
        draw += batch * nh;
        for (int r = 0; r < batch; r++)
        {
            for (int i = 0; i < nv; i++)
            {
                double a = start.VisibleBias[i];
                for (int j = 0; j < nh; j++)
                    a += h0[r, j] * start.Weights[i * nh + j];
                v1[r, i] = Philox.Uniform(7, 41, (ulong)(draw + r * nv + i)) < Sigmoid(a) ? 1 : 0;
            }
        }
        for (int r = 0; r < batch; r++)
        {
            for (int j = 0; j < nh; j++)
            {
                double a = start.HiddenBias[j];
                for (int i = 0; i < nv; i++)
                    a += v1[r, i] * start.Weights[i * nh + j];
                ph1[r, j] = Sigmoid(a);
            }
        }
        double lr = 0.1, t0 = 0.1, cost = 0.2;
        var q = new double[nh];
        var vbar = new double[nv];
        for (int i = 0; i < nv; i++)
        {
            double pos = 0, neg = 0;
            for (int r = 0; r < batch; r++)
            {
                pos += v0[r, i];
                neg += v1[r, i];
            }
            vbar[i] = pos / batch;
            double g = (pos - neg) / batch;
            Tolerance.Close(start.VisibleBias[i] + lr * g, rbm.VisibleBias[i], 0, 1e-6, $"{kind} b[{i}]");
        }
        for (int j = 0; j < nh; j++)
        {
            double pos = 0, neg = 0;
            for (int r = 0; r < batch; r++)
            {
                pos += ph0[r, j];
                neg += ph1[r, j];
            }
            q[j] = 0.9 * t0 + 0.1 * pos / batch;
            double g = (pos - neg) / batch - cost * (q[j] - t0);
            Tolerance.Close(start.HiddenBias[j] + lr * g, rbm.HiddenBias[j], 0, 1e-6, $"{kind} c[{j}]");
        }
        for (int i = 0; i < nv; i++)
        {
            for (int j = 0; j < nh; j++)
            {
                double corr = 0;
                for (int r = 0; r < batch; r++)
                    corr += v0[r, i] * ph0[r, j] - v1[r, i] * ph1[r, j];
                double w = start.Weights[i * nh + j];
                double g = corr / batch - 0.01 * w - cost * (q[j] - t0) * vbar[i];
                Tolerance.Close(w + lr * g, rbm.Weights[i * nh + j], 0, 1e-6, $"{kind} W[{i}, {j}]");
            }
        }
    }

    [Fact]
    public void LongChainsReproduceTheExactModelExpectation()
    {
        // <v_i h_j>_model by enumerating all 2^10 states of a 6 x 4 RBM, against 4000 block-Gibbs
        // chains (burn-in 200 steps) averaging v_i p(h_j | v) over 40 steps. The estimate's standard
        // error is below 0.25 / sqrt(4000) = 0.004 per step; the bound 0.015 allows for the
        // correlation between steps.
        const int nv = 6, nh = 4;
        var rbm = new Rbm(nv, nh);
        RbmKernelTests.Random(nv * nh, 61, 1.0).CopyTo(rbm.Weights, 0);
        RbmKernelTests.Random(nv, 62, 0.5).CopyTo(rbm.VisibleBias, 0);
        RbmKernelTests.Random(nh, 63, 0.5).CopyTo(rbm.HiddenBias, 0);
        var exact = new double[nv * nh];
        double z = 0;
        for (int vs = 0; vs < 1 << nv; vs++)
        {
            for (int hs = 0; hs < 1 << nh; hs++)
            {
                double e = 0;
                for (int i = 0; i < nv; i++)
                    e += ((vs >> i) & 1) * rbm.VisibleBias[i];
                for (int j = 0; j < nh; j++)
                    e += ((hs >> j) & 1) * rbm.HiddenBias[j];
                for (int i = 0; i < nv; i++)
                {
                    for (int j = 0; j < nh; j++)
                        e += ((vs >> i) & 1) * ((hs >> j) & 1) * rbm.Weights[i * nh + j];
                }
                double p = Math.Exp(e);
                z += p;
                for (int i = 0; i < nv; i++)
                {
                    for (int j = 0; j < nh; j++)
                        exact[i * nh + j] += p * ((vs >> i) & 1) * ((hs >> j) & 1);
                }
            }
        }
        const int chains = 4000, burnIn = 200, collect = 40;
        var est = new double[nv * nh];
        var v = RbmSampler.SampleStates(TestDevices.Get("cpu"), rbm, chains, burnIn, 5);
        for (int s = 0; s < collect; s++)
        {
            v = RbmSampler.SampleStates(TestDevices.Get("cpu"), rbm, chains, 1, (ulong)(100 + s), v);
            for (int c = 0; c < chains; c++)
            {
                for (int j = 0; j < nh; j++)
                {
                    double a = rbm.HiddenBias[j];
                    for (int i = 0; i < nv; i++)
                        a += v[c * nv + i] * rbm.Weights[i * nh + j];
                    double ph = Sigmoid(a);
                    for (int i = 0; i < nv; i++)
                        est[i * nh + j] += v[c * nv + i] * ph;
                }
            }
        }
        Tolerance.AllClose(exact.Select(x => x / z).ToArray(), est.Select(x => x / (chains * collect)).ToArray(), 0, 0.015, "<v h>_model");
    }

    [Theory]
    [InlineData(RbmSamplerKind.Cd)]
    [InlineData(RbmSamplerKind.Pcd)]
    public void TrainingRaisesTheExactLogLikelihood(RbmSamplerKind sampler)
    {
        var data = TinyData(60, 71);
        var rbm = Rbm.Initialize(6, 4, 72);
        double before = ExactLogLikelihood(rbm, data);
        // Momentum stays 0.5: with 0.9 and this rate, PCD on so few patterns oscillates.
        var o = new RbmTrainerOptions { Sampler = sampler, BatchSize = 10, LearningRate = 0.1, FinalMomentum = 0.5, Seed = 73, AllBitsRows = 0, Chains = 20 };
        TestDevices.Use("cpu", d =>
        {
            using var t = new RbmTrainer(d, rbm, data, default, o);
            for (int e = 0; e < 60; e++)
                t.TrainEpoch();
            return 0;
        });
        double after = ExactLogLikelihood(rbm, data);
        // Uniform over 64 patterns gives -4.16 nats; three prototypes with 5% noise allow about -2.4.
        Assert.True(after > before + 0.8, $"{sampler}: exact log-likelihood {before:F4} -> {after:F4} nats; expected a rise of at least 0.8");
    }

    /// <summary>
    /// The report's claim: on the embedded Fashion-MNIST subset (5,000 training, 1,000 held-out images,
    /// 16 hidden units, 5 epochs, the report's settings) PCD-1 without momentum climbs steadily and ends
    /// above CD-1 with the default momentum schedule, by the exact held-out log-likelihood.
    /// </summary>
    [Fact]
    public void PcdWithoutMomentumClimbsAndBeatsCd1OnFashionMnist()
    {
        var ds = FashionMnist.LoadEmbedded();
        var train = ds.Train.Take(5000).Binarized();
        var test = ds.Test.Take(1000).Binarized().Images;
        var curves = new Dictionary<string, List<double>>();
        foreach (var (name, options) in new[]
        {
            ("CD-1", new RbmTrainerOptions { Epochs = 5, Seed = 1, AllBitsRows = 0 }),
            ("PCD-1", new RbmTrainerOptions { Sampler = RbmSamplerKind.Pcd, Epochs = 5, Seed = 1, AllBitsRows = 0, InitialMomentum = 0, FinalMomentum = 0 }),
        })
        {
            var rbm = Rbm.Initialize(train.Pixels, 16, 1, train.PixelMeans());
            var ll = curves[name] = [ExactLogLikelihood(rbm, test)];
            TestDevices.Use("cpu", d =>
            {
                using var t = new RbmTrainer(d, rbm, train.Images, test, options);
                for (int e = 0; e < 5; e++)
                {
                    t.TrainEpoch();
                    ll.Add(ExactLogLikelihood(rbm, test));
                }
                return 0;
            });
        }
        var pcd = curves["PCD-1"];
        string all = string.Join("; ", curves.Select(c => $"{c.Key}: {string.Join(" ", c.Value.Select(v => v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}"));
        for (int e = 1; e < pcd.Count; e++)
            Assert.True(pcd[e] > pcd[e - 1] - 5, $"PCD-1 without momentum fell by more than 5 nats in epoch {e}: {all}");
        Assert.True(pcd[^1] > curves["CD-1"][^1], $"PCD-1 without momentum should end above CD-1: {all}");
        Assert.True(pcd[^1] > pcd[0] + 40, $"PCD-1 without momentum should gain at least 40 nats: {all}");
    }

    private static (Rbm Model, RbmTrainerOptions Options, float[] Train, float[] Test) Small(RbmSamplerKind sampler)
    {
        var ds = FashionMnist.LoadEmbedded(300);
        var train = ds.Train.Binarized().Images;
        var test = ds.Test.Binarized().Images.AsSpan(0, 50 * 784).ToArray();
        var o = new RbmTrainerOptions { Sampler = sampler, BatchSize = 32, LearningRate = 0.05, Seed = 5, AllBitsRows = 2, MomentumSwitchEpochs = 1 };
        return (Rbm.Initialize(784, 16, 5, ds.Train.Binarized().PixelMeans()), o, train, test);
    }

    [Theory]
    [InlineData(RbmSamplerKind.Cd)]
    [InlineData(RbmSamplerKind.Pcd)]
    public void SameSeedGivesBitIdenticalWeights(RbmSamplerKind sampler)
    {
        float[] Run()
        {
            var (rbm, o, train, test) = Small(sampler);
            return TestDevices.Use("cpu", d =>
            {
                using var t = new RbmTrainer(d, rbm, train, test, o);
                t.TrainEpoch();
                t.TrainEpoch();
                return rbm.Weights.Concat(rbm.VisibleBias).Concat(rbm.HiddenBias).ToArray();
            });
        }
        var a = Run();
        var b = Run();
        Assert.True(a.AsSpan().SequenceEqual(b), "two runs with the same seed differ");
    }

    [Theory]
    [InlineData(RbmSamplerKind.Cd)]
    [InlineData(RbmSamplerKind.Pcd)]
    public void CheckpointResumeIsBitIdentical(RbmSamplerKind sampler)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-{Environment.ProcessId}-{sampler}");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "model.safetensors");
        try
        {
            var (straightModel, o, train, test) = Small(sampler);
            TestDevices.Use("cpu", d =>
            {
                using var t = new RbmTrainer(d, straightModel, train, test, o);
                t.TrainEpoch();
                t.TrainEpoch();
                return 0;
            });

            // Interrupted after 1 epoch and 3 steps, checkpointed, resumed by a fresh trainer.
            var (first, _, _, _) = Small(sampler);
            TestDevices.Use("cpu", d =>
            {
                using var t = new RbmTrainer(d, first, train, test, o);
                t.TrainEpoch();
                Assert.False(t.TrainEpoch(stopEvery: t.StepsPerEpoch + 3).Completed);
                Assert.Equal(3, t.StepInEpoch);
                SafeTensors.Write(path, t.SaveState());
                return 0;
            });
            var set = RbmCheckpoint.Read(path);
            var resumedOptions = RbmCheckpoint.ReadOptions(set);
            Assert.Equal(o, resumedOptions);
            var resumed = TestDevices.Use("cpu", d =>
            {
                using var t = RbmTrainer.Resume(d, set, train, test);
                Assert.Equal(1, t.Epoch);
                Assert.Equal(3, t.StepInEpoch);
                var m = t.TrainEpoch();
                Assert.True(m.Completed);
                Assert.Equal(2, m.Metrics!.Epoch);
                return t.Model;
            });
            Assert.True(straightModel.Weights.AsSpan().SequenceEqual(resumed.Weights), "resumed weights differ from the uninterrupted run");
            Assert.True(straightModel.HiddenBias.AsSpan().SequenceEqual(resumed.HiddenBias), "resumed hidden biases differ");
            Assert.True(straightModel.VisibleBias.AsSpan().SequenceEqual(resumed.VisibleBias), "resumed visible biases differ");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void CorruptCheckpointIsNamed()
    {
        string path = Path.Combine(Path.GetTempPath(), $"infogpu-rbm-corrupt-{Environment.ProcessId}.safetensors");
        try
        {
            var (rbm, o, train, test) = Small(RbmSamplerKind.Cd);
            TestDevices.Use("cpu", d =>
            {
                using var t = new RbmTrainer(d, rbm, train, test, o);
                SafeTensors.Write(path, t.SaveState());
                return 0;
            });
            var bytes = File.ReadAllBytes(path);
            bytes[^10] ^= 0x40;
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InfoGpuException>(() => RbmCheckpoint.Read(path));
            Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
            e = Assert.Throws<InfoGpuException>(() => RbmCheckpoint.Read(path));
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void NonFiniteParametersStopTrainingWithTheEpochAndTensor(string kind)
    {
        var data = TinyData(30, 81);
        var rbm = Rbm.Initialize(6, 4, 82);
        rbm.Weights[5] = float.NaN;
        var o = new RbmTrainerOptions { BatchSize = 10, Seed = 83, CheckEvery = 1, AllBitsRows = 0 };
        var e = TestDevices.Use(kind, d =>
        {
            using var t = new RbmTrainer(d, rbm, data, default, o);
            return Assert.Throws<TrainingDivergedException>(() => t.TrainEpoch());
        });
        Assert.Contains("diverged in epoch 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("step 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("= NaN", e.Message, StringComparison.Ordinal);
    }
}
