using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Gemm;

/// <summary>
/// <see cref="InfoGpu.LinearAlgebra.Gemm.MultiplyBatched"/>: every model of the batch gets the
/// bits of the same product computed alone by <see cref="InfoGpu.LinearAlgebra.Gemm.Multiply(GemmLayout, MatrixView, MatrixView, MatrixView, in GemmEpilogue)"/>
/// (itself checked against float64 in <see cref="GemmTests"/>), draws included, in one launch.
/// </summary>
public class GemmBatchedTests
{
    public static TheoryData<string, GemmLayout, int, int, int, int> Cases()
    {
        var data = new TheoryData<string, GemmLayout, int, int, int, int>();
        foreach (string kind in new[] { "cpu", "ilgpu-cpu" })
        {
            foreach (var layout in new[] { GemmLayout.NN, GemmLayout.NT, GemmLayout.TN })
            {
                data.Add(kind, layout, 7, 9, 5, 3);
                data.Add(kind, layout, 17, 33, 19, 4);
                data.Add(kind, layout, 1, 1, 1, 1);
            }
        }
        return data;
    }

    private static float[] Random(long n, ulong stream) =>
        Enumerable.Range(0, (int)n).Select(i => 2 * Philox.Uniform(9, stream, (ulong)i) - 1).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryModelHasTheBitsOfItsProductAlone(string kind, GemmLayout layout, int m, int n, int k, int models) =>
        TestDevices.Use(kind, d => Check(d, layout, m, n, k, models, shareB: false));

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void AStrideOfZeroSharesAnOperand(string kind) =>
        TestDevices.Use(kind, d => Check(d, GemmLayout.NT, 11, 13, 6, 3, shareB: true));

