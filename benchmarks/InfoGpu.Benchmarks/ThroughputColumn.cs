using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace InfoGpu.Benchmarks;

/// <summary>
/// A GB/s (or GFLOP/s) column: the benchmark's work, from its parameters and method name
/// through <paramref name="work"/>, over the median time.
/// </summary>
public sealed class ThroughputColumn(string name, Func<IReadOnlyDictionary<string, object>, string, double> work) : IColumn
{
    public string Id => "Throughput." + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"{name}: work per call / mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null)
            return "-";
        var parameters = benchmarkCase.Parameters.Items.ToDictionary(p => p.Name, p => p.Value);
        double seconds = report.ResultStatistics.Median * 1e-9;
        return (work(parameters, benchmarkCase.Descriptor.WorkloadMethod.Name) / seconds / 1e9).ToString("F2", CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
