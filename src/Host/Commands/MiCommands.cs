using System.Globalization;
using static System.FormattableString;
using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Selection;

namespace InfoGpu.Host.Commands;

/// <summary>The <c>infogpu mi ...</c> commands: mutual-information feature selection.</summary>
internal static class MiCommands
{
    public static IReadOnlyList<ICommand> All { get; } = [new Select()];

    /// <summary>Reads a CSV: every column but <paramref name="targetColumn"/> (null: the last) is a feature.</summary>
    internal static FeatureTable Load(string path, string? targetColumn, CsvOptions? options = null, Func<string, int, bool>? categorical = null, bool categoricalTarget = false) =>
        FeatureTable.FromCsv(CsvTable.Read(path, options ?? new CsvOptions()), targetColumn, categorical, categoricalTarget);

    private sealed class Select : IDistributedCommand
    {
        /// <summary>The engine's defaults, which the options declare.</summary>
        private static readonly MutualInformationOptions M = new();

        public CommandSpec Spec { get; } = new(
            "mi select",
            "rank features by their mutual information with a target (scikit-learn's mutual_info_classif / _regression)",
            "--csv FILE (--target COL | --target-last) [--delimiter C] [--top 5] [--neighbors 3] [--discrete COLS] [--regression] [--no-noise] [--seed 42] [--out DIR]",
            [
                OptionSpec.File("csv", "FILE", "input CSV (.csv or .csv.gz; quoted fields allowed) with a header row, or a .npy matrix (columns named by number); every column but the target is a feature"),
                MeasureCommands.Delimiter,
                OptionSpec.Text("target", "COL", "target column: header name or 0-based column number"),
                OptionSpec.Flag("target-last", "the last column is the target"),
                OptionSpec.Int("top", "K", Invariant($"how many features to select (default {M.Top})"), M.Top),
                OptionSpec.Int("neighbors", "K", Invariant($"k of the nearest-neighbour estimators (default {M.Neighbors}, as scikit-learn)"), M.Neighbors),
                OptionSpec.Text("discrete", "COLS", "discrete feature columns (contingency MI): names or 0-based feature indices, comma-separated, or all; default none. Their text values are categories"),
                OptionSpec.Flag("regression", "continuous target: KSG estimator (mutual_info_regression); default: class labels"),
                OptionSpec.Flag("no-noise", "do not add scikit-learn's 1e-10 tie-breaking noise"),
                OptionSpec.Unsigned("seed", "S", Invariant($"seed of the noise (default {M.Seed})"), M.Seed),
                OptionSpec.Choice("search", "neighbour search: auto, brute (on the device) or sorted (host, O(n log n))", ["auto", "brute", "sorted"], "auto"),
                OptionSpec.File("out", "DIR", "write DIR/mutual_information.png (scores with the selected highlighted; scores by rank)"),
                CommandSpec.Accelerator,
            ],
            [
                "infogpu mi select --csv make_classification_1000x20.csv --target-last --top 5",
                "infogpu mi select --csv data.csv --target price --regression --json",
                "infogpu mi select --csv data.csv --target y --discrete color,size --out results",
            ]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            string csv = a.Require("csv");
            bool last = a.Has("target-last");
            string? target = a.Get("target");
            if (last == (target is not null))
                throw new UsageException("give the target column: --target COL or --target-last (one of them)");
            int top = a.GetInt("top");
            if (top < 0)
                throw new UsageException($"--top {top}: use 0 or more");
            var search = a.GetOrDefault("search") switch
            {
                "auto" => NeighborSearch.Auto,
                "brute" => NeighborSearch.Brute,
                "sorted" => NeighborSearch.Sorted,
                var other => throw new UsageException($"--search '{other}': use auto, brute or sorted"),
            };
            ulong seed = a.GetUnsigned("seed");
            // Columns listed in --discrete (and a classification target) may hold text: categories.
            var listed = DiscreteItems(a.Get("discrete"));
            var data = Load(csv, last ? null : target, MeasureCommands.CsvOptionsFrom(a, null),
                (name, index) => listed is null || listed.Contains(name) || listed.Contains(index.ToString(CultureInfo.InvariantCulture)),
                categoricalTarget: !a.Has("regression"));
            var discrete = ParseDiscrete(a.Get("discrete"), data.Names);
            var options = new MutualInformationOptions(
                Neighbors: a.GetInt("neighbors"),
                Regression: a.Has("regression"),
                DiscreteFeatures: discrete,
                Noise: !a.Has("no-noise"),
                Seed: seed,
                Search: search,
                Top: top);

            using var device = DeviceOption.Open(context);
            context.Note($"data: {csv}: {data.Rows} rows, {data.Names.Length} features, target '{data.TargetName}'");
            context.Note($"estimator: {(options.Regression ? "mutual_info_regression (KSG)" : "mutual_info_classif (Ross)")}, k = {options.Neighbors}, noise {(options.Noise ? "on" : "off")}, seed {seed}");
            var result = new MutualInformationSelector(device).Select(data.Features, data.Rows, data.Names.Length, data.Target, options, context.Cluster);
            context.Note($"search: {result.Method}, {result.Seconds:F3} s");
            foreach (string w in result.Warnings)
                context.Err.WriteLine($"warning: {w}");

            string? plot = null;
            if (a.Get("out") is string dir && context.Cluster.IsRoot)
            {
                plot = Path.Combine(dir, "mutual_information.png");
                MiPlots.Scores(plot, data.Names, result.Scores, result.Selected, $"Mutual information with '{data.TargetName}' ({result.Method} search)");
                context.Note($"wrote {plot}");
            }

            if (a.Json)
            {
                var o = new JsonObject
                {
                    ["scores"] = Json.Array(result.Scores),
                    ["selected"] = new JsonArray(result.Selected.Select(i => (JsonNode)i).ToArray()),
                    ["selected_names"] = new JsonArray(result.Selected.Select(i => (JsonNode)data.Names[i]).ToArray()),
                    ["ranking"] = new JsonArray(result.Ranking.Select(i => (JsonNode)i).ToArray()),
                    ["feature_names"] = new JsonArray(data.Names.Select(n => (JsonNode)n).ToArray()),
                    ["discrete"] = new JsonArray(result.Discrete.Select(d => (JsonNode)d).ToArray()),
                    ["target"] = data.TargetName,
                    ["rows"] = data.Rows,
                    ["estimator"] = options.Regression ? "mutual_info_regression" : "mutual_info_classif",
                    ["neighbors"] = options.Neighbors,
                    ["noise"] = options.Noise,
                    ["seed"] = seed,
                    ["method"] = result.Method,
                    ["warnings"] = new JsonArray(result.Warnings.Select(w => (JsonNode)w).ToArray()),
                    ["device"] = device.Info.Kind,
                    ["seconds"] = Json.Number(result.Seconds),
                    ["unit"] = "nats",
                    ["plot"] = plot,
                };
                Json.Write(context.Out, o);
                return 0;
            }

            var t = new Table("feature", "name", "MI (nats)", "rank", "selected");
            var rank = new int[result.Scores.Length];
            for (int r = 0; r < result.Ranking.Length; r++)
                rank[result.Ranking[r]] = r + 1;
            var chosen = result.Selected.ToHashSet();
            for (int f = 0; f < result.Scores.Length; f++)
                t.Add(f, data.Names[f], result.Scores[f], rank[f], chosen.Contains(f) ? "*" : "");
            context.Out.Write(t.ToString());
            context.Out.WriteLine($"selected (best first): {string.Join(", ", result.Selected.Select(i => $"{data.Names[i]} ({i})"))}");
            return 0;
        }

        /// <summary>The items of --discrete (null for all; an empty set for none or auto).</summary>
        private static HashSet<string>? DiscreteItems(string? text) =>
            text is null || text.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) || text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) ? []
            : text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase) ? null
            : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

        private static int[]? ParseDiscrete(string? text, string[] names)
        {
            if (text is null || text.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) || text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
                return null;
            if (text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase))
                return Enumerable.Range(0, names.Length).ToArray();
            var result = new List<int>();
            foreach (string item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int byName = Array.IndexOf(names, item);
                if (byName >= 0)
                    result.Add(byName);
                else if (int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= 0 && i < names.Length)
                    result.Add(i);
                else
                    throw new UsageException($"--discrete: '{item}' is neither a feature name nor a feature index 0..{names.Length - 1}");
            }
            return result.Distinct().ToArray();
        }
    }
}
