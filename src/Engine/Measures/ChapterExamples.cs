namespace InfoGpu.Measures;

/// <summary>Cross-entropy of a correct prediction against its confidence, plain and label-smoothed (see <see cref="ChapterExamples.LabelSmoothingCurve"/>).</summary>
/// <param name="Classes">K.</param>
/// <param name="Epsilon">The smoothing mass.</param>
/// <param name="Confidence">The confidences p on the true class.</param>
/// <param name="Plain">-ln p.</param>
/// <param name="Torch">The loss with PyTorch's smoothing ((1 - eps) one-hot + eps/K).</param>
/// <param name="Textbook">The loss with the textbook's smoothing (1 - eps on the target, eps/(K - 1) on the others).</param>
public sealed record ConfidenceLossCurve(int Classes, double Epsilon, double[] Confidence, double[] Plain, double[] Torch, double[] Textbook)
{
    /// <summary>The confidence where the PyTorch-smoothed loss is smallest on the grid.</summary>
    public double TorchMinimum => Confidence[Array.IndexOf(Torch, Torch.Min())];

    /// <summary>The confidence where the textbook-smoothed loss is smallest on the grid.</summary>
    public double TextbookMinimum => Confidence[Array.IndexOf(Textbook, Textbook.Min())];

    /// <summary>Where the PyTorch-smoothed loss is smallest exactly: 1 - eps + eps/K.</summary>
    public double TorchOptimum => 1 - Epsilon + Epsilon / Classes;

    /// <summary>Where the textbook-smoothed loss is smallest exactly: 1 - eps.</summary>
    public double TextbookOptimum => 1 - Epsilon;
}

/// <summary>Whether a computation uses the float32 device path or the float64 host path.</summary>
public enum Precision
{
    /// <summary>float32 on a device, through <see cref="InformationMeasures"/>.</summary>
    Single,
    /// <summary>float64 on the host, through <c>InformationMeasures64</c>.</summary>
    Double,
}

/// <summary>
/// The worked examples of the information-theory chapter, each computed from its inputs
/// (the inputs of tests/InfoGpu.Tests/Reference/seed_values.json) on the device (float32) or in float64.
/// </summary>
public static class ChapterExamples
{
    /// <summary>The chapter's joint table of X (rows) and Y (columns).</summary>
    public static readonly double[] JointTable = [0.2, 0.1, 0.15, 0.55];

    /// <summary>The weather samples (0 sunny, 1 rainy) of the mutual-information example, repeated <see cref="WeatherRepeat"/> times.</summary>
    public static readonly int[] Weather = [0, 0, 0, 0, 1, 1, 1, 1, 0, 1];

    /// <summary>The umbrella samples (0 no umbrella, 1 umbrella), paired element by element with <see cref="Weather"/>.</summary>
    public static readonly int[] Umbrella = [0, 0, 0, 1, 1, 1, 1, 1, 0, 1];

    /// <summary>How many times <see cref="Weather"/> and <see cref="Umbrella"/> are repeated to make the samples of the mutual-information example (100 pairs).</summary>
    public const int WeatherRepeat = 10;

    /// <summary>Logits over 4 classes that favour the true class <see cref="LogitTarget"/> (the low cross-entropy example).</summary>
    public static readonly double[] GoodLogits = [1, 3.5, 0.5, 0.8];

    /// <summary>Logits over 4 classes that favour class 0 over the true class <see cref="LogitTarget"/> (the high cross-entropy example).</summary>
    public static readonly double[] BadLogits = [2, 0.5, 1.5, 1];

    /// <summary>The true class of the <see cref="GoodLogits"/> and <see cref="BadLogits"/> examples.</summary>
    public const int LogitTarget = 1;

    /// <summary>The label-smoothing logits (float32 values), 4 rows of 3 classes.</summary>
    public static readonly float[] SmoothingLogits =
    [
        0.6733807325363159f, 0.25761881470680237f, 0.46892473101615906f,
        0.46066606044769287f, -2.2457127571105957f, -0.37265658378601074f,
        4.416402816772461f, -1.275994062423706f, 0.9233144521713257f,
        0.5347017645835876f, 1.0698093175888062f, 1.618714451789856f,
    ];

