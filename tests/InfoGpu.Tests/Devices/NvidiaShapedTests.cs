using System.Diagnostics;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;
using Xunit.Abstractions;

namespace InfoGpu.Tests.Devices;

/// <summary>
/// The GEMM (the RBM half-sweeps and their weight gradient) and the row reductions run on
/// ILGPU's CPU accelerator shaped like an NVIDIA GPU (warps of 32, every thread of a group
/// simulated by a thread of its own, barriers real) with a GPU's launch shapes, compared with
/// <c>cpu</c>: the GEMM in 16 x 16 tiles (groups of 256), the row kernels in groups of 256 (the
/// GPU default) and of 1024 (an NVIDIA GPU's largest). The usual <c>ilgpu-cpu</c> device runs
/// them in 4 x 4 tiles and groups of 16 only.
/// </summary>
/// <remarks>
/// Every simulated barrier wakes every thread of the group, about 20 ms for 256 threads and
/// 60 ms for 1024 on two busy cores, so the sizes keep the launch shapes and cut the grids:
/// the MNIST RBM's 784 visible units (49 tiles along the inner dimension of the hidden
/// half-sweep, 49 along the output of the visible one), a batch of 16 (one tile) and 24 hidden
/// units (one full and one partial tile); rows of 784 and 1000 columns (several entries per
/// thread) and of 10 (fewer entries than threads), two rows in groups of 256 and one, with
/// fewer kernels, in groups of 1024. About 15 s in all on this 2-core machine under load.
/// </remarks>
public class NvidiaShapedTests(ITestOutputHelper output)
{
    /// <summary>A float32 dot product of up to 784 terms of size about 0.3 summed in another order, then a sigmoid: a few ulps of the largest partial sums.</summary>
    private const double ProbabilityAbsolute = 2e-6;

    /// <summary>The weight gradient v^T h sums 16 products of 0 and 1: exact in float32 on both sides.</summary>
    private const double CountAbsolute = 0;

    /// <summary>Row reductions over 784 or 1000 columns, summed by a tree of 256 or 1024 threads against the CPU's eight lanes.</summary>
    private const double RowRelative = 2e-6;

    private const int Batch = 16, Visible = 784, Hidden = 24;

    private static float[] Normal(int n, ulong stream, double scale) =>
        Enumerable.Range(0, n).Select(i => (float)(scale * Philox.Normal(3, stream, (ulong)i))).ToArray();

    private static float[] Bits(int n, ulong stream) =>
        Enumerable.Range(0, n).Select(i => Philox.Uniform(3, stream, (ulong)i) < 0.4f ? 1f : 0f).ToArray();

    private static T Timed<T>(ITestOutputHelper output, string what, Func<T> body)
    {
        var watch = Stopwatch.StartNew();
        var result = body();
        output.WriteLine($"{what}: {watch.Elapsed.TotalSeconds:F1} s");
        return result;
    }

    private static (float[] P, float[] S) HalfSweep(ComputeDevice d, bool down, float[] input, float[] w, float[] bias)
    {
        int inCols = down ? Hidden : Visible, outCols = down ? Visible : Hidden;
        using var x = d.Allocate<float>(input.Length);
        using var wb = d.Allocate<float>(w.Length);
        using var bb = d.Allocate<float>(bias.Length);
        using var p = d.Allocate<float>((long)Batch * outCols);
        using var s = d.Allocate<float>((long)Batch * outCols);
        x.CopyFrom(input);
        wb.CopyFrom(w);
        bb.CopyFrom(bias);
        var e = new GemmEpilogue { Bias = bb, Activation = GemmActivation.Sigmoid, Samples = s, Seed = 5, Stream = 41, SampleOffset = 1000 };
        LinearAlgebra.Gemm.Multiply(down ? GemmLayout.NT : GemmLayout.NN, (x, Batch, inCols), (wb, Visible, Hidden), (p, Batch, outCols), e);
        return (p.ToArray(), s.ToArray());
    }

    private static float[] WeightGradient(ComputeDevice d, float[] v, float[] h)
    {
        using var vb = d.Allocate<float>(v.Length);
        using var hb = d.Allocate<float>(h.Length);
        using var g = d.Allocate<float>((long)Visible * Hidden);
        vb.CopyFrom(v);
        hb.CopyFrom(h);
        LinearAlgebra.Gemm.Multiply(GemmLayout.TN, (vb, Batch, Visible), (hb, Batch, Hidden), (g, Visible, Hidden), new GemmEpilogue());
        return g.ToArray();
    }

    /// <summary>Samples that differ although their uniform is farther than 1e-6 from p: none may (closer ones can fall either way with p's last bits).</summary>
    private static int SampleMismatches(float[] p, float[] a, float[] b)
    {
        int differ = 0;
        for (int k = 0; k < a.Length; k++)
        {
            if (a[k] != b[k] && Math.Abs(Philox.Uniform(5, 41, (ulong)(1000 + k)) - p[k]) >= 1e-6f)
                differ++;
        }
        return differ;
    }

