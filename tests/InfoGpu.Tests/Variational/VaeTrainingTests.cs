using InfoGpu.Data;
using InfoGpu.Checkpoints;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Training;
using InfoGpu.Variational;

namespace InfoGpu.Tests.Variational;

/// <summary>Training, determinism, checkpoints and the bounds of a small VAE on the embedded Fashion-MNIST subset.</summary>
public class VaeTrainingTests
{
    private static readonly Lazy<Dataset> Small = new(() =>
    {
        var d = FashionMnist.LoadEmbedded();
        return new Dataset(d.Train.Take(600), d.Test.Take(200), "embedded subset, 600/200");
    });

    private static readonly VaeTrainerOptions Options = new() { BatchSize = 50, Epochs = 3, Seed = 4 };

    private static Vae Model() => Vae.Create(784, 48, 6, Options.Seed);

    private static Vae Trained(int epochs)
    {
        var vae = Model();
        TestDevices.Use("cpu", d =>
        {
            using var t = new VaeTrainer(d, vae, Small.Value, Options);
            for (int e = 0; e < epochs; e++)
                t.TrainEpoch();
            return 0;
        });
        return vae;
    }

    [Fact]
    public void TestLossFallsOnTheEmbeddedSubset()
    {
        var losses = TestDevices.Use("cpu", d =>
        {
            using var t = new VaeTrainer(d, Model(), Small.Value, Options);
            return Enumerable.Range(0, 3).Select(_ => t.TrainEpoch()).ToList();
        }).Select(r => r.Completed ? r.Metrics! : throw new InvalidOperationException("an epoch did not complete")).ToList();
        Assert.All(losses, l => Assert.True(double.IsFinite(l.TestLoss)));
        Assert.True(losses[2].TestLoss < losses[0].TestLoss - 5, $"test loss {losses[0].TestLoss} -> {losses[2].TestLoss}");
        Assert.True(losses[2].TrainLoss < losses[0].TrainLoss, $"train loss {losses[0].TrainLoss} -> {losses[2].TrainLoss}");
        Tolerance.Close(losses[2].TestReconstruction + losses[2].TestKl, losses[2].TestLoss, 1e-12, 0, "test loss = BCE + KL at beta 1");
    }

    [Fact]
    public void SameSeedGivesBitIdenticalParameters()
    {
        var a = Trained(1);
        var b = Trained(1);
        for (int t = 0; t < a.Tensors.Count; t++)
            Assert.Equal(a.Tensors[t].Values, b.Tensors[t].Values);
    }

    [Fact]
    public void ResumeFromAMidEpochCheckpointIsBitIdentical()
    {
        string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        var straight = Model();
        var resumed = TestDevices.Use("cpu", d =>
        {
            VaeEpochMetrics s2;
            using (var t = new VaeTrainer(d, straight, Small.Value, Options))
            {
                t.TrainEpoch();
                s2 = t.TrainEpoch().Metrics!;
            }
            using (var t = new VaeTrainer(d, Model(), Small.Value, Options))
            {
                t.TrainEpoch();
                using var cancel = new CancellationTokenSource();
                cancel.Cancel();
                t.TrainStep();
                Assert.False(t.TrainEpoch(cancel.Token).Completed);
                Assert.Equal(1, t.StepInEpoch);
                SafeTensors.Write(path, t.SaveState());
            }
            using var r = VaeTrainer.Resume(d, path, Small.Value);
            Assert.Equal(1, r.Epoch);
            var e = r.TrainEpoch().Metrics!;
            Assert.Equal(s2.TrainLoss, e.TrainLoss);
            Assert.Equal(s2.TestLoss, e.TestLoss);
            return r.Vae;
        });
        for (int t = 0; t < straight.Tensors.Count; t++)
            Assert.Equal(straight.Tensors[t].Values, resumed.Tensors[t].Values);
    }

