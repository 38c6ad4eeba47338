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
        InfoGpu.Kernels.Cpu.CpuRandom.Uniform(fill, seed, stream, offset);
        for (int i = 0; i < length; i++)
        {
            float expected = Philox.Uniform(seed, stream, (ulong)(offset + i));
            Assert.True(expected == fill[i], $"index {i} (offset {offset + i}): fill {fill[i]:R}, scalar {expected:R}");
        }
    }
}
