using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Gemm;

public class GemmTests
{
    /// <summary>Float32 products of k terms in [-1, 1] against float64: about sqrt(k) ulps; 1e-5 of the row scale is ample.</summary>
    private const double Abs = 2e-5;

    /// <summary>
    /// Shapes that are not multiples of any tile (1x1x1, 17x33x65, 129x1x7, 5x33x7, 37x29x19), the
    /// RBM's 100x784x500, every layout; on cpu and ilgpu-cpu, and on cuda with INFOGPU_TEST_CUDA=1
    /// (there through cuBLAS and the epilogue kernel).
    /// </summary>
    public static TheoryData<string, GemmLayout, int, int, int> Cases()
    {
        var data = new TheoryData<string, GemmLayout, int, int, int>();
        var kinds = new List<string> { "cpu", "ilgpu-cpu" };
        if (TestDevices.CudaRequested)
            kinds.Add("cuda");
        foreach (var layout in new[] { GemmLayout.NN, GemmLayout.NT, GemmLayout.TN })
        {
            foreach (string kind in kinds)
            {
                data.Add(kind, layout, 37, 29, 19);
                data.Add(kind, layout, 1, 1, 1);
                data.Add(kind, layout, 5, 33, 7);
                data.Add(kind, layout, 17, 33, 65);
                data.Add(kind, layout, 129, 1, 7);
                data.Add(kind, layout, 100, 784, 500);
            }
            data.Add("cpu", layout, 130, 517, 300);
            data.Add("cpu", layout, 3, 64, 600);
        }
        return data;
    }

