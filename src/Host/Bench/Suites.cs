using InfoGpu.Devices;

namespace InfoGpu.Host.Bench;

/// <summary>The benchmark suites of <c>infogpu bench</c>.</summary>
internal static class Suites
{
    public delegate IEnumerable<BenchCase> Factory(ComputeDevice device, bool quick, int repeat);

    public static IReadOnlyDictionary<string, Factory> All { get; } = new Dictionary<string, Factory>
    {
        ["measures"] = MeasuresSuite.Cases,
        ["vae"] = VaeSuite.Cases,
        ["mi"] = MiSuite.Cases,
        ["rbm"] = RbmSuite.Cases,
    };
}