    [Fact]
    public void StoppingEveryNStepsAndResumingMidEpochIsBitIdentical()
    {
        // 600 images in batches of 50: 12 steps per epoch. stopEvery 5 stops at the steps 5, 10,
        // (epoch 1 completes at 12), 15, ...: mid-epoch, counted over the run, not per call.
        string dir = TestPaths.TempDir();
        string straightPath = Path.Combine(dir, "straight.safetensors"), path = Path.Combine(dir, "model.safetensors"), endPath = Path.Combine(dir, "end.safetensors");
        TestDevices.Use("cpu", d =>
        {
            using (var t = new VaeTrainer(d, Model(), Small.Value, Options))
            {
                for (int e = 0; e < Options.Epochs; e++)
                    Assert.True(t.TrainEpoch().Completed);
                SafeTensors.Write(straightPath, t.SaveState());
            }
            using (var t = new VaeTrainer(d, Model(), Small.Value, Options))
            {
                var stops = new List<long>();
                while (!t.TrainEpoch(stopEvery: 5).Completed)
                    stops.Add(t.Step);
                Assert.Equal([5L, 10L], stops);
                Assert.Equal(12, t.Step);
                Assert.False(t.TrainEpoch(stopEvery: 5).Completed);
                Assert.Equal(15, t.Step);
                SafeTensors.Write(path, t.SaveState());
            }
            using var resumed = VaeTrainer.Resume(d, path, Small.Value);
            Assert.Equal(1, resumed.Epoch);
            Assert.Equal(15, resumed.Step);
            while (resumed.Epoch < Options.Epochs)
                resumed.TrainEpoch();
            SafeTensors.Write(endPath, resumed.SaveState());
            return 0;
        });
        var a = InfoGpu.Checkpoints.SafeTensors.Read(straightPath);
        var b = InfoGpu.Checkpoints.SafeTensors.Read(endPath);
        Assert.Contains("adam.v.fc1.weight", a.Tensors.Keys);
        foreach (var (name, t) in a.Tensors)
            Assert.True(t.Data.AsSpan().SequenceEqual(b.Tensors[name].Data), $"tensor {name} differs after stopping every 5 steps and resuming at step 15");
    }

