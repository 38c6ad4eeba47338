using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using InfoGpu.Devices;
using InfoGpu.Measures;

namespace InfoGpu.Benchmarks.Measures;

/// <summary>
/// Batched row reductions (entropy, exact KL) on each backend. GB/s counts the float32 input
/// bytes read (one matrix for entropy, two for KL). The ILGPU CPU accelerator is a simulator:
/// it runs at the small size only.
/// </summary>
[Config(typeof(Config))]
public class RowReductionBenchmarks
{
    private ComputeDevice device = null!;
    private InformationMeasures measures = null!;
    private float[] p = [];
    private float[] q = [];

    [ParamsSource(nameof(Accelerators))]
    public string Accelerator { get; set; } = "cpu";

    [Params(1000, 100_000)]
    public int Rows { get; set; }

    [Params(10, 784, 1031)]
    public int Columns { get; set; }

    public static IEnumerable<string> Accelerators() => BenchAccelerators.All();

    [GlobalSetup]
    public void Setup()
    {
        if (Accelerator == "ilgpu-cpu" && (long)Rows * Columns > 1_000_000)
            throw new InvalidOperationException("ilgpu-cpu is a simulator: small sizes only (this case is skipped)");
        device = ComputeDevice.Open(Accelerator);
        measures = new InformationMeasures(device);
        var rng = new System.Random(1);
        p = Make(rng);
        q = Make(rng);
        measures.Entropy(p, Columns, LogBase.Nats);
        measures.KlDivergence(p, q, Columns, LogBase.Nats);
    }

    private float[] Make(System.Random rng)
    {
        var m = new float[Rows * Columns];
        for (int r = 0; r < Rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < Columns; j++)
                sum += m[r * Columns + j] = (float)(rng.NextDouble() + 1e-3);
            for (int j = 0; j < Columns; j++)
                m[r * Columns + j] = (float)(m[r * Columns + j] / sum);
        }
        return m;
    }

    [Benchmark]
    public float Entropy() => measures.Entropy(p, Columns, LogBase.Nats)[0];

    [Benchmark]
    public float KlDivergence() => measures.KlDivergence(p, q, Columns, LogBase.Nats)[0];

    [GlobalCleanup]
    public void Cleanup() => device?.Dispose();

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new ThroughputColumn("GB/s", (a, method) => (method == nameof(KlDivergence) ? 8.0 : 4.0) * (int)a["Rows"] * (int)a["Columns"]));
        }
    }
}