    private static int Check(ComputeDevice d, GemmLayout layout, int m, int n, int k, int models, bool shareB)
    {
        long aLen = (long)m * k, bLen = (long)k * n, cLen = (long)m * n;
        long aStride = aLen + 2, bStride = shareB ? 0 : bLen + 1, cStride = cLen + 4, biasStride = n + 1, sStride = cLen + 3;
        var a = Random(3 + (models * aStride), 1);
        var b = Random(5 + (models * Math.Max(bStride, bLen)), 2);
        var bias = Random(models * biasStride, 3);
        var bias2 = Random(models * biasStride, 4);
        ulong[] seeds = [.. Enumerable.Range(0, models).Select(z => (ulong)(11 + (7 * z)))];
        using var da = d.Allocate<float>(a.Length);
        using var db = d.Allocate<float>(b.Length);
        using var dbias = d.Allocate<float>(bias.Length);
        using var dbias2 = d.Allocate<float>(bias2.Length);
        using var dseeds = d.Allocate<ulong>(models);
        using var dc = d.Allocate<float>(models * cStride);
        using var ds = d.Allocate<float>(models * sStride);
        da.CopyFrom(a);
        db.CopyFrom(b);
        dbias.CopyFrom(bias);
        dbias2.CopyFrom(bias2);
        dseeds.CopyFrom(seeds);
        MatrixView AView(long off) => layout == GemmLayout.TN ? new MatrixView(da, k, m, off) : new MatrixView(da, m, k, off);
        MatrixView BView(long off) => layout == GemmLayout.NT ? new MatrixView(db, n, k, off) : new MatrixView(db, k, n, off);
        var epilogue = new GemmEpilogue { Alpha = 0.7f, Bias = dbias, Bias2 = dbias2, Bias2Scale = -0.5f, Activation = GemmActivation.Sigmoid, Samples = ds, Stream = 41, SampleOffset = 17 };
        InfoGpu.LinearAlgebra.Gemm.MultiplyBatched(layout, AView(3), BView(5), new MatrixView(dc, m, n, 0), epilogue, new GemmBatch
        {
            Count = models,
            AStride = aStride,
            BStride = bStride,
            CStride = cStride,
            BiasStride = biasStride,
            Bias2Stride = biasStride,
            SamplesStride = sStride,
            Seeds = dseeds,
        });
        float[] batched = dc.ToArray(), batchedSamples = ds.ToArray();

        using var alone = d.Allocate<float>(cLen);
        using var aloneSamples = d.Allocate<float>(cLen);
        using var b1 = d.Allocate<float>(n);
        using var b2 = d.Allocate<float>(n);
        for (int z = 0; z < models; z++)
        {
            b1.CopyFrom(bias.AsSpan((int)(z * biasStride), n));
            b2.CopyFrom(bias2.AsSpan((int)(z * biasStride), n));
            InfoGpu.LinearAlgebra.Gemm.Multiply(layout, AView(3 + (z * aStride)), BView(5 + (z * bStride)), (alone, m, n), epilogue with { Bias = b1, Bias2 = b2, Samples = aloneSamples, Seed = seeds[z] });
            float[] c = alone.ToArray(), s = aloneSamples.ToArray();
            for (int i = 0; i < cLen; i++)
            {
                float x = batched[(z * cStride) + i], y = batchedSamples[(z * sStride) + i];
                Assert.True(BitConverter.SingleToInt32Bits(x) == BitConverter.SingleToInt32Bits(c[i]), $"{d.Info.Kind} {layout} model {z} C[{i / n}, {i % n}]: batched {x:R}, alone {c[i]:R}");
                Assert.True(y == s[i], $"{d.Info.Kind} {layout} model {z} sample [{i / n}, {i % n}]: batched {y}, alone {s[i]}");
                Assert.True(float.IsFinite(x) && x > 0 && x < 1, $"model {z} C[{i}] = {x} is not a sigmoid output");
            }
            // The gaps between the models' results are left as they were (zero).
            for (long i = cLen; i < cStride && z < models - 1; i++)
                Assert.Equal(0f, batched[(z * cStride) + i]);
        }
        return 0;
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void ABatchIsOneLaunch(string kind)
    {
        // A device of the test's own: other tests' work on the shared devices would count.
        using var d = ComputeDevice.Open(kind == "cpu" ? DeviceKind.Cpu : DeviceKind.IlgpuCpu);
        using var a = d.Allocate<float>(16 * 5 * 7);
        using var b = d.Allocate<float>(7 * 9);
        using var c = d.Allocate<float>(16 * 5 * 9);
        var batch = new GemmBatch { Count = 16, AStride = 35, CStride = 45 };
        InfoGpu.LinearAlgebra.Gemm.MultiplyBatched(GemmLayout.NN, (a, 5, 7), (b, 7, 9), (c, 5, 9), GemmEpilogue.None, batch);
        d.Synchronize();
        var before = d.Counters;
        InfoGpu.LinearAlgebra.Gemm.MultiplyBatched(GemmLayout.NN, (a, 5, 7), (b, 7, 9), (c, 5, 9), GemmEpilogue.None, batch);
        var used = d.Counters - before;
        Assert.Equal(new DeviceCounters(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), used);
    }

    [Theory]
    [InlineData(2, 44L, 0, "overlap")]
    [InlineData(2, 45L, 1, "seeds for 2 models")]
    [InlineData(3, 45L, 0, "C of the last model")]
    [InlineData(0, 45L, 0, "at least one model")]
    public void BadBatchesAreRefusedWithTheReason(int count, long cStride, int seeds, string expected) =>
        TestDevices.Use("cpu", d =>
        {
            using var a = d.Allocate<float>(2 * 5 * 7);
            using var b = d.Allocate<float>(7 * 9);
            using var c = d.Allocate<float>(2 * 5 * 9);
            using var s = d.Allocate<ulong>(Math.Max(seeds, 1));
            var e = Assert.Throws<InfoGpuException>(() => InfoGpu.LinearAlgebra.Gemm.MultiplyBatched(GemmLayout.NN, (a, 5, 7), (b, 7, 9), (c, 5, 9), GemmEpilogue.None, new GemmBatch
            {
                Count = count,
                AStride = count == 3 ? 0 : 35,
                CStride = cStride,
                Seeds = seeds > 0 ? s : null,
            }));
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            return 0;
        });
}
