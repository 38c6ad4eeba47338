using System.Globalization;
using System.Text.Json;
using InfoGpu.Kernels;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Measures;

public class PhiloxTests
{
    [Fact]
    public void KnownAnswerVectorsMatchRandom123()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("philox4x32_10_kat.json")));
        int n = 0;
        foreach (var v in doc.RootElement.GetProperty("vectors").EnumerateArray())
        {
            uint[] W(string name) => v.GetProperty(name).EnumerateArray().Select(e => uint.Parse(e.GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
            var c = W("counter");
            var k = W("key");
            var o = W("output");
            var b = Philox.Generate(new PhiloxBlock(c[0], c[1], c[2], c[3]), k[0], k[1]);
            Assert.Equal(o, new[] { b.X0, b.X1, b.X2, b.X3 });
            n++;
        }
        Assert.Equal(3, n);
    }
}

/// <summary>The cpu backend's vectorized Philox fill gives exactly the scalar generator's numbers.</summary>
public class CpuPhiloxFillTests
{
    [Theory]
    [InlineData(7ul, 0ul, 0L, 1000)]
    [InlineData(7ul, 3ul, 1L, 999)] // unaligned start: scalar head, vector body, scalar tail
    [InlineData(0xFFFF_FFFF_FFFF_FFFFul, 0xDEAD_BEEF_0000_0001ul, 13L, 301)]
    [InlineData(42ul, 5ul, (1L << 34) - 64, 300)] // block counters cross 2^32: the high word carries
    [InlineData(1ul, 1ul, 0L, 31)] // shorter than one vector step
    public void VectorFillEqualsScalarPhilox(ulong seed, ulong stream, long offset, int length)
    {
        var fill = new float[length];
        InfoGpu.Kernels.Cpu.CpuRandomKernels.Uniform(fill, seed, stream, offset);
        for (int i = 0; i < length; i++)
        {
            float expected = Philox.Uniform(seed, stream, (ulong)(offset + i));
            Assert.True(expected == fill[i], $"index {i} (offset {offset + i}): fill {fill[i]:R}, scalar {expected:R}");
        }
    }
}

/// <summary>RandomFill into host memory gives the scalar generator's numbers, and those of a device fill (the normals up to the device's sin, cos and log).</summary>
public class HostRandomFillTests
{
    public static TheoryData<string> Kinds => TestDevices.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public void HostFillEqualsScalarPhiloxAndDeviceFill(string kind)
    {
        const ulong seed = 3, stream = 1;
        const long offset = 5;
        const int n = 203;
        var u = new float[n];
        var z = new float[n];
        InfoGpu.Random.RandomFill.Uniform(u, seed, stream, offset);
        InfoGpu.Random.RandomFill.Normal(z, seed, stream, offset);
        for (int i = 0; i < n; i++)
        {
            Assert.True(Philox.Uniform(seed, stream, (ulong)(offset + i)) == u[i], $"uniform {i}");
            Assert.True(Philox.Normal(seed, stream, (ulong)(offset + i)) == z[i], $"normal {i}");
        }
        var (du, dz) = TestDevices.Use(kind, d =>
        {
            using var bu = d.Allocate<float>(n);
            using var bz = d.Allocate<float>(n);
            InfoGpu.Random.RandomFill.Uniform(bu, seed, stream, offset);
            InfoGpu.Random.RandomFill.Normal(bz, seed, stream, offset);
            return (bu.ToArray(), bz.ToArray());
        });
        Assert.Equal(u, du);
        Tolerance.AllClose(z.Select(v => (double)v).ToArray(), dz.Select(v => (double)v).ToArray(), 1e-6, 1e-6, $"{kind} normal fill");
    }
}