    [Fact]
    public void RbmHalfSweepsAndWeightGradientMatchCpuIn16By16Tiles()
    {
        var w = Normal(Visible * Hidden, 1, 0.05);
        var b = Normal(Visible, 2, 0.5);
        var c = Normal(Hidden, 3, 0.5);
        var v = Bits(Batch * Visible, 4);
        var h = Bits(Batch * Hidden, 5);
        using var gpu = ComputeDevice.OpenNvidiaShapedCpu(rowGroupSize: 256, gemmTile: 16);
        Assert.Equal(32, gpu.Info.WarpSize);
        Assert.Equal(256, gpu.Info.MaxGroupSize);

        var (pUp, sUp) = Timed(output, "hidden half-sweep (NN, 16x784 by 784x24, sigmoid, Bernoulli)", () => HalfSweep(gpu, false, v, w, c));
        var (pUpCpu, sUpCpu) = TestDevices.Use("cpu", d => HalfSweep(d, false, v, w, c));
        Tolerance.AllClose(pUpCpu.Select(x => (double)x).ToArray(), pUp.Select(x => (double)x).ToArray(), 0, ProbabilityAbsolute, "p(h | v)");
        Assert.Equal(0, SampleMismatches(pUpCpu, sUpCpu, sUp));

        var (pDown, sDown) = Timed(output, "visible half-sweep (NT, 16x24 by (784x24)^T, sigmoid, Bernoulli)", () => HalfSweep(gpu, true, h, w, b));
        var (pDownCpu, sDownCpu) = TestDevices.Use("cpu", d => HalfSweep(d, true, h, w, b));
        Tolerance.AllClose(pDownCpu.Select(x => (double)x).ToArray(), pDown.Select(x => (double)x).ToArray(), 0, ProbabilityAbsolute, "p(v | h)");
        Assert.Equal(0, SampleMismatches(pDownCpu, sDownCpu, sDown));

        var g = Timed(output, "weight gradient (TN, (16x784)^T by 16x24)", () => WeightGradient(gpu, v, h));
        var gCpu = TestDevices.Use("cpu", d => WeightGradient(d, v, h));
        Tolerance.AllClose(gCpu.Select(x => (double)x).ToArray(), g.Select(x => (double)x).ToArray(), 0, CountAbsolute, "v^T h");
    }

    [Theory]
    [InlineData(256, 2)]
    [InlineData(1024, 1)]
    public void RowReductionsMatchCpuInGroupsOf(int groupSize, int rows)
    {
        bool all = groupSize <= 256;
        var p = Distribution(rows, Visible, 6);
        var q = Distribution(rows, Visible, 7);
        // Logits: 1000 classes (more columns than threads) and 10 (fewer).
        var wide = Normal(rows * 1000, 8, 3.0);
        var narrow = Normal(rows * 10, 9, 3.0);
        var wideTargets = Enumerable.Range(0, rows).Select(r => (r * 37) % 1000).ToArray();
        var narrowTargets = Enumerable.Range(0, rows).Select(r => r % 10).ToArray();
        using var gpu = ComputeDevice.OpenNvidiaShapedCpu(rowGroupSize: groupSize, gemmTile: 16);
        var onGpu = Timed(output, $"{rows} rows of reductions in groups of {groupSize}", () => Reductions(gpu, p, q, wide, wideTargets, narrow, narrowTargets, rows, all));
        var onCpu = TestDevices.Use("cpu", d => Reductions(d, p, q, wide, wideTargets, narrow, narrowTargets, rows, all));
        foreach (var (name, values) in onCpu)
            Tolerance.AllClose(values.Select(x => (double)x).ToArray(), onGpu[name].Select(x => (double)x).ToArray(), RowRelative, 1e-7, $"{name} in groups of {groupSize}");
    }

    private static float[] Distribution(int rows, int cols, ulong stream)
    {
        var x = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < cols; j++)
            {
                // Some exact zeros, a wide range of magnitudes.
                double u = Philox.Uniform(3, stream, (ulong)(r * cols + j));
                double v = u < 0.1 ? 0 : Math.Exp(-12 * u);
                x[r * cols + j] = (float)v;
                sum += v;
            }
            for (int j = 0; j < cols; j++)
                x[r * cols + j] = (float)(x[r * cols + j] / sum);
        }
        return x;
    }

    /// <summary>Entropy and the plain logit loss over 1000 classes; with <paramref name="all"/> also KL, JS, softmax and a smoothed loss over 10 classes.</summary>
    private static Dictionary<string, float[]> Reductions(ComputeDevice d, float[] p, float[] q, float[] wide, int[] wideTargets, float[] narrow, int[] narrowTargets, int rows, bool all)
    {
        var m = new InformationMeasures(d);
        var r = new Dictionary<string, float[]> { ["entropy"] = m.Entropy(p, Visible, LogBase.Nats) };
        var wideLoss = new float[rows];
        d.Backend.LogitLoss(wide, wideTargets, wideLoss, rows, 1000, 0f, LogitMath.Plain);
        r["logit loss, 1000 classes"] = wideLoss;
        if (all)
        {
            r["KL"] = m.KlDivergence(p, q, Visible, LogBase.Nats);
            r["JS"] = m.JensenShannon(p, q, Visible, LogBase.Nats);
            r["softmax"] = m.Softmax(wide, 1000);
            var narrowLoss = new float[rows];
            d.Backend.LogitLoss(narrow, narrowTargets, narrowLoss, rows, 10, 0.1f, LogitMath.SmoothingUniform);
            r["logit loss, 10 classes, smoothing"] = narrowLoss;
        }
        return r;
    }
}
