using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Measures;

namespace InfoGpu.Host.Commands;

/// <summary>
/// <c>infogpu measure loss</c>, <c>measure softmax</c> and <c>measure elbo</c>: losses from
/// logits and the VAE's ELBO of given tensors, in float64 on the host.
/// </summary>
internal static class MeasureLossCommands
{
    private static readonly OptionSpec Logits = OptionSpec.Numbers("logits", "LIST", "one row of logits, comma-separated, e.g. 1,3.5,0.5,0.8");
    private static readonly OptionSpec LogitsCsv = OptionSpec.File("logits-csv", "FILE", "logits, one row per sample (no header)");

    public static IReadOnlyList<ICommand> All { get; } = [new Loss(), new Softmax(), new Elbo()];

    /// <summary>Logits from <c>--logits</c> (one row) or <c>--logits-csv</c> (one row per line).</summary>
    private static (double[] Values, int Columns) ReadLogits(Args args)
    {
        bool hasList = args.Has("logits"), hasCsv = args.Has("logits-csv");
        if (hasList == hasCsv)
            throw new UsageException("give exactly one of --logits LIST or --logits-csv FILE");
        if (hasList)
        {
            var v = args.GetList("logits");
            return (v, v.Length);
        }
        var csv = CsvTable.Read(args.Require("logits-csv"), MeasureCommands.CsvOptionsFrom(args, false));
        if (csv.RowCount == 0)
            throw new InfoGpuException($"{csv.Path} has no rows; put one row of logits per line");
        return (csv.ToMatrix64(), csv.Columns);
    }

    private static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary><c>infogpu measure loss</c>.</summary>
    private sealed class Loss : ICommand
    {
        public CommandSpec Spec { get; } = new(
            "measure loss",
            "cross-entropy (or KL divergence) of logits against class targets, optionally label-smoothed, in float64",
            "(--logits LIST | --logits-csv FILE) --targets LIST [--label-smoothing E] [--smoothing-convention torch|textbook] [--kind cross-entropy|kl-div]",
            [
                Logits, LogitsCsv, MeasureCommands.Delimiter,
                OptionSpec.Integers("targets", "LIST", "the true class of each row (0-based), comma-separated"),
                OptionSpec.Double("label-smoothing", "E", "smoothing mass E in [0, 1) (default 0: no smoothing)", 0.0),
                OptionSpec.Choice("smoothing-convention", "torch: (1 - E) one-hot + E/K (PyTorch's label_smoothing); textbook: 1 - E on the target, E/(K-1) on the others", ["torch", "textbook"], "torch"),
                OptionSpec.Choice("kind", "cross-entropy: -sum t ln softmax(x); kl-div: KL(t || softmax(x)) = sum t (ln t - log_softmax(x)), as PyTorch's kl_div", ["cross-entropy", "kl-div"], "cross-entropy"),
            ],
            [
                "infogpu measure loss --logits 1,3.5,0.5,0.8 --targets 1",
                "infogpu measure loss --logits-csv logits.csv --targets 0,1,2,1 --label-smoothing 0.1 --json",
                "infogpu measure loss --logits 2,0.5,1.5 --targets 0 --label-smoothing 0.1 --smoothing-convention textbook --kind kl-div",
            ]);

        public int Run(CommandContext context)
        {
            var args = context.Args;
            string kind = args.GetOrDefault("kind")!;
            if (kind is not ("cross-entropy" or "kl-div"))
                throw new UsageException($"--kind '{args.Get("kind")}' is not cross-entropy or kl-div");
            string convention = args.GetOrDefault("smoothing-convention")!;
            if (convention is not ("torch" or "textbook"))
                throw new UsageException($"--smoothing-convention '{args.Get("smoothing-convention")}' is not torch or textbook");
            var (logits, classes) = ReadLogits(args);
            var targets = args.GetIntList("targets");
            double epsilon = args.GetDouble("label-smoothing", 0);
            if (!(epsilon >= 0 && epsilon < 1))
                throw new InfoGpuException($"--label-smoothing {N(epsilon)} is out of range: use 0 <= E < 1");
            var smoothing = !args.Has("label-smoothing")
                ? LabelSmoothing.None
                : convention == "textbook" ? LabelSmoothing.OtherClasses(epsilon) : LabelSmoothing.Uniform(epsilon);
            var values = kind == "kl-div"
                ? InformationMeasures64.KlDivergenceFromLogits(logits, targets, classes, smoothing)
                : InformationMeasures64.CrossEntropyFromLogits(logits, targets, classes, smoothing);
            double mean = values.Average();
            if (args.Json)
            {
                Json.Write(context.Out, new JsonObject
                {
                    ["kind"] = kind,
                    ["label_smoothing"] = Json.Number(epsilon),
                    ["smoothing_convention"] = convention,
                    ["classes"] = classes,
                    ["rows"] = values.Length,
                    ["targets"] = new JsonArray(targets.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
                    ["values"] = Json.Array(values),
                    ["mean"] = Json.Number(mean),
                    ["value"] = Json.Number(mean),
                    ["unit"] = "nats",
                    ["precision"] = "double",
                });
                return 0;
            }
            var t = new Table("row", "target", $"{kind} (nats)");
            for (int i = 0; i < values.Length; i++)
                t.Add(i, targets[i], values[i]);
            context.Out.Write(t.ToString());
            string smoothed = args.Has("label-smoothing") ? $", label smoothing {N(epsilon)} ({convention})" : "";
            context.Out.WriteLine($"mean {kind} = {Table.Num(mean)} nats over {values.Length} rows of {classes} classes{smoothed}");
            return 0;
        }
    }

