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