    [Fact]
    public void CorruptCheckpointIsRefusedWithAOneLineMessage()
    {
        string path = Path.Combine(TestPaths.TempDir(), "model.safetensors");
        VaeCheckpoint.SaveModel(path, Model(), Options);
        var bytes = File.ReadAllBytes(path);
        bytes[^10] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsAny<InfoGpuException>(() => VaeCheckpoint.LoadModel(path));
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void CpuAndIlgpuCpuAgreeAfterSeveralSteps()
    {
        // 30 synthetic 7x7 images; 49-12-3 VAE; batch 8: four Adam steps.
        var images = Enumerable.Range(0, 30 * 49).Select(i => Philox.Uniform(8, 2, (ulong)i)).ToArray();
        var opts = new VaeTrainerOptions { BatchSize = 8, Epochs = 1, Seed = 2 };
        float[][] Run(string kind)
        {
            var vae = Vae.Create(49, 12, 3, 2);
            TestDevices.Use(kind, d =>
            {
                using var t = new VaeTrainer(d, vae, images, images.AsSpan(0, 5 * 49), opts);
                return t.TrainEpoch();
            });
            return vae.Tensors.Select(t => t.Values).ToArray();
        }
        var cpu = Run("cpu");
        var il = Run("ilgpu-cpu");
        for (int t = 0; t < cpu.Length; t++)
        {
            // Adam moves each parameter by about lr per step; float32 summation-order differences
            // between the SIMD and the ILGPU GEMMs stay orders of magnitude below that.
            Tolerance.AllClose(cpu[t].Select(v => (double)v).ToArray(), il[t].Select(v => (double)v).ToArray(), 0, 2e-5, $"tensor {t}");
        }
    }

    [Fact]
    public void MonteCarloElboConvergesToTheAnalyticKlVersion()
    {
        var vae = Trained(2);
        var r = TestDevices.Use("cpu", d =>
        {
            using var a = new VaeAnalysis(d, vae, Small.Value.Test.Images, capacity: 400);
            return a.MonteCarloElbo(200, 3, 100);
        });
        Assert.True(r.StandardError > 0);
        // Both estimate E_q[log p(x|z)] - KL on the same samples; they differ by the MC noise of the KL term only.
        Assert.True(Math.Abs(r.MonteCarlo - r.Analytic) < 5 * r.StandardError + 0.05, $"MC {r.MonteCarlo} vs analytic {r.Analytic} (se {r.StandardError})");
    }

    [Fact]
    public void ImportanceWeightedBoundIsAboveTheElboAndRisesWithK()
    {
        var vae = Trained(2);
        var (k1, k10, k100) = TestDevices.Use("cpu", d =>
        {
            using var a = new VaeAnalysis(d, vae, Small.Value.Test.Images, capacity: 256);
            return (a.ImportanceWeighted(1, 5, 100), a.ImportanceWeighted(10, 5, 100), a.ImportanceWeighted(300, 5, 100));
        });
        Tolerance.Close(k1.Elbo, k1.LogLikelihood, 1e-12, 0, "IWAE with K = 1 is the ELBO");
        Assert.True(k10.LogLikelihood > k10.Elbo, $"K=10: {k10.LogLikelihood} vs ELBO {k10.Elbo}");
        Assert.True(k10.LogLikelihood > k1.LogLikelihood, $"K=1 {k1.LogLikelihood}, K=10 {k10.LogLikelihood}");
        Assert.True(k100.LogLikelihood > k10.LogLikelihood, $"K=10 {k10.LogLikelihood}, K=300 {k100.LogLikelihood}");
    }

    [Fact]
    public void LatentStatisticsCountActiveUnits()
    {
        var vae = Trained(2);
        var s = TestDevices.Use("cpu", d =>
        {
            using var a = new VaeAnalysis(d, vae, Small.Value.Test.Images);
            return a.Latent();
        });
        Assert.Equal(s.MuVariance.Count(v => v > 0.01), s.ActiveUnits);
        Assert.InRange(s.ActiveUnits, 1, 6);
        Assert.True(s.SigmaMin > 0 && s.SigmaMin <= s.SigmaMean && s.SigmaMean <= s.SigmaMax);
        Assert.All(s.KlPerDimension, k => Assert.True(k >= -1e-9));
    }

    [Fact]
    public void NonFiniteLossStopsTrainingNamingStepAndTensor()
    {
        var vae = Model();
        vae.Tensors[7].Values[3] = float.NaN; // fc4.bias: the logits go NaN, the encoder stays finite
        var e = Assert.Throws<TrainingDivergedException>(() => TestDevices.Use("cpu", d =>
        {
            using var t = new VaeTrainer(d, vae, Small.Value, Options);
            return t.TrainEpoch();
        }));
        Assert.Contains("step 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("decoder logits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTrainLossDoesNotDependOnHowOftenItIsRead()
    {
        // The loss stays on the device and is summed on the host in the same order whenever it
        // is read: every step, every 5 steps, or only at the epoch's end (12 steps per epoch).
        var losses = new[] { 1, 5, 100 }.Select(every => TestDevices.Use("cpu", d =>
        {
            using var t = new VaeTrainer(d, Model(), Small.Value, Options with { CheckEvery = every });
            return new[] { t.TrainEpoch().Metrics!.TrainLoss, t.TrainEpoch().Metrics!.TrainLoss };
        })).ToList();
        Assert.Equal(losses[0], losses[1]);
        Assert.Equal(losses[0], losses[2]);
    }

    [Fact]
    public void ALossThatTurnsNonFiniteBetweenChecksIsNamedAtItsStep()
    {
        // NaN in Adam's first moment of fc4.bias: the resumed trainer's first step (step 2,
        // checked) has a finite loss, and its update makes fc4.bias NaN, so the loss of step 3
        // is the first that is not finite; with a check every 100 steps it is found at the
        // epoch's end (step 12), and the message names step 3.
        var e = Assert.Throws<TrainingDivergedException>(() => TestDevices.Use("cpu", d =>
        {
            TensorSet set;
            using (var t = new VaeTrainer(d, Model(), Small.Value, Options))
            {
                t.TrainStep();
                set = t.SaveState();
            }
            var m = set.GetFloat("adam.m.fc4.bias");
            m[5] = float.NaN;
            set.Add("adam.m.fc4.bias", m, m.Length);
            using var r = VaeTrainer.Resume(d, set, Small.Value);
            return r.TrainEpoch();
        }));
        Assert.Contains("diverged at step 3 (epoch 1, batch 3): its loss is not finite, found at step 12", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadDataIsRefusedWithAMessage()
    {
        var e = Assert.Throws<InfoGpuException>(() => TestDevices.Use("cpu", d => new VaeTrainer(d, Vae.Create(4, 3, 2, 1), new float[] { 0, 0.5f, 3, 1 }, [], new VaeTrainerOptions())));
        Assert.Contains("outside [0, 1]", e.Message, StringComparison.Ordinal);
    }
}