    /// <summary><c>infogpu measure softmax</c>.</summary>
    private sealed class Softmax : ICommand
    {
        public CommandSpec Spec { get; } = new(
            "measure softmax",
            "softmax (or log-softmax) of logits, row by row, at a temperature, in float64",
            "(--logits LIST | --logits-csv FILE) [--log] [--temperature T]",
            [
                Logits, LogitsCsv, MeasureCommands.Delimiter,
                OptionSpec.Flag("log", "print log-probabilities x/T - logsumexp(x/T) instead of probabilities"),
                OptionSpec.Double("temperature", "T", "divide the logits by T > 0 first (default 1)", 1.0),
            ],
            ["infogpu measure softmax --logits 1,3.5,0.5,0.8", "infogpu measure softmax --logits-csv logits.csv --temperature 2 --log --json"]);

        public int Run(CommandContext context)
        {
            var args = context.Args;
            var (logits, classes) = ReadLogits(args);
            double temperature = args.GetDouble("temperature", 1);
            if (!(temperature > 0))
                throw new InfoGpuException($"--temperature {N(temperature)} must be > 0");
            bool log = args.Has("log");
            var y = InformationMeasures64.Softmax(logits, classes, temperature, log);
            int rows = y.Length / classes;
            if (args.Json)
            {
                var matrix = new JsonArray();
                for (int r = 0; r < rows; r++)
                    matrix.Add(Json.Array(y.Skip(r * classes).Take(classes)));
                Json.Write(context.Out, new JsonObject
                {
                    ["rows"] = rows,
                    ["classes"] = classes,
                    ["temperature"] = Json.Number(temperature),
                    ["log"] = log,
                    [log ? "log_probabilities" : "probabilities"] = matrix,
                    ["precision"] = "double",
                });
                return 0;
            }
            var t = new Table(["row", .. Enumerable.Range(0, classes).Select(k => (log ? "ln p" : "p") + k)]);
            for (int r = 0; r < rows; r++)
                t.Add([r, .. y.Skip(r * classes).Take(classes).Cast<object?>()]);
            context.Out.Write(t.ToString());
            return 0;
        }
    }

    /// <summary><c>infogpu measure elbo</c>.</summary>
    private sealed class Elbo : ICommand
    {
        public CommandSpec Spec { get; } = new(
            "measure elbo",
            "BCE, KL and ELBO of given VAE tensors (x, reconstruction logits, mu, logvar), with latent statistics, in float64",
            "--csv FILE",
            [
                OptionSpec.File("csv", "FILE", "one row per sample; a header names every column by its group and index: x1..xD (targets in [0, 1]), logit1..logitD (reconstruction logits), mu1..muL, logvar1..logvarL (e.g. x_1, logit_1, mu_1, logvar_1)"),
                MeasureCommands.Delimiter,
            ],
            ["infogpu measure elbo --csv vae_batch.csv", "infogpu measure elbo --csv vae_batch.csv --json"]);

