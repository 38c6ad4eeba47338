using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Devices;
using InfoGpu.Random;
using InfoGpu.Selection;

namespace InfoGpu.Host.Bench;

/// <summary>
/// Mutual-information feature ranking (mutual_info_classif, k = 3, noise on) against scikit-learn
/// (benchmarks/peers/sklearn_mi.py) on make_classification data of 1000x20, 10000x50 and 50000x100.
/// The peer writes the inputs (<c>--make R,C --write-csv</c>) once into a cache folder; both sides
/// then read the same CSV. Work is counted as the input's bytes, so the fraction of peak only says
/// how far from memory-bound the estimator is. A last case times whole processes: <c>infogpu mi
/// select</c> on the 20,000 x 50 CSV (10,000 x 50 with --quick) against the whole peer script on it.
/// </summary>
internal static class MiSuite
{
    private static readonly (int Rows, int Cols)[] Sizes = [(1000, 20), (10_000, 50), (50_000, 100)];

    public static IEnumerable<BenchCase> Cases(ComputeDevice device, bool quick, int repeat)
    {
        var selector = new MutualInformationSelector(device);
        foreach (var (rows, cols) in quick ? Sizes[..2] : Sizes)
        {
            string size = string.Create(CultureInfo.InvariantCulture, $"{rows}x{cols}");
            var (data, csv) = Input(rows, cols);
            var method = MutualInformationSelector.ChooseMethod(device.Kind, rows, NeighborSearch.Auto);
            yield return new BenchCase(
                "mi",
                $"mutual_info_classif {size} ({method})",
                () => Timing.Median(() => selector.Select(data.Features, data.Rows, data.Names.Length, data.Target), repeat),
                8.0 * rows * cols,
                PeakKind.Bandwidth,
                csv is null ? null : new PeerSpec(
                    "sklearn-mutual-info",
                    "sklearn_mi.py",
                    ["--csv", csv, "--target-last", "--top-k", "5", "--repeat", repeat.ToString(CultureInfo.InvariantCulture)],
                    j => j["seconds"]?.GetValue<double>()));
        }

        // The whole command against the whole script: start-up, reading the CSV, the estimator and the
        // output, each side a fresh process per run (the goal: 20,000 x 50, at least 10x).
        var (wholeRows, wholeCols) = quick ? (10_000, 50) : (20_000, 50);
        var (_, wholeCsv) = Input(wholeRows, wholeCols);
        if (wholeCsv is not null)
        {
            string size = string.Create(CultureInfo.InvariantCulture, $"{wholeRows}x{wholeCols}");
            string accelerator = device.Info.Kind;
            yield return new BenchCase(
                "mi",
                $"mi select whole process {size} CSV",
                () => ConsoleProcess.MedianSeconds(["mi", "select", "--csv", wholeCsv, "--target-last", "--top", "5", "--accelerator", accelerator, "--json"], repeat),
                new FileInfo(wholeCsv).Length,
                PeakKind.Bandwidth,
                new PeerSpec(
                    "sklearn-mutual-info (process)",
                    "sklearn_mi.py",
                    ["--csv", wholeCsv, "--target-last", "--top-k", "5", "--repeat", "1"],
                    j => j["process_seconds"]?.GetValue<double>(),
                    ProcessRuns: repeat));
        }
    }

    /// <summary>The peer's make_classification CSV (generated once into the cache), or, without the peer, Philox data and no CSV.</summary>
    private static (FeatureTable Data, string? Csv) Input(int rows, int cols)
    {
        string dir = Path.Combine(Path.GetTempPath(), "infogpu-bench");
        Directory.CreateDirectory(dir);
        string csv = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"mi_{rows}x{cols}.csv"));
        if (!File.Exists(csv))
        {
            var make = new PeerSpec("sklearn-mutual-info", "sklearn_mi.py",
                ["--make", string.Create(CultureInfo.InvariantCulture, $"{rows},{cols}"), "--write-csv", csv, "--make-only"], _ => null);
            var (_, problem) = PeerRunner.Run(make, 1, TimeSpan.FromMinutes(10));
            if (problem is not null || !File.Exists(csv))
                return (Synthetic(rows, cols), null);
        }
        return (FeatureTable.FromCsv(CsvTable.Read(csv), null), csv);
    }

    /// <summary>Two classes; the first quarter of the features shifted by the class, the rest noise.</summary>
    private static FeatureTable Synthetic(int rows, int cols)
    {
        var x = new double[rows * cols];
        var y = new double[rows];
        var u = new float[rows];
        var z = new float[rows * cols];
        RandomFill.Uniform(u, 3, 0);
        RandomFill.Normal(z, 3, 1);
        for (int r = 0; r < rows; r++)
        {
            y[r] = u[r] < 0.5 ? 0 : 1;
            for (int c = 0; c < cols; c++)
                x[r * cols + c] = z[r * cols + c] + (c < Math.Max(2, cols / 4) ? y[r] : 0);
        }
        return new FeatureTable(x, rows, Enumerable.Range(0, cols).Select(c => "x" + c.ToString(CultureInfo.InvariantCulture)).ToArray(), y, "y");
    }
}
