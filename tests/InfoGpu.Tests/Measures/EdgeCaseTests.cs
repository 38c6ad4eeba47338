using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Measures;

public class EdgeCaseTests
{
    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ZerosFollowTheConventions(string kind)
    {
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            // 0 log 0 = 0: a point mass has zero entropy, and zeros add nothing.
            Assert.Equal(0f, m.Entropy([0f, 1f, 0f], 3, LogBase.Bits)[0]);
            Tolerance.Close(1.0, m.Entropy([0.5f, 0f, 0.5f], 3, LogBase.Bits)[0], 1e-6);
            // q = 0 < p: KL and cross-entropy are +inf; p = 0 where q = 0 contributes nothing.
            Assert.True(float.IsPositiveInfinity(m.KlDivergence([0.5f, 0.5f], [1f, 0f], 2, LogBase.Nats)[0]));
            Assert.True(float.IsPositiveInfinity(m.CrossEntropy([0.5f, 0.5f], [1f, 0f], 2, LogBase.Nats)[0]));
            Tolerance.Close(Math.Log(2), m.KlDivergence([1f, 0f], [0.5f, 0.5f], 2, LogBase.Nats)[0], 1e-6);
            Assert.Equal(0f, m.KlDivergence([1f, 0f], [1f, 0f], 2, LogBase.Nats)[0]);
            // The clipped variant stays finite where exact KL is infinite.
            float clipped = m.KlDivergence([0.5f, 0.5f], [1f, 0f], 2, LogBase.Nats, 1e-10f)[0];
            Assert.True(float.IsFinite(clipped) && clipped > 5, $"clipped KL {clipped}");
            // JS of disjoint supports is ln 2 and its distance sqrt(ln 2).
            Tolerance.Close(Math.Log(2), m.JensenShannon([1f, 0f], [0f, 1f], 2, LogBase.Nats)[0], 1e-6);
            Tolerance.Close(1.0, m.JensenShannonDistance([1f, 0f], [0f, 1f], 2, LogBase.Bits)[0], 1e-6);
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ExtremeLogitsGiveFiniteLosses(string kind)
    {
        float[] logits = [1e4f, -1e4f, 0f, -1e4f, 1e4f, 1e4f];
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            var ce = m.CrossEntropyFromLogits(logits, [1, 2], 3);
            Tolerance.Close(2e4, ce[0], 1e-6, 0, "loss of a target logit 2e4 below the max");
            Tolerance.Close(Math.Log(2), ce[1], 1e-6, 0, "two tied maxima");
            var smoothed = m.CrossEntropyFromLogits(logits, [0, 1], 3, LabelSmoothing.Uniform(0.1));
            Assert.All(smoothed, v => Assert.True(float.IsFinite(v)));
            var soft = m.Softmax(logits, 3);
            Assert.All(soft, v => Assert.True(float.IsFinite(v)));
            Assert.Equal(1f, soft[0]);
            Assert.Equal(0.5f, soft[4]);
            var logSoft = m.LogSoftmax(logits, 3);
            Assert.Equal(-2e4f, logSoft[1]);
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ResultsAreBitIdenticalFromRunToRun(string kind)
    {
        var p = RowReductionTests.Distributions(9, 300, 11, zeros: true);
        var q = RowReductionTests.Distributions(9, 300, 12, zeros: false);
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            Assert.Equal(m.KlDivergence(p, q, 300, LogBase.Nats), m.KlDivergence(p, q, 300, LogBase.Nats));
            Assert.Equal(m.Entropy(p, 300, LogBase.Bits), m.Entropy(p, 300, LogBase.Bits));
            return 0;
        });
    }

    [Fact]
    public void InvalidRowsAreNamedWithTheProblem()
    {
        var m = new InformationMeasures(TestDevices.Get("cpu"));
        var e = Assert.Throws<InfoGpuException>(() => m.Entropy([0.5f, 0.5f, 0.2f, -0.2f, 1f, 0f], 2, LogBase.Bits));
        Assert.Contains("row 1", e.Message);
        Assert.Contains("negative", e.Message);
        e = Assert.Throws<InfoGpuException>(() => m.Entropy([0.5f, float.NaN], 2, LogBase.Bits));
        Assert.Contains("NaN", e.Message);
        e = Assert.Throws<InfoGpuException>(() => m.Entropy([0.5f, 0.6f], 2, LogBase.Bits));
        Assert.Contains("sums to 1.1", e.Message);
        e = Assert.Throws<InfoGpuException>(() => m.Entropy([0.5f, 0.5f, 0.5f], 2, LogBase.Bits));
        Assert.Contains("whole rows", e.Message);
        e = Assert.Throws<InfoGpuException>(() => m.KlDivergence([0.5f, 0.5f], [1f], 2, LogBase.Bits));
        Assert.Contains("pair the rows", e.Message);
        e = Assert.Throws<InfoGpuException>(() => m.CrossEntropyFromLogits([1f, 2f], [2], 2));
        Assert.Contains("class 2", e.Message);
        Assert.Throws<InfoGpuException>(() => LogBase.Of(1));
        Assert.Throws<InfoGpuException>(() => LogBase.Parse("x"));
        Assert.Throws<InfoGpuException>(() => m.MutualInformation([1, 2], [1], LogBase.Bits));
    }

