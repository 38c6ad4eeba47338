using BenchmarkDotNet.Attributes;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.Selection;

namespace InfoGpu.Benchmarks.Selection;

/// <summary>
/// The neighbour searches behind mutual_info_classif (Ross, k = 3) on 20 features of two-class
/// data: brute force on each backend (the cpu path as baseline) against the sorted-order search
/// on each backend. The ILGPU CPU accelerator is a simulator: it runs at 200 rows only.
/// </summary>
public class NeighborSearchBenchmarks
{
    private const int Features = 20;
    private ComputeDevice device = null!;
    private MutualInformationSelector selector = null!;
    private double[] x = [];
    private double[] y = [];

    [ParamsSource(nameof(Accelerators))]
    public string Accelerator { get; set; } = "cpu";

    [Params(200, 1000, 10_000)]
    public int Rows { get; set; }

    public static IEnumerable<string> Accelerators() => BenchAccelerators.All();

    [GlobalSetup]
    public void Setup()
    {
        if (Accelerator == "ilgpu-cpu" && Rows > 200)
            throw new InvalidOperationException("ilgpu-cpu is a simulator (1000 x 20 takes minutes): 200 rows only (this case is skipped)");
        device = ComputeDevice.Open(Accelerator);
        selector = new MutualInformationSelector(device);
        x = new double[Rows * Features];
        y = new double[Rows];
        for (int r = 0; r < Rows; r++)
        {
            y[r] = Philox.Uniform(1, 0, (ulong)r) < 0.5 ? 0 : 1;
            for (int f = 0; f < Features; f++)
                x[r * Features + f] = Philox.Normal(1, 1, (ulong)(r * Features + f)) + (f < 5 ? y[r] : 0);
        }
        Brute();
    }

    [Benchmark(Baseline = true)]
    public double Brute() => Run(NeighborSearch.Brute);

    [Benchmark]
    public double Sorted() => Run(NeighborSearch.Sorted);

    private double Run(NeighborSearch search) =>
        selector.Select(x, Rows, Features, y, new MutualInformationOptions(Search: search)).Scores[0];

    [GlobalCleanup]
    public void Cleanup() => device?.Dispose();
}
