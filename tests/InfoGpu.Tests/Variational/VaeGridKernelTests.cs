using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Variational;

/// <summary>
/// Each batched VAE operation of the fused grid step against the single-model operation run on
/// each model's block alone (itself checked against float64 in <see cref="VaeKernelTests"/>): three
/// models with their own seeds, betas and learning rates, at odd sizes, stacked at strides larger
/// than a block (workspaces of 9 rows holding 7), must give each model the same bits.
/// </summary>
public class VaeGridKernelTests
{
    private const int Models = 3, Rows = 7, Capacity = 9, Latent = 5, Cols = 37;
    private static readonly ulong[] Seeds = [3, 4, 5];
    private static readonly float[] Betas = [1f, 0.5f, 2f];
    private static readonly double[] Rates = [1e-3, 3e-3, 5e-4];

    private static float[] Random(long n, ulong stream, float scale = 1f, float shift = 0f) =>
        Enumerable.Range(0, (int)n).Select(i => (2 * Philox.Uniform(11, stream, (ulong)i) - 1) * scale + shift).ToArray();

    private static DeviceBuffer<T> Upload<T>(ComputeDevice d, T[] x)
        where T : unmanaged
    {
        var b = d.Allocate<T>(x.Length);
        b.CopyFrom(x);
        return b;
    }

    /// <summary>Model <paramref name="m"/>'s block of a stacked array as a buffer of its own.</summary>
    private static DeviceBuffer<float> Block(ComputeDevice d, float[] stacked, int m, long stride) =>
        Upload(d, stacked.AsSpan((int)(m * stride), (int)stride).ToArray());

