using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using InfoGpu.Bottleneck;
using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu ib</c>: the information bottleneck of a joint table along an annealed beta path.</summary>
internal sealed class IbCommand : ICommand
{
    /// <summary>The betas when neither --betas nor --beta-range is given.</summary>
    internal const string DefaultRange = "0.5:500:40";

    /// <summary>The plot of the IB curve that --out writes.</summary>
    internal const string CurveFile = "ib_curve.png";

    /// <summary>The encoders that --out writes.</summary>
    internal const string EncodersFile = "encoders.csv";

    public CommandSpec Spec { get; } = new(
        "ib",
        "information bottleneck of a joint table p(x, y): min I(X;T) - beta I(T;Y) along an annealed beta path",
        $"(--table \"a,b;c,d\" | --csv FILE) [--clusters N] [--betas LIST | --beta-range LO:HI:COUNT] [--seed S] [--precision double|single [--accelerator KIND]] [--out DIR [--overwrite]] [--json]",
        [
            OptionSpec.Text("table", "ROWS", "the joint table: rows (X) separated by ';', columns (Y) by ','; non-negative, divided by its sum (counts are fine)"),
            OptionSpec.File("csv", "FILE", "the joint table from a CSV file: one row per x, one column per y (no header, or a header of column names), non-negative numbers, divided by their sum"),
            MeasureCommands.Delimiter,
            OptionSpec.Int("clusters", "N", $"|T|, the cluster slots of the bottleneck (1 to {InformationBottleneckOptions.MaxClusters}; default |X|, at most {InformationBottleneckOptions.MaxClusters})"),
            OptionSpec.Numbers("betas", "LIST", "the betas, comma-separated, each positive"),
            OptionSpec.Text("beta-range", "LO:HI:COUNT", $"COUNT betas spaced evenly on a log scale from LO to HI (default {DefaultRange})"),
            OptionSpec.Unsigned("seed", "S", "seed of the perturbations that split clusters (default 1)", 1),
            OptionSpec.Choice("precision", "double (float64 on the host) or single (float32 on the device: all betas advanced together, one launch per iteration); float64 and float32 name them too", ["double", "single", "float64", "float32"], "double"),
            OptionSpec.File("out", "DIR", $"write DIR/{CurveFile} (I(T;Y) against I(X;T)) and DIR/{EncodersFile} (beta, x, t, p(t|x))"),
            OptionSpec.Flag("overwrite", "replace the results already in the --out folder (default: refuse)"),
            CommandSpec.Accelerator,
        ],
        [
            "infogpu ib --table \"0.2,0.1;0.15,0.55\"",
            "infogpu ib --csv joint.csv --clusters 3 --beta-range 0.5:200:30 --out ib --json",
            "infogpu ib --table \"0.3,0.05,0.05;0.05,0.3,0.05;0.1,0.05,0.05\" --betas 1,2,5,20 --precision single --accelerator cpu",
        ]);

