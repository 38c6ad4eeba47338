using System.Text.Json;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Measures;

/// <summary>Every value of the <c>examples</c> object of tests/InfoGpu.Tests/Reference/seed_values.json.</summary>
public class SeedValuesTests
{
    /// <summary>
    /// The PyTorch label-smoothing references were computed by torch in float32, so they carry
    /// float32 rounding (about 1e-7 relative); the float64 path is compared with that tolerance.
    /// </summary>
    private const double TorchFloat32Relative = 3e-7;

    internal static Dictionary<string, double> Reference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Reference("seed_values.json")));
        return doc.RootElement.GetProperty("examples").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
    }

    [Fact]
    public void DoublePrecisionMatchesEveryReferenceValue()
    {
        var reference = Reference();
        var computed = ChapterExamples.Compute(null, Precision.Double);
        Assert.Equal(reference.Keys.Order(), computed.Select(p => p.Key).Order());
        foreach (var (key, value) in computed)
        {
            double tol = key.EndsWith("_torch_nats", StringComparison.Ordinal) ? TorchFloat32Relative : Tolerance.Float64Relative;
            Tolerance.Close(reference[key], value, tol, 0, key);
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void SinglePrecisionOnDeviceMatchesEveryReferenceValue(string kind)
    {
        var reference = Reference();
        var computed = TestDevices.Use(kind, d => ChapterExamples.Compute(new InformationMeasures(d), Precision.Single));
        Assert.Equal(reference.Count, computed.Count);
        foreach (var (key, value) in computed)
            Tolerance.Close(reference[key], value, Tolerance.Float32Relative, 0, $"{kind} {key}");
    }
}