    [Fact]
    public void NormalizeOptionRescalesRows()
    {
        var m = new InformationMeasures(TestDevices.Get("cpu"));
        var h = m.Entropy([2f, 2f, 1f, 3f], 2, LogBase.Bits, new DistributionOptions(Normalize: true));
        Tolerance.Close(1.0, h[0], 1e-6);
        Tolerance.Close(InformationMeasures64.Entropy([0.25, 0.75], LogBase.Bits), h[1], 1e-6);
        Assert.Throws<InfoGpuException>(() => m.Entropy([0f, 0f], 2, LogBase.Bits, new DistributionOptions(Normalize: true)));
    }

    [Fact]
    public void LogBasesConvert()
    {
        double nats = InformationMeasures64.Entropy([0.2, 0.3, 0.5], LogBase.Nats);
        Tolerance.Close(nats / Math.Log(2), InformationMeasures64.Entropy([0.2, 0.3, 0.5], LogBase.Bits), 1e-14);
        Tolerance.Close(nats / Math.Log(10), InformationMeasures64.Entropy([0.2, 0.3, 0.5], LogBase.Parse("10")), 1e-14);
        Tolerance.Close(nats / Math.Log(3), InformationMeasures64.Entropy([0.2, 0.3, 0.5], LogBase.Of(3)), 1e-14);
    }
}

/// <summary>The one-pass check-and-reduce of the cpu backend finds every bad row the separate check finds, and gives the same numbers.</summary>
public class FusedCheckTests
{
    public static TheoryData<string> Kinds() => ["cpu", "ilgpu-cpu"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ABadEntryAnywhereIsNamed(string kind)
    {
        const int rows = 300, cols = 83; // 83 = 5 vectors of 16 + a tail of 3; 300 x 83 runs in parallel on cpu
        TestDevices.Use(kind, d =>
        {
            var m = new InformationMeasures(d);
            foreach (int col in new[] { 0, 17, 81 })
            {
                foreach (float bad in new[] { -1e-3f, float.NaN, float.PositiveInfinity })
                {
                    var p = RowReductionTests.Distributions(rows, cols, 3, zeros: true);
                    var q = RowReductionTests.Distributions(rows, cols, 4, zeros: false);
                    q[277 * cols + col] = bad;
                    var e = Assert.Throws<InfoGpuException>(() => m.KlDivergence(p, q, cols, LogBase.Nats));
                    Assert.Contains("KL divergence q", e.Message);
                    Assert.Contains("row 277", e.Message);
                    Assert.Contains($"entry {col}", e.Message);
                    (p, q) = (q, p);
                    e = Assert.Throws<InfoGpuException>(() => m.Entropy(p, cols, LogBase.Nats));
                    Assert.Contains("row 277", e.Message);
                }
            }
            var off = RowReductionTests.Distributions(rows, cols, 5, zeros: false);
            off[299 * cols + 80] += 1e-3f;
            var sum = Assert.Throws<InfoGpuException>(() => m.CrossEntropy(off, off, cols, LogBase.Nats));
            Assert.Contains("row 299", sum.Message);
            Assert.Contains("sums to", sum.Message);
            return 0;
        });
    }

    [Fact]
    public void FusedAndPlainKernelsAgreeBitForBit()
    {
        const int rows = 257, cols = 1031;
        var p = RowReductionTests.Distributions(rows, cols, 8, zeros: true);
        var q = RowReductionTests.Distributions(rows, cols, 9, zeros: false);
        var fused = new float[rows];
        var plain = new float[rows];
        Assert.True(CpuRowKernels.CheckedRowReduce(p, q, fused, rows, cols, 1f, new KlTerm(), true, 1e-4));
        CpuRowKernels.RowReduce(p, q, plain, rows, cols, 1f, new KlTerm());
        Assert.Equal(plain, fused);
        Assert.True(CpuRowKernels.CheckedRowReduce(p, p, fused, rows, cols, 2f, new EntropyTerm(), false, 1e-4));
        CpuRowKernels.RowReduce(p, p, plain, rows, cols, 2f, new EntropyTerm());
        Assert.Equal(plain, fused);
        // A row summing to 1 + 2e-4 fails the check at tolerance 1e-4 and passes it at 1e-3.
        p[100 * cols + 3] += 2e-4f;
        Assert.False(CpuRowKernels.CheckedRowReduce(p, p, fused, rows, cols, 1f, new EntropyTerm(), false, 1e-4));
        Assert.True(CpuRowKernels.CheckedRowReduce(p, p, fused, rows, cols, 1f, new EntropyTerm(), false, 1e-3));
    }
}