    /// <summary>The true class of each of the 4 rows of <see cref="SmoothingLogits"/>.</summary>
    public static readonly int[] SmoothingTargets = [0, 1, 2, 1];

    /// <summary>The textbook's clipping epsilon for KL and Jensen-Shannon: p and q clipped to [1e-10, 1].</summary>
    public const double ClipEpsilon = 1e-10;

    /// <summary>x = linspace(-5, 5, 1000); N(mean, 1) density on x normalized to sum 1.</summary>
    public static double[] GaussianGrid(double mean)
    {
        const int n = 1000;
        var p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double x = -5 + 10.0 * i / (n - 1);
            p[i] = Math.Exp(-0.5 * (x - mean) * (x - mean)) / Math.Sqrt(2 * Math.PI);
            sum += p[i];
        }
        for (int i = 0; i < n; i++)
            p[i] /= sum;
        return p;
    }

    /// <summary>conf = linspace(0.1, 0.99, 50)[index].</summary>
    public static double Confidence(int index) => 0.1 + (0.99 - 0.1) * index / 49;

    /// <summary>Logits log([c, (1 - c) / 2, (1 - c) / 2]) whose softmax puts confidence c on class 0.</summary>
    public static double[] ConfidenceLogits(double c) => [Math.Log(c), Math.Log((1 - c) / 2), Math.Log((1 - c) / 2)];

    /// <summary>
    /// What the chapter's conditional-entropy listing prints for <see cref="JointTable"/> (bits):
    /// it sums over the wrong axis, weighting column j of the table by the row marginal p(x_j)
    /// and normalizing it by p(x_j) (and row i by the column marginal p(y_i)), which gives
    /// "H(X|Y)" = 0.7391 and "H(Y|X)" = 0.7921 instead of the correct 0.7474 and 0.8002
    /// (<see cref="InformationMeasures64.Joint"/>); the chain rule then misses by
    /// H(X,Y) - H(X) - 0.7921 = 0.0081 bits. Kept to show the difference, not to use.
    /// </summary>
    /// <returns>The listing's two values and the chain-rule gaps H(X,Y) - H(Y) - value and H(X,Y) - H(X) - value, in bits.</returns>
    public static (double HXGivenY, double HYGivenX, double GapXGivenY, double GapYGivenX) ListingConditionalEntropies()
    {
        const int n = 2;
        var t = JointTable;
        var px = new double[n];
        var py = new double[n];
        for (int a = 0; a < n; a++)
        {
            for (int b = 0; b < n; b++)
            {
                px[a] += t[a * n + b];
                py[b] += t[a * n + b];
            }
        }
        double hxGivenY = 0, hyGivenX = 0;
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < n; i++)
            {
                hxGivenY -= px[j] * Bits(t[i * n + j] / px[j]);
                hyGivenX -= py[j] * Bits(t[j * n + i] / py[j]);
            }
        }
        var joint = InformationMeasures64.Joint(t, n, n, LogBase.Bits);
        return (hxGivenY, hyGivenX, joint.HXY - joint.HY - hxGivenY, joint.HXY - joint.HX - hyGivenX);

        static double Bits(double p) => p > 0 ? p * Math.Log2(p) : 0;
    }

    /// <summary>
    /// Logits ln([p, (1 - p)/(K - 1), ...]) over <paramref name="classes"/> classes whose softmax puts
    /// probability <paramref name="confidence"/> on class 0 and spreads the rest evenly.
    /// </summary>
    public static double[] ConfidenceLogits(double confidence, int classes)
    {
        if (classes < 2)
            throw new InfoGpuException($"confidence logits need at least 2 classes (got {classes})");
        if (!(confidence > 0 && confidence < 1))
            throw new InfoGpuException($"confidence {confidence} must be in (0, 1)");
        var logits = new double[classes];
        Array.Fill(logits, Math.Log((1 - confidence) / (classes - 1)));
        logits[0] = Math.Log(confidence);
        return logits;
    }

    /// <summary>
    /// The chapter's exercise 5: the cross-entropy of a correct prediction (class 0 of
    /// <paramref name="classes"/>) against the confidence p placed on it, plain and label-smoothed
    /// with <paramref name="epsilon"/> in both conventions, at <paramref name="points"/> confidences
    /// evenly spaced from 1/K to 0.999. In float64.
    /// </summary>
    /// <remarks>
    /// Plain: -ln p, falling to 0 as p -&gt; 1. Smoothed with target t (t_0 on the true class),
    /// the loss -t_0 ln p - (1 - t_0) ln((1 - p)/(K - 1)) is smallest at p = t_0:
    /// 1 - eps + eps/K for PyTorch's convention, 1 - eps for the textbook's.
    /// </remarks>
    public static ConfidenceLossCurve LabelSmoothingCurve(int classes, double epsilon, int points = 400)
    {
        if (points < 2)
            throw new InfoGpuException($"a curve needs at least 2 points (got {points})");
        double lo = 1.0 / classes, hi = 0.999;
        var conf = new double[points];
        var plain = new double[points];
        var torch = new double[points];
        var textbook = new double[points];
        for (int i = 0; i < points; i++)
        {
            conf[i] = lo + (hi - lo) * i / (points - 1);
            var logits = ConfidenceLogits(conf[i], classes);
            plain[i] = InformationMeasures64.CrossEntropyFromLogits(logits, [0], classes)[0];
            torch[i] = InformationMeasures64.CrossEntropyFromLogits(logits, [0], classes, LabelSmoothing.Uniform(epsilon))[0];
            textbook[i] = InformationMeasures64.CrossEntropyFromLogits(logits, [0], classes, LabelSmoothing.OtherClasses(epsilon))[0];
        }
        return new ConfidenceLossCurve(classes, epsilon, conf, plain, torch, textbook);
    }

    /// <summary>Every example, in the reference's key order.</summary>
    public static IReadOnlyList<KeyValuePair<string, double>> Compute(InformationMeasures? device, Precision precision)
    {
        if (precision == Precision.Single && device is null)
            throw new ArgumentNullException(nameof(device), "the float32 path needs a device");
        var e = precision == Precision.Double ? (IExampleMath)new Exact() : new OnDevice(device!);
        var bits = LogBase.Bits;
        var nats = LogBase.Nats;
        var joint = e.Joint(JointTable, 2, 2, bits);
        var gp = GaussianGrid(0);
        var gq = GaussianGrid(1);
        var weather = Repeat(Weather, WeatherRepeat);
        var umbrella = Repeat(Umbrella, WeatherRepeat);
        var lsLogits = SmoothingLogits.Select(v => (double)v).ToArray();
        var list = new List<KeyValuePair<string, double>>
        {
            new("binary_entropy_max_bits", e.Entropy([0.5, 0.5], bits)),
            new("joint_H_X_bits", joint.HX),
            new("joint_H_Y_bits", joint.HY),
            new("joint_H_XY_bits", joint.HXY),
            new("joint_H_X_given_Y_bits", joint.HXGivenY),
            new("joint_H_Y_given_X_bits", joint.HYGivenX),
            new("joint_I_XY_bits", joint.MutualInformation),
            new("gauss_KL_pq_nats_clipped", e.Kl(gp, gq, ClipEpsilon)),
            new("gauss_KL_qp_nats_clipped", e.Kl(gq, gp, ClipEpsilon)),
            new("gauss_KL_pq_nats_exact", e.Kl(gp, gq, null)),
            new("gauss_KL_qp_nats_exact", e.Kl(gq, gp, null)),
            new("gauss_JS_nats_clipped", e.Js(gp, gq, ClipEpsilon)),
            new("gauss_JS_nats_exact", e.Js(gp, gq, null)),
            new("ce_good_logits_nats", e.LogitLoss(GoodLogits, [LogitTarget], 4, LabelSmoothing.None)),
            new("ce_bad_logits_nats", e.LogitLoss(BadLogits, [LogitTarget], 4, LabelSmoothing.None)),
            new("mi_weather_umbrella_bits", e.MutualInformation(weather, umbrella, bits)),
            new("entropy_fair_die_bits", e.Entropy(Enumerable.Repeat(1.0 / 6, 6).ToArray(), bits)),
            new("entropy_coin_0.8_bits", e.Entropy([0.8, 0.2], bits)),
            new("kl_gauss_N01_to_N2var2_nats", InformationMeasures64.GaussianKl(0, 1, 2, Math.Sqrt(2))),
            new("kl_gauss_N01_to_N2sd2_nats", InformationMeasures64.GaussianKl(0, 1, 2, 2)),
            new("ls_plain_ce_nats", e.LogitLoss(lsLogits, SmoothingTargets, 3, LabelSmoothing.None)),
            new("ls_0.1_textbook_nats", e.LogitLoss(lsLogits, SmoothingTargets, 3, LabelSmoothing.OtherClasses(0.1))),
            new("ls_0.3_textbook_nats", e.LogitLoss(lsLogits, SmoothingTargets, 3, LabelSmoothing.OtherClasses(0.3))),
            new("ls_0.1_torch_nats", e.LogitLoss(lsLogits, SmoothingTargets, 3, LabelSmoothing.Uniform(0.1))),
            new("ls_0.3_torch_nats", e.LogitLoss(lsLogits, SmoothingTargets, 3, LabelSmoothing.Uniform(0.3))),
        };
        foreach (int index in new[] { 20, 40, 49 })
        {
            string key = index switch { 20 => "0.5", 40 => "0.9", _ => "0.99" };
            list.Add(new($"confidence_loss_at_{key}_nats", e.LogitLoss(ConfidenceLogits(Confidence(index)), [0], 3, LabelSmoothing.None)));
        }
        return list;
    }

    private static int[] Repeat(int[] values, int times) =>
        Enumerable.Range(0, times).SelectMany(_ => values).ToArray();

    private interface IExampleMath
    {
        double Entropy(double[] p, LogBase b);

        JointInformation Joint(double[] table, int nx, int ny, LogBase b);

        double Kl(double[] p, double[] q, double? epsilon);

        double Js(double[] p, double[] q, double? epsilon);

        double LogitLoss(double[] logits, int[] targets, int classes, LabelSmoothing smoothing);

        double MutualInformation(int[] x, int[] y, LogBase b);
    }

    private sealed class Exact : IExampleMath
    {
        public double Entropy(double[] p, LogBase b) => InformationMeasures64.Entropy(p, b);

        public JointInformation Joint(double[] table, int nx, int ny, LogBase b) => InformationMeasures64.Joint(table, nx, ny, b);

        public double Kl(double[] p, double[] q, double? epsilon) => InformationMeasures64.KlDivergence(p, q, LogBase.Nats, epsilon);

        public double Js(double[] p, double[] q, double? epsilon) => InformationMeasures64.JensenShannon(p, q, LogBase.Nats, epsilon);

        public double LogitLoss(double[] logits, int[] targets, int classes, LabelSmoothing smoothing) =>
            InformationMeasures64.CrossEntropyLoss(logits, targets, classes, smoothing);

        public double MutualInformation(int[] x, int[] y, LogBase b) => InformationMeasures64.MutualInformation(x, y, b).MutualInformation;
    }

    private sealed class OnDevice(InformationMeasures m) : IExampleMath
    {
        public double Entropy(double[] p, LogBase b) => m.Entropy(F(p), p.Length, b)[0];

        public JointInformation Joint(double[] table, int nx, int ny, LogBase b) => m.Joint(F(table), nx, ny, b)[0];

        public double Kl(double[] p, double[] q, double? epsilon) =>
            m.KlDivergence(F(p), F(q), p.Length, LogBase.Nats, (float?)epsilon)[0];

        public double Js(double[] p, double[] q, double? epsilon) =>
            m.JensenShannon(F(p), F(q), p.Length, LogBase.Nats, (float?)epsilon)[0];

        public double LogitLoss(double[] logits, int[] targets, int classes, LabelSmoothing smoothing) =>
            m.CrossEntropyLoss(F(logits), targets, classes, smoothing);

        public double MutualInformation(int[] x, int[] y, LogBase b) => m.MutualInformation(x, y, b).MutualInformation;

        private static float[] F(double[] v) => v.Select(x => (float)x).ToArray();
    }
}