    public int Run(CommandContext context)
    {
        var a = context.Args;
        var (table, nx, ny, source) = ReadTable(context);
        var betas = ParseBetas(a);
        int? clusters = a.Has("clusters") ? a.GetInt("clusters", 0) : null;
        if (clusters is int c && (c < 1 || c > InformationBottleneckOptions.MaxClusters))
            throw new UsageException($"--clusters {c}: give 1 to {InformationBottleneckOptions.MaxClusters}");
        ulong seed = a.GetUnsigned("seed");
        bool single = a.GetOrDefault("precision") switch
        {
            "double" or "float64" => false,
            "single" or "float32" => true,
            var other => throw new UsageException($"--precision '{other}' is not double or single"),
        };
        if (!single && a.Has("accelerator"))
            context.Note("note: --accelerator applies with --precision single; the float64 path runs on the host");
        string? dir = a.Get("out");
        if (dir is not null)
            CheckOut(dir, a.Has("overwrite"));

        var options = new InformationBottleneckOptions { Betas = betas, Clusters = clusters, Seed = seed };
        context.Note($"joint table from {source}: |X| = {nx}, |Y| = {ny}; |T| = {clusters ?? Math.Min(nx, InformationBottleneckOptions.MaxClusters)}, {betas.Length} beta(s) from {Table.Num(betas.Min())} to {Table.Num(betas.Max())}, seed {seed}");
        InformationBottleneckResult result;
        string device = "host";
        if (single)
        {
            using var d = DeviceOption.Open(context);
            device = d.Info.Kind;
            result = InformationBottleneck.Solve(d, table, nx, ny, options);
        }
        else
        {
            result = InformationBottleneck.Solve(table, nx, ny, options);
        }

        string? plot = null, encoders = null;
        if (dir is not null)
        {
            plot = Path.Combine(dir, CurveFile);
            encoders = Path.Combine(dir, EncodersFile);
            WriteCurve(plot, result);
            Plots.SaveAtomically(encoders, tmp => File.WriteAllText(tmp, EncodersCsv(result)));
            context.Note($"wrote {plot} and {encoders}");
        }

        if (a.Json)
        {
            var points = new JsonArray();
            foreach (var p in result.Points)
            {
                points.Add(new JsonObject
                {
                    ["beta"] = Json.Number(p.Beta),
                    ["i_xt"] = Json.Number(p.InformationXT),
                    ["i_ty"] = Json.Number(p.InformationTY),
                    ["clusters_used"] = p.ClustersUsed,
                    ["objective"] = Json.Number(p.Objective),
                    ["iterations"] = p.Iterations,
                    ["converged"] = p.Converged,
                });
            }
            var o = new JsonObject
            {
                ["i_xy"] = Json.Number(result.InformationXY),
                ["h_x"] = Json.Number(result.EntropyX),
                ["points"] = points,
                ["unit"] = "nats",
                ["size_x"] = nx,
                ["size_y"] = ny,
                ["clusters"] = result.Clusters,
                ["seed"] = seed,
                ["precision"] = result.Precision,
                ["device"] = device,
                ["plot"] = plot,
                ["encoders"] = encoders,
            };
            Json.Write(context.Out, o);
            return 0;
        }

        context.Out.WriteLine($"I(X;Y) = {Table.Num(result.InformationXY)} nats, H(X) = {Table.Num(result.EntropyX)} nats ({result.Precision} precision, {device})");
        var t = new Table("beta", "I(X;T) (nats)", "I(T;Y) (nats)", "clusters used", "iterations");
        foreach (var p in result.Points)
            t.Add(p.Beta, p.InformationXT, p.InformationTY, p.ClustersUsed, p.Converged ? p.Iterations.ToString(CultureInfo.InvariantCulture) : $"{p.Iterations} (not converged)");
        context.Out.Write(t.ToString());
        return 0;
    }

    /// <summary>The joint table of --table or --csv, checked: its values, |X|, |Y> and where it came from.</summary>
    private static (double[] Table, int Nx, int Ny, string Source) ReadTable(CommandContext context)
    {
        var a = context.Args;
        bool hasTable = a.Has("table"), hasCsv = a.Has("csv");
        if (hasTable == hasCsv)
            throw new UsageException("give the joint table: --table \"a,b;c,d\" or --csv FILE (one of them)");
        if (hasTable)
        {
            if (a.Has("delimiter"))
                throw new UsageException("--delimiter applies to --csv only");
            var rows = a.Require("table").Split(';').Select((r, i) => Args.ParseList($"table (row {i + 1})", r)).ToList();
            int cols = rows[0].Length;
            if (rows.Any(r => r.Length != cols))
                throw new UsageException($"--table: rows have different lengths ({string.Join(", ", rows.Select(r => r.Length))}); every row needs {cols} columns");
            var flat = rows.SelectMany(r => r).ToArray();
            for (int i = 0; i < flat.Length; i++)
            {
                if (flat[i] < 0)
                    throw new UsageException($"--table: row {i / cols + 1}, column {i % cols + 1} is {MeasureCommands.F(flat[i])}; give non-negative numbers");
            }
            if (!(flat.Sum() > 0))
                throw new UsageException("--table: every entry is zero; give at least one positive entry");
            return (flat, rows.Count, cols, "--table");
        }
        string file = a.Require("csv");
        var csv = CsvTable.Read(file, MeasureCommands.CsvOptionsFrom(a, null));
        if (csv.RowCount == 0)
            throw new InfoGpuException($"{csv.Path}: no rows; give one row of non-negative numbers per value of X");
        var values = new double[(long)csv.RowCount * csv.Columns];
        for (int r = 0; r < csv.RowCount; r++)
        {
            for (int col = 0; col < csv.Columns; col++)
            {
                double v = csv.Number(r, col);
                if (!double.IsFinite(v) || v < 0)
                    throw new InfoGpuException($"{csv.Path}: line {csv.LineNumbers[r]}, column {col + 1} is {MeasureCommands.F(v)}; the joint table needs finite, non-negative numbers");
                values[(long)r * csv.Columns + col] = v;
            }
        }
        double total = values.Sum();
        if (!(total > 0))
            throw new InfoGpuException($"{csv.Path}: every entry is zero; the joint table needs at least one positive entry");
        if (!double.IsFinite(total))
            throw new InfoGpuException($"{csv.Path}: the entries sum to infinity; scale them down");
        return (values, csv.RowCount, csv.Columns, csv.Path);
    }

