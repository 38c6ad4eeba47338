using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Measures;

/// <summary>
/// The batched float32 kernels against the float64 host path, applied to the very same float32
/// inputs, at odd shapes: 1, 3, 17, 257 columns on both backends, and up to 4099 on cpu.
/// </summary>
public class RowReductionTests
{
    /// <summary>Float32 sums of up to a few thousand terms, each with float32 log/exp rounding.</summary>
    private const double Rel = 2e-5;

    /// <summary>Absolute slack for results that are near zero (KL of nearly equal rows).</summary>
    private const double Abs = 2e-6;

    public static TheoryData<string, int, int> Shapes()
    {
        var data = new TheoryData<string, int, int>();
        foreach (int cols in new[] { 1, 3, 17, 257 })
        {
            data.Add("ilgpu-cpu", 5, cols);
            data.Add("cpu", 5, cols);
        }
        data.Add("cpu", 33, 1031);
        data.Add("cpu", 7, 4099);
        data.Add("ilgpu-cpu", 3, 1031);
        return data;
    }

    /// <summary>Random rows that sum to 1 (in float64, then stored as float32 and renormalized), some with exact zeros.</summary>
    internal static float[] Distributions(int rows, int cols, int seed, bool zeros)
    {
        var rng = new System.Random(seed);
        var result = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            var row = new double[cols];
            for (int j = 0; j < cols; j++)
            {
                row[j] = zeros && cols > 1 && rng.NextDouble() < 0.2 ? 0 : -Math.Log(rng.NextDouble());
                sum += row[j];
            }
            if (sum == 0)
            {
                row[0] = 1;
                sum = 1;
            }
            for (int j = 0; j < cols; j++)
                result[r * cols + j] = (float)(row[j] / sum);
        }
        return result;
    }

    private static double[] D(ReadOnlySpan<float> v)
    {
        var d = new double[v.Length];
        for (int i = 0; i < v.Length; i++)
            d[i] = v[i];
        return d;
    }

    private static double[] PerRow(float[] p, float[]? q, int cols, Func<double[], double[], double> f)
    {
        int rows = p.Length / cols;
        var result = new double[rows];
        for (int r = 0; r < rows; r++)
            result[r] = f(D(p.AsSpan(r * cols, cols)), q is null ? [] : D(q.AsSpan(r * cols, cols)));
        return result;
    }

    private static readonly DistributionOptions Loose = new(false, 1e-4);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EntropyMatchesFloat64(string kind, int rows, int cols)
    {
        var p = Distributions(rows, cols, 1, zeros: true);
        var got = TestDevices.Use(kind, d => new InformationMeasures(d).Entropy(p, cols, LogBase.Bits));
        var want = PerRow(p, null, cols, (a, _) => InformationMeasures64.Entropy(a, LogBase.Bits, Loose));
        Tolerance.AllClose(want, got.Select(v => (double)v).ToArray(), Rel, Abs, $"{kind} entropy {rows}x{cols}");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TwoDistributionMeasuresMatchFloat64(string kind, int rows, int cols)
    {
        // q strictly positive so that exact KL and cross-entropy stay finite; p has zeros.
        var p = Distributions(rows, cols, 2, zeros: true);
        var q = Distributions(rows, cols, 3, zeros: false);
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            Check(m.CrossEntropy(p, q, cols, LogBase.Nats), (a, b) => InformationMeasures64.CrossEntropy(a, b, LogBase.Nats, Loose), "cross-entropy");
            Check(m.KlDivergence(p, q, cols, LogBase.Bits), (a, b) => InformationMeasures64.KlDivergence(a, b, LogBase.Bits, null, Loose), "KL exact");
            Check(m.KlDivergence(p, q, cols, LogBase.Nats, 1e-10f), (a, b) => InformationMeasures64.KlDivergence(a, b, LogBase.Nats, 1e-10, Loose), "KL clipped");
            Check(m.JensenShannon(p, q, cols, LogBase.Nats), (a, b) => InformationMeasures64.JensenShannon(a, b, LogBase.Nats, null, Loose), "JS exact");
            Check(m.JensenShannon(p, q, cols, LogBase.Of(10), 1e-10f), (a, b) => InformationMeasures64.JensenShannon(a, b, LogBase.Of(10), 1e-10, Loose), "JS clipped");
            Check(m.JensenShannonDistance(p, q, cols, LogBase.Bits), (a, b) => InformationMeasures64.JensenShannonDistance(a, b, LogBase.Bits, null, Loose), "JS distance");
            return 0;
        });

        void Check(float[] got, Func<double[], double[], double> reference, string what) =>
            Tolerance.AllClose(PerRow(p, q, cols, reference), got.Select(v => (double)v).ToArray(), Rel, Abs, $"{kind} {what} {rows}x{cols}");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LogitLossesMatchFloat64(string kind, int rows, int cols)
    {
        var rng = new System.Random(4);
        var logits = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
        var targets = Enumerable.Range(0, rows).Select(r => r % cols).ToArray();
        var smoothings = cols >= 2
            ? new[] { LabelSmoothing.None, LabelSmoothing.OtherClasses(0.1), LabelSmoothing.Uniform(0.2) }
            : [LabelSmoothing.None, LabelSmoothing.Uniform(0.2)];
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            foreach (var s in smoothings)
            {
                var got = m.CrossEntropyFromLogits(logits, targets, cols, s);
                var want = new double[rows];
                for (int r = 0; r < rows; r++)
                    want[r] = InformationMeasures64.CrossEntropyLoss(D(logits.AsSpan(r * cols, cols)), [targets[r]], cols, s);
                Tolerance.AllClose(want, got.Select(v => (double)v).ToArray(), Rel, Abs, $"{kind} CE {s} {rows}x{cols}");
            }
            var soft = m.Softmax(logits, cols);
            var logSoft = m.LogSoftmax(logits, cols);
            var wantSoft = new double[logits.Length];
            var wantLog = new double[logits.Length];
            for (int r = 0; r < rows; r++)
            {
                var x = D(logits.AsSpan(r * cols, cols));
                double lse = InformationMeasures64.LogSumExp(x);
                for (int j = 0; j < cols; j++)
                {
                    wantLog[r * cols + j] = x[j] - lse;
                    wantSoft[r * cols + j] = Math.Exp(x[j] - lse);
                }
            }
            Tolerance.AllClose(wantSoft, soft.Select(v => (double)v).ToArray(), Rel, 1e-7, $"{kind} softmax");
            Tolerance.AllClose(wantLog, logSoft.Select(v => (double)v).ToArray(), Rel, 1e-5, $"{kind} log-softmax");
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GaussianKlAndKlDivLossMatchFloat64(string kind, int rows, int cols)
    {
        var rng = new System.Random(5);
        var mu = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var logVar = Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var target = Distributions(rows, cols, 6, zeros: true);
        var input = Distributions(rows, cols, 7, zeros: false).Select(v => MathF.Log(v)).ToArray();
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            var got = m.GaussianKl(mu, logVar, cols);
            var want = new double[rows];
            for (int r = 0; r < rows; r++)
                want[r] = InformationMeasures64.GaussianKl(D(mu.AsSpan(r * cols, cols)), D(logVar.AsSpan(r * cols, cols)));
            Tolerance.AllClose(want, got.Select(v => (double)v).ToArray(), Rel, 1e-5, $"{kind} Gaussian KL");

            double loss = m.KlDivLoss(input, target, cols);
            double wantLoss = 0;
            for (int i = 0; i < input.Length; i++)
                wantLoss += target[i] > 0 ? target[i] * (Math.Log(target[i]) - input[i]) : 0;
            Tolerance.Close(wantLoss / rows, loss, Rel, Abs, $"{kind} KL-div loss");
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void JointTablesAndSampleMutualInformationMatchFloat64(string kind)
    {
        const int nx = 3, ny = 5, count = 7;
        var tables = Distributions(count, nx * ny, 8, zeros: true);
        var rng = new System.Random(9);
        var x = Enumerable.Range(0, 1001).Select(_ => rng.Next(4) * 10 - 7).ToArray();
        var y = x.Select(v => (v + rng.Next(3)) % 5).ToArray();
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            var got = m.Joint(tables, nx, ny, LogBase.Bits);
            for (int t = 0; t < count; t++)
            {
                var want = InformationMeasures64.Joint(D(tables.AsSpan(t * nx * ny, nx * ny)), nx, ny, LogBase.Bits, Loose);
                Tolerance.Close(want.HX, got[t].HX, Rel, Abs, "H(X)");
                Tolerance.Close(want.HY, got[t].HY, Rel, Abs, "H(Y)");
                Tolerance.Close(want.HXY, got[t].HXY, Rel, Abs, "H(X,Y)");
                Tolerance.Close(want.MutualInformation, got[t].MutualInformation, Rel, 1e-5, "I(X;Y)");
            }
            var mi = m.MutualInformation(x, y, LogBase.Nats);
            var wantMi = InformationMeasures64.MutualInformation(x, y, LogBase.Nats);
            Tolerance.Close(wantMi.MutualInformation, mi.MutualInformation, Rel, 1e-5, $"{kind} MI from samples");
            Tolerance.Close(wantMi.HXY, mi.HXY, Rel, Abs, $"{kind} H(X,Y) from samples");
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void SelfInformationMatchesFloat64(string kind)
    {
        float[] p = [1f, 0.5f, 0.25f, 1e-6f, 0.9f, 0f, 0.3f, 0.7f, 0.123f];
        var got = TestDevices.Use(kind, d => new InformationMeasures(d).SelfInformation(p, LogBase.Bits));
        var want = p.Select(v => InformationMeasures64.SelfInformation(v, LogBase.Bits)).ToArray();
        Tolerance.AllClose(want, got.Select(v => (double)v).ToArray(), 1e-6, 1e-7, $"{kind} self-information");
        Assert.True(float.IsPositiveInfinity(got[5]), "self-information of p = 0 must be +inf");
    }
}
