using System.Text.Json;
using InfoGpu.Data;
using InfoGpu.Restricted;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Restricted;

/// <summary>
/// Grey levels as data (binarize mode none) against scikit-learn's BernoulliRBM in the setting of
/// its own test_fit: the 1797 digits scaled to [0, 1], 64 hidden units, batch 10, learning rate 0.1,
/// 7 epochs, PCD-1 without momentum or weight decay, the pseudo-log-likelihood of the training
/// images (one pixel per image flipped to 1 - v, at numpy's RandomState(seed).randint(0, 64, 1797)).
/// </summary>
public class GreyLevelDigitsTests
{
    /// <summary>
    /// How far InfoGpu's mean pseudo-log-likelihood over 10 seeds may lie from scikit-learn's mean over
    /// 20 seeds (Reference/sklearn_digits_rbm.json), in nats per image. scikit-learn's own test_fit
    /// accepts one run within 1.5 of -21; the same 1.5 here covers what still differs between the two
    /// trainers: visible biases started at log(p/(1-p)) of the pixel means (sklearn: 0), batches in a
    /// shuffled order (sklearn: file order), and the persistent chains' hidden states drawn under the
    /// updated parameters (sklearn keeps those drawn before the update). Measured when this was written
    /// (20 seeds each): InfoGpu -20.06 +- 0.57, with zero visible biases -20.39 +- 0.63, scikit-learn
    /// -20.89 +- 0.52. The spread of one mean of 10 runs is about 0.2.
    /// </summary>
    private const double PseudoLogLikelihoodNats = 1.5;

    /// <summary>
    /// Relative tolerance of the mean reconstruction error: measured 2.36 +- 0.05 (InfoGpu) against
    /// 2.69 +- 0.08 (scikit-learn), 12% apart from the same differences as above (the pixel-mean
    /// visible biases give InfoGpu a head start); 20% bounds it.
    /// </summary>
    private const double ReconstructionRelative = 0.20;

    internal static RbmTrainerOptions SklearnSetting(ulong seed) => new()
    {
        Binarize = BinarizeMode.None,
        Sampler = RbmSamplerKind.Pcd,
        BatchSize = 10,
        LearningRate = 0.1,
        InitialMomentum = 0,
        FinalMomentum = 0,
        WeightDecay = 0,
        Epochs = 7,
        Seed = seed,
    };

    [Fact]
    public void GreyLevelTrainingMatchesScikitLearnOnDigits()
    {
        using var reference = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("sklearn_digits_rbm.json")));
        var root = reference.RootElement;
        double skPll = root.GetProperty("pseudo_log_likelihood_mean").GetDouble();
        double skRec = root.GetProperty("reconstruction_error_mean").GetDouble();
        Assert.Equal(20, root.GetProperty("runs").GetArrayLength());

        var data = FashionMnist.Load(TestPaths.Data("digits"));
        Assert.Equal(1797, data.Train.Count);
        Assert.Equal(64, data.Train.Pixels);
        var x = data.Train.AsVisibleData(BinarizeMode.None, 0, heldOut: false);
        Assert.Contains(x.Images, v => v > 0 && v < 1);
        var pll = new List<double>();
        var rec = new List<double>();
        for (ulong seed = 0; seed < 10; seed++)
        {
            var o = SklearnSetting(seed);
            var rbm = Rbm.Initialize(64, 64, seed, x.PixelMeans());
            var last = TestDevices.Use("cpu", d =>
            {
                using var t = new RbmTrainer(d, rbm, x.Images, x.Images, o);
                RbmEpochMetrics? m = null;
                for (int e = 0; e < o.Epochs; e++)
                {
                    while (t.StepInEpoch < t.StepsPerEpoch)
                        t.TrainStep();
                    m = t.EndEpoch();
                }
                return m!;
            });
            pll.Add(last.PseudoLogLikelihood);
            rec.Add(last.ReconstructionError);
        }
        Tolerance.Close(skPll, pll.Average(), 0, PseudoLogLikelihoodNats, $"mean pseudo-log-likelihood over 10 seeds (runs: {string.Join(", ", pll.Select(v => v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))})");
        Tolerance.Close(skRec, rec.Average(), ReconstructionRelative, 0, "mean reconstruction error over 10 seeds");
    }
}