    /// <summary>The betas of --betas or --beta-range (default <see cref="DefaultRange"/>), each checked.</summary>
    internal static double[] ParseBetas(Args a)
    {
        if (a.Has("betas") && a.Has("beta-range"))
            throw new UsageException("give --betas LIST or --beta-range LO:HI:COUNT, not both");
        double[] betas;
        if (a.Has("betas"))
        {
            betas = a.GetList("betas");
        }
        else
        {
            string text = a.Get("beta-range") ?? DefaultRange;
            var parts = text.Split(':');
            if (parts.Length != 3)
                throw new UsageException($"--beta-range '{text}': give LO:HI:COUNT, e.g. {DefaultRange}");
            double lo = ParseNumber("--beta-range LO", parts[0]), hi = ParseNumber("--beta-range HI", parts[1]);
            if (!int.TryParse(parts[2].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int count) || count < 1 || count > InformationBottleneckOptions.MaxBetas)
                throw new UsageException($"--beta-range COUNT '{parts[2]}': give a whole number from 1 to {InformationBottleneckOptions.MaxBetas}");
            if (!(lo > 0) || !(hi >= lo))
                throw new UsageException($"--beta-range {text}: need 0 < LO <= HI");
            if (count == 1 && hi != lo)
                throw new UsageException($"--beta-range {text}: one beta needs LO = HI (or give --betas)");
            betas = Enumerable.Range(0, count).Select(i => count == 1 ? lo : lo * Math.Pow(hi / lo, i / (double)(count - 1))).ToArray();
            betas[^1] = hi;
        }
        if (betas.Length > InformationBottleneckOptions.MaxBetas)
            throw new UsageException($"--betas: {betas.Length} betas; give at most {InformationBottleneckOptions.MaxBetas}");
        foreach (double b in betas)
        {
            if (!(b > 0) || b > InformationBottleneckOptions.MaxBeta)
                throw new UsageException($"beta {MeasureCommands.F(b)} is out of range: each beta must be positive and at most {InformationBottleneckOptions.MaxBeta.ToString("G", CultureInfo.InvariantCulture)}");
        }
        return betas;
    }

    private static double ParseNumber(string what, string s) =>
        double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
        : throw new UsageException($"{what} '{s}' is not a finite number");

    /// <summary>Refuses a folder that already holds a result, unless --overwrite; refuses a file where the folder should be.</summary>
    private static void CheckOut(string dir, bool overwrite)
    {
        if (File.Exists(dir))
            throw new InfoGpuException($"--out {dir} is a file; give a folder");
        if (overwrite)
            return;
        foreach (string f in new[] { CurveFile, EncodersFile })
        {
            var info = new FileInfo(Path.Combine(dir, f));
            if (info.Exists && info.Length > 0)
                throw new InfoGpuException($"{dir} already holds a result ({f}); choose another --out folder or pass --overwrite to replace it");
        }
    }

    /// <summary>The IB curve: I(T;Y) against I(X;T), with the ceiling I(X;Y).</summary>
    internal static void WriteCurve(string path, InformationBottleneckResult r)
    {
        var xs = r.Points.Select(p => p.InformationXT).ToArray();
        var ys = r.Points.Select(p => p.InformationTY).ToArray();
        double right = Math.Max(r.EntropyX, xs.Length > 0 ? xs.Max() : 0);
        Plots.Lines(path, FormattableString.Invariant($"Information bottleneck curve (|T| = {r.Clusters}, {r.Points.Count} betas)"), "I(X;T), nats (rate)", "I(T;Y), nats (relevance)",
            ("annealed IB solutions", xs, ys),
            ("I(X;Y)", [0, right], [r.InformationXY, r.InformationXY]));
    }

    /// <summary>beta, x, t, p(t|x) for every point, every x and every cluster slot.</summary>
    internal static string EncodersCsv(InformationBottleneckResult r)
    {
        var sb = new StringBuilder("beta,x,t,p_t_given_x\n");
        foreach (var p in r.Points)
        {
            for (int x = 0; x < r.SizeX; x++)
            {
                for (int t = 0; t < r.Clusters; t++)
                    sb.Append(CultureInfo.InvariantCulture, $"{MeasureCommands.F(p.Beta)},{x},{t},{MeasureCommands.F(p.Encoder[x * r.Clusters + t])}\n");
            }
        }
        return sb.ToString();
    }
}