    private static void SameBits(float[] stacked, long offset, float[] alone, string what)
    {
        for (int i = 0; i < alone.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(stacked[offset + i]) != BitConverter.SingleToInt32Bits(alone[i]))
                Assert.Fail($"{what}: value {i} is {stacked[offset + i]:R} batched, {alone[i]:R} alone");
        }
    }

    public static TheoryData<string> Kinds => new() { "cpu", "ilgpu-cpu" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ReparameterizeGivesEachModelItsOwnDraws(string kind)
    {
        long ss = (long)Capacity * 2 * Latent, sz = (long)Capacity * Latent;
        var stats = Random(Models * ss, 1, 2f);
        TestDevices.Use(kind, d =>
        {
            using var s = Upload(d, stats);
            using var eps = d.Allocate<float>(Models * sz);
            using var z = d.Allocate<float>(Models * sz);
            using var seeds = Upload(d, Seeds);
            // An odd offset: the first draw is the second of a Box-Muller pair.
            d.Backend.VaeReparameterizeBatched(s, ss, eps, z, sz, Rows, Latent, seeds, 21, 11, Models);
            float[] e = eps.ToArray(), zz = z.ToArray();
            for (int m = 0; m < Models; m++)
            {
                using var sm = Block(d, stats, m, ss);
                using var em = d.Allocate<float>(sz);
                using var zm = d.Allocate<float>(sz);
                d.Backend.VaeReparameterize(sm, em, zm, Rows, Latent, 1, Seeds[m], 21, 11);
                SameBits(e, m * sz, em.ToArray()[..(Rows * Latent)], $"{kind} eps of model {m}");
                SameBits(zz, m * sz, zm.ToArray()[..(Rows * Latent)], $"{kind} z of model {m}");
            }
            Assert.NotEqual(e[0], e[sz]);
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ReparameterizeBackwardUsesEachModelsBeta(string kind)
    {
        long ss = (long)Capacity * 2 * Latent, sz = (long)Capacity * Latent;
        var stats = Random(Models * ss, 2, 2f);
        var eps = Random(Models * sz, 3, 2f);
        var dz = Random(Models * sz, 4);
        TestDevices.Use(kind, d =>
        {
            using var s = Upload(d, stats);
            using var e = Upload(d, eps);
            using var g = Upload(d, dz);
            using var ds = d.Allocate<float>(Models * ss);
            using var betas = Upload(d, Betas);
            d.Backend.VaeReparameterizeBackwardBatched(s, ss, e, g, sz, ds, Rows, Latent, betas, Models);
            var result = ds.ToArray();
            for (int m = 0; m < Models; m++)
            {
                using var sm = Block(d, stats, m, ss);
                using var em = Block(d, eps, m, sz);
                using var gm = Block(d, dz, m, sz);
                using var dm = d.Allocate<float>(ss);
                d.Backend.VaeReparameterizeBackward(sm, em, gm, dm, Rows, Latent, Betas[m]);
                SameBits(result, m * ss, dm.ToArray()[..(Rows * 2 * Latent)], $"{kind} dstats of model {m}");
            }
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void KlAndCrossEntropyWriteEachModelsRowsAtItsOffset(string kind)
    {
        long ss = (long)Capacity * 2 * Latent, sx = (long)Capacity * Cols;
        const long offset = 3, stride = 2 * Rows + 4;
        var stats = Random(Models * ss, 5, 2f);
        var logits = Random(Models * sx, 6, 10f);
        var x = Random(Models * sx, 7, 0.5f, 0.5f);
        TestDevices.Use(kind, d =>
        {
            using var s = Upload(d, stats);
            using var l = Upload(d, logits);
            using var xb = Upload(d, x);
            using var losses = d.Allocate<float>(offset + (Models * stride));
            d.Backend.VaeCrossEntropyBatched(l, xb, sx, losses, offset, stride, Rows, Cols, Models);
            d.Backend.VaeKlBatched(s, ss, losses, offset + Rows, stride, Rows, Latent, Models);
            float[] all = losses.ToArray(), gradient = l.ToArray();
            for (int m = 0; m < Models; m++)
            {
                using var sm = Block(d, stats, m, ss);
                using var lm = Block(d, logits, m, sx);
                using var xm = Block(d, x, m, sx);
                using var ce = d.Allocate<float>(Rows);
                using var kl = d.Allocate<float>(Rows);
                d.Backend.VaeCrossEntropy(lm, xm, ce, Rows, Cols, 1, gradient: true);
                d.Backend.VaeKl(sm, kl, Rows, Latent);
                SameBits(all, offset + (m * stride), ce.ToArray(), $"{kind} cross-entropy of model {m}");
                SameBits(all, offset + (m * stride) + Rows, kl.ToArray(), $"{kind} KL of model {m}");
                SameBits(gradient, m * sx, lm.ToArray()[..(Rows * Cols)], $"{kind} logit gradient of model {m}");
            }
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ReluBackwardAndColumnSumsSumEachModelsColumns(string kind)
    {
        long sx = (long)Capacity * Cols;
        var dy = Random(Models * sx, 8);
        var y = Random(Models * sx, 9);
        TestDevices.Use(kind, d =>
        {
            using var g = Upload(d, dy);
            using var yb = Upload(d, y);
            using var reluSums = d.Allocate<float>(Models * Cols);
            using var sums = d.Allocate<float>(Models * Cols);
            d.Backend.VaeColumnSumsBatched(g, sx, sums, Rows, Cols, Models);
            d.Backend.VaeReluBackwardBatched(g, yb, sx, reluSums, Rows, Cols, Models);
            float[] masked = g.ToArray(), a = sums.ToArray(), b = reluSums.ToArray();
            for (int m = 0; m < Models; m++)
            {
                using var gm = Block(d, dy, m, sx);
                using var ym = Block(d, y, m, sx);
                using var sm = d.Allocate<float>(Cols);
                using var rm = d.Allocate<float>(Cols);
                d.Backend.VaeColumnSums(gm, sm, Rows, Cols);
                d.Backend.VaeReluBackward(gm, ym, rm, Rows, Cols);
                SameBits(a, m * Cols, sm.ToArray(), $"{kind} column sums of model {m}");
                SameBits(b, m * Cols, rm.ToArray(), $"{kind} ReLU backward sums of model {m}");
                SameBits(masked, m * sx, gm.ToArray()[..(Rows * Cols)], $"{kind} ReLU backward of model {m}");
            }
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AdamStepsEachModelWithItsLearningRate(string kind)
    {
        int[] lengths = [Cols * Latent, Cols];
        const long step = 3;
        const double b1 = 0.9, b2 = 0.999;
        var shared = new AdamArgs
        {
            OneMinusBeta1 = (float)(1 - b1),
            Beta2 = (float)b2,
            OneMinusBeta2 = (float)(1 - b2),
            Bias2Sqrt = (float)Math.Sqrt(1 - Math.Pow(b2, step)),
            Epsilon = 1e-8f,
        };
        var init = lengths.Select((n, t) => Enumerable.Range(0, 4).Select(k => Random(Models * n, (ulong)(20 + (4 * t) + k), k == 3 ? 0.01f : 1f, k == 3 ? 0.01f : 0f)).ToArray()).ToArray();
        TestDevices.Use(kind, d =>
        {
            var buffers = init.Select(t => t.Select(x => Upload(d, x)).ToArray()).ToArray();
            // Each model's step size at steps 1..4 of an "epoch"; the launch takes step 3's.
            var sizes = Rates.SelectMany(r => Enumerable.Range(1, 4).Select(t => (float)(r / (1 - Math.Pow(b1, t))))).ToArray();
            using var table = Upload(d, sizes);
            try
            {
                d.Backend.VaeAdamBatched([.. buffers.Select(b => b[0])], [.. buffers.Select(b => b[1])], [.. buffers.Select(b => b[2])], [.. buffers.Select(b => b[3])], table, step - 1, 4, shared, Models);
                for (int m = 0; m < Models; m++)
                {
                    var alone = init.Select((t, i) => t.Select(x => Block(d, x, m, lengths[i])).ToArray()).ToArray();
                    var args = shared with { StepSize = (float)(Rates[m] / (1 - Math.Pow(b1, step))) };
                    d.Backend.VaeAdam([.. alone.Select(b => b[0])], [.. alone.Select(b => b[1])], [.. alone.Select(b => b[2])], [.. alone.Select(b => b[3])], args);
                    for (int t = 0; t < lengths.Length; t++)
                    {
                        foreach (int k in new[] { 0, 2, 3 })
                            SameBits(buffers[t][k].ToArray(), m * lengths[t], alone[t][k].ToArray(), $"{kind} tensor {t} part {k} of model {m}");
                    }
                    foreach (var b in alone.SelectMany(x => x))
                        b.Dispose();
                }
            }
            finally
            {
                foreach (var b in buffers.SelectMany(x => x))
                    b.Dispose();
            }
            return 0;
        });
    }
}