    /// <summary>The GPU's kernel shape (16 x 16 threads, 64 x 64 blocks, k-slices of 16) on the NVIDIA-shaped CPU accelerator, at shapes with partial blocks and slices.</summary>
    public static TheoryData<GemmLayout, int, int, int> GpuShapeCases()
    {
        var data = new TheoryData<GemmLayout, int, int, int>();
        foreach (var layout in new[] { GemmLayout.NN, GemmLayout.NT, GemmLayout.TN })
        {
            data.Add(layout, 17, 33, 65);
            data.Add(layout, 70, 129, 17);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GpuShapeCases))]
    public void GpuShapedKernelMatchesFloat64(GemmLayout layout, int m, int n, int k)
    {
        using var gpu = ComputeDevice.OpenNvidiaShapedCpu(rowGroupSize: 256, gemmTile: 16);
        Assert.Contains("64x64", gpu.Info.Gemm);
        lock (gpu)
            CheckAgainstFloat64(gpu, $"nvidia-shaped {layout}", layout, m, n, k, GemmRoute.Auto);
    }

    [SkippableTheory]
    [InlineData(GemmLayout.NN)]
    [InlineData(GemmLayout.NT)]
    [InlineData(GemmLayout.TN)]
    public void HandWrittenKernelOnCudaMatchesFloat64(GemmLayout layout)
    {
        var cuda = TestDevices.Cuda;
        Skip.If(cuda is null, "no CUDA device: the hand-written GEMM's CUDA run is checked on a GPU machine only");
        lock (cuda)
        {
            CheckAgainstFloat64(cuda, "cuda hand-written", layout, 17, 33, 65, GemmRoute.HandWritten);
            CheckAgainstFloat64(cuda, "cuda hand-written", layout, 100, 784, 500, GemmRoute.HandWritten);
        }
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void VendorRouteIsRefusedWithoutCublas(string kind)
    {
        TestDevices.Use(kind, d =>
        {
            using var a = d.Allocate<float>(4);
            var e = Assert.Throws<InfoGpuException>(() => InfoGpu.LinearAlgebra.Gemm.Multiply(GemmLayout.NN, (a, 2, 2), (a, 2, 2), (a, 2, 2), GemmEpilogue.None, GemmRoute.Vendor));
            Assert.Contains("needs cuBLAS on a cuda device", e.Message);
            Assert.False(string.IsNullOrEmpty(d.Info.Gemm));
            return 0;
        });
    }

    private static float[] Random(int n, ulong stream) =>
        Enumerable.Range(0, n).Select(i => 2 * Philox.Uniform(5, stream, (ulong)i) - 1).ToArray();

    private static double Op(float[] x, GemmLayout layout, bool isA, int r, int c, int rows, int cols)
    {
        // op(A)[r, c] (m x k) or op(B)[r, c] (k x n) from row-major storage.
        bool transposed = isA ? layout == GemmLayout.TN : layout == GemmLayout.NT;
        return transposed ? x[c * rows + r] : x[r * cols + c];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesFloat64WithEveryEpilogue(string kind, GemmLayout layout, int m, int n, int k) =>
        TestDevices.Use(kind, d => CheckAgainstFloat64(d, kind, layout, m, n, k, GemmRoute.Auto));

    private static int CheckAgainstFloat64(ComputeDevice d, string kind, GemmLayout layout, int m, int n, int k, GemmRoute route)
    {
        var a = Random(m * k + 3, 1);
        var b = Random(k * n + 5, 2);
        var c0 = Random(m * n, 3);
        var bias = Random(n, 4);
        var bias2 = Random(n, 5);
        var aOp = a.AsSpan(3).ToArray();
        var bOp = b.AsSpan(5).ToArray();
        var reference = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += Op(aOp, layout, true, i, p, m, k) * Op(bOp, layout, false, p, j, k, n);
                reference[i * n + j] = s;
            }
        }
        using var da = d.Allocate<float>(a.Length);
        using var db = d.Allocate<float>(b.Length);
        using var dc = d.Allocate<float>(m * n);
        using var dbias = d.Allocate<float>(n);
        using var dbias2 = d.Allocate<float>(n);
        da.CopyFrom(a);
        db.CopyFrom(b);
        dbias.CopyFrom(bias);
        dbias2.CopyFrom(bias2);
        var av = layout == GemmLayout.TN ? new MatrixView(da, k, m, 3) : new MatrixView(da, m, k, 3);
        var bv = layout == GemmLayout.NT ? new MatrixView(db, n, k, 5) : new MatrixView(db, k, n, 5);

        InfoGpu.LinearAlgebra.Gemm.Multiply(layout, av, bv, (dc, m, n), GemmEpilogue.None, route);
        Tolerance.AllClose(reference, dc.ToArray().Select(v => (double)v).ToArray(), 1e-5, Abs, $"{kind} {layout} {m}x{n}x{k} plain");

        dc.CopyFrom(c0);
        var e = new GemmEpilogue { Alpha = 0.5f, Beta = -2f, Bias = dbias, BiasScale = 0.25f, Bias2 = dbias2, Bias2Scale = 3f, Activation = GemmActivation.Sigmoid };
        InfoGpu.LinearAlgebra.Gemm.Multiply(layout, av, bv, (dc, m, n), e, route);
        var want = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double x = 0.5 * reference[i * n + j] - 2.0 * c0[i * n + j] + 0.25 * bias[j] + 3.0 * bias2[j];
                want[i * n + j] = 1 / (1 + Math.Exp(-x));
            }
        }
        Tolerance.AllClose(want, dc.ToArray().Select(v => (double)v).ToArray(), 1e-5, Abs, $"{kind} {layout} {m}x{n}x{k} fused epilogue");

        InfoGpu.LinearAlgebra.Gemm.Multiply(layout, av, bv, (dc, m, n), new GemmEpilogue { Bias = dbias, Activation = GemmActivation.Relu }, route);
        var relu = reference.Select((v, idx) => Math.Max(0, v + bias[idx % n])).ToArray();
        Tolerance.AllClose(relu, dc.ToArray().Select(v => (double)v).ToArray(), 1e-5, Abs, $"{kind} {layout} {m}x{n}x{k} bias + relu");
        return 0;
    }

    [Fact]
    public void BernoulliSamplesFollowTheProbabilitiesAndAgreeAcrossBackends()
    {
        const int m = 64, n = 96, k = 13;
        var a = Random(m * k, 6);
        var b = Random(k * n, 7);
        var results = new Dictionary<string, (float[] P, float[] S)>();
        foreach (string kind in new[] { "cpu", "ilgpu-cpu" })
        {
            results[kind] = TestDevices.Use(kind, d =>
            {
                using var da = d.Allocate<float>(a.Length);
                using var db = d.Allocate<float>(b.Length);
                using var dc = d.Allocate<float>(m * n);
                using var ds = d.Allocate<float>(m * n);
                da.CopyFrom(a);
                db.CopyFrom(b);
                var e = new GemmEpilogue { Activation = GemmActivation.Sigmoid, Samples = ds, Seed = 9, Stream = 4, SampleOffset = 1000 };
                InfoGpu.LinearAlgebra.Gemm.Multiply(GemmLayout.NN, (da, m, k), (db, k, n), (dc, m, n), e);
                return (dc.ToArray(), ds.ToArray());
            });
        }
        var (p, s) = results["cpu"];
        var (p2, s2) = results["ilgpu-cpu"];
        int differ = 0;
        for (int i = 0; i < p.Length; i++)
        {
            Assert.True(s[i] is 0f or 1f);
            if (s[i] != s2[i])
            {
                // Allowed only where the uniform falls within 1e-6 of p (the backends round sigmoid differently).
                float u = Philox.Uniform(9, 4, (ulong)(1000 + i));
                Assert.True(Math.Abs(u - p[i]) < 1e-6, $"sample {i} differs: p = {p[i]}, {p2[i]}, u = {u}");
                differ++;
            }
        }
        Assert.True(differ <= 2);
        // Mean of samples against mean probability: n = 6144 Bernoulli draws, standard error
        // below 0.5 / sqrt(6144) = 0.0064; 5 standard errors = 0.032.
        Assert.InRange(s.Average() - p.Average(), -0.032, 0.032);
    }

    [Fact]
    public void ShapeMismatchesNameTheShapes()
    {
        var d = TestDevices.Get("cpu");
        using var a = d.Allocate<float>(12);
        using var c = d.Allocate<float>(12);
        var e = Assert.Throws<InfoGpuException>(() => InfoGpu.LinearAlgebra.Gemm.Multiply(GemmLayout.NN, (a, 3, 4), (a, 3, 4), (c, 3, 4), GemmEpilogue.None));
        Assert.Contains("op(A) is 3x4, op(B) is 3x4", e.Message);
    }
}