        public int Run(CommandContext context)
        {
            var args = context.Args;
            var csv = CsvTable.Read(args.Require("csv"), MeasureCommands.CsvOptionsFrom(args, true));
            if (csv.Header is null)
                throw new InfoGpuException($"{csv.Path}: no header; name the columns x1..xD, logit1..logitD, mu1..muL, logvar1..logvarL");
            if (csv.RowCount == 0)
                throw new InfoGpuException($"{csv.Path} has no rows; put one sample per line under the header");
            var groups = new Dictionary<string, List<int>> { ["x"] = [], ["logit"] = [], ["mu"] = [], ["logvar"] = [] };
            for (int c = 0; c < csv.Columns; c++)
            {
                string group = Group(csv.Header[c]);
                if (!groups.TryGetValue(group, out var list))
                    throw new InfoGpuException($"{csv.Path}: column {c + 1} '{csv.Header[c]}' is not x<i>, logit<i>, mu<j> or logvar<j>");
                list.Add(c);
            }
            foreach (var (name, list) in groups)
            {
                if (list.Count == 0)
                    throw new InfoGpuException($"{csv.Path}: no {name} columns; the header needs x1..xD, logit1..logitD, mu1..muL, logvar1..logvarL");
            }
            if (groups["x"].Count != groups["logit"].Count)
                throw new InfoGpuException($"{csv.Path}: {groups["x"].Count} x columns but {groups["logit"].Count} logit columns; give one logit per x");
            if (groups["mu"].Count != groups["logvar"].Count)
                throw new InfoGpuException($"{csv.Path}: {groups["mu"].Count} mu columns but {groups["logvar"].Count} logvar columns; give one logvar per mu");
            var x = Take(csv, groups["x"]);
            var logits = Take(csv, groups["logit"]);
            var mu = Take(csv, groups["mu"]);
            var logvar = Take(csv, groups["logvar"]);
            var r = ElboMeasures.Compute(x, logits, mu, logvar, groups["x"].Count, groups["mu"].Count);
            var s = r.LatentStatistics;
            if (args.Json)
            {
                Json.Write(context.Out, new JsonObject
                {
                    ["rows"] = r.Rows,
                    ["features"] = r.Features,
                    ["latent"] = r.Latent,
                    ["bce"] = Json.Array(r.Reconstruction),
                    ["kl"] = Json.Array(r.Kl),
                    ["elbo"] = Json.Array(r.Elbo),
                    ["mean_bce"] = Json.Number(r.MeanReconstruction),
                    ["mean_kl"] = Json.Number(r.MeanKl),
                    ["mean_elbo"] = Json.Number(r.MeanElbo),
                    ["latent_statistics"] = new JsonObject
                    {
                        ["mu_mean"] = Json.Number(s.MuMean),
                        ["mu_std"] = Json.Number(s.MuStd),
                        ["sigma_mean"] = Json.Number(s.SigmaMean),
                        ["sigma_min"] = Json.Number(s.SigmaMin),
                        ["sigma_max"] = Json.Number(s.SigmaMax),
                        ["kl_per_dimension"] = Json.Array(s.KlPerDimension),
                        ["mu_variance"] = Json.Array(s.MuVariance),
                        ["active_units"] = s.ActiveUnits,
                        ["active_threshold"] = Json.Number(ElboMeasures.ActiveThreshold),
                    },
                    ["unit"] = "nats",
                    ["precision"] = "double",
                });
                return 0;
            }
            var t = new Table("row", "BCE (nats)", "KL (nats)", "ELBO (nats)");
            for (int i = 0; i < r.Rows; i++)
                t.Add(i, r.Reconstruction[i], r.Kl[i], r.Elbo[i]);
            t.Add("mean", r.MeanReconstruction, r.MeanKl, r.MeanElbo);
            var sb = new StringBuilder(t.ToString());
            sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Rows} rows, D = {r.Features}, L = {r.Latent}; ELBO = -(BCE + KL)");
            sb.AppendLine(CultureInfo.InvariantCulture, $"latent: mean posterior sigma {Table.Num(s.SigmaMean)} (min {Table.Num(s.SigmaMin)}, max {Table.Num(s.SigmaMax)}), mu mean {Table.Num(s.MuMean)}, mu std {Table.Num(s.MuStd)}, active units {s.ActiveUnits} of {r.Latent} (Var(mu) > {ElboMeasures.ActiveThreshold.ToString(CultureInfo.InvariantCulture)})");
            context.Out.Write(sb.ToString());
            return 0;
        }

        /// <summary>The group of a header name: its lower-case letters before the index (x_3 -&gt; x, logits12 -&gt; logit, log_var1 -&gt; logvar).</summary>
        private static string Group(string name)
        {
            string n = name.Trim().ToLowerInvariant().TrimEnd("0123456789".ToCharArray()).TrimEnd('_', '.', '-', ' ').Replace("_", "", StringComparison.Ordinal);
            return n switch
            {
                "logits" => "logit",
                _ => n,
            };
        }

        private static double[] Take(CsvTable csv, List<int> columns)
        {
            var v = new double[csv.RowCount * columns.Count];
            for (int r = 0; r < csv.RowCount; r++)
            {
                for (int j = 0; j < columns.Count; j++)
                    v[r * columns.Count + j] = csv.Number(r, columns[j]);
            }
            return v;
        }
    }
}
