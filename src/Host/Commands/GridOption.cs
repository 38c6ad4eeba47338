using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Training;

namespace InfoGpu.Host.Commands;

/// <summary>One model of a grid: its seed, its values of the grid's settings (in the order of <c>--grid</c>), and its folder's name.</summary>
internal sealed record GridModel(ulong Seed, IReadOnlyList<KeyValuePair<string, double>> Settings, string Folder)
{
    /// <summary>The value of <paramref name="key"/> in this model, or null when the grid does not vary it.</summary>
    public double? Get(string key)
    {
        foreach (var (k, v) in Settings)
        {
            if (k == key)
                return v;
        }
        return null;
    }
}

/// <summary>
/// The <c>--seeds</c> and <c>--grid</c> options of the train commands: many models of the same
/// shape, one folder each under <c>--out</c>, and the <c>grid.json</c> index.
/// </summary>
internal static class GridOption
{
    /// <summary>The index written in the grid's folder.</summary>
    public const string IndexFile = "grid.json";

    /// <summary><c>--seeds LIST</c>.</summary>
    public static OptionSpec Seeds { get; } = new("seeds", "LIST",
        "train one model per seed, e.g. 1-8 or 1,3,10-12 (with --grid: every combination), advanced together step by step; each model gets its own folder under --out (e.g. DIR/seed-3) and DIR/grid.json indexes them");

    /// <summary><c>--grid "KEY=V1,V2;KEY=..."</c>, with the keys a command lets vary.</summary>
    public static OptionSpec Grid(string keys) => new("grid", "\"KEY=V1,V2;...\"",
        $"train one model per combination (the Cartesian product) of the settings, e.g. \"lr=0.01,0.1;weight-decay=0,1e-4\"; keys: {keys}. Each model gets its own folder under --out (e.g. DIR/seed-1_lr-0.01_weight-decay-0) and DIR/grid.json indexes them; the shape (hidden units, batch...) is shared");

    /// <summary><c>--grid-step auto|fused|one-by-one</c>: how the grid steps its models (<see cref="GridStepping"/>).</summary>
    public static OptionSpec Stepping { get; } = OptionSpec.Choice(
        "grid-step",
        "how a grid steps its models: auto (one set of launches for all of them on cuda and opencl; one model after another on cpu and ilgpu-cpu, where that measured as fast), fused (one set of launches on any device, for RBMs or VAEs of one shape) or one-by-one; on cpu every choice gives the same bits",
        ["auto", "fused", "one-by-one"],
        "auto");

    /// <summary>The stepping <c>--grid-step</c> asks for; a usage error when given to a single run.</summary>
    public static GridStepping ParseStepping(Args a, bool grid)
    {
        string? value = a.Get("grid-step");
        if (value is null)
            return GridStepping.Auto;
        if (!grid)
            throw new UsageException("--grid-step applies to grids (--seeds, --grid, or --resume of a grid's folder): leave it out of a single run");
        return value.ToLowerInvariant() switch
        {
            "fused" => GridStepping.Fused,
            "one-by-one" => GridStepping.OneByOne,
            _ => GridStepping.Auto,
        };
    }

    /// <summary>True when the command was asked for a grid.</summary>
    public static bool Requested(Args a) => a.Has("seeds") || a.Has("grid");

    /// <summary>
    /// The models of <c>--seeds</c> x <c>--grid</c>: seeds outermost, then the grid's keys in the
    /// order given. Usage errors for a bad list, a key the command does not let vary
    /// (<paramref name="shapeKeys"/> are named as the shared shape), a key also given as its own
    /// flag, repeats, or more than <see cref="ModelGrid.MaxModels"/> models.
    /// </summary>
    /// <param name="a">The arguments.</param>
    /// <param name="seed">The seed when <c>--seeds</c> is absent (that of <c>--seed</c> or the default).</param>
    /// <param name="keys">The keys <c>--grid</c> may vary; each is also the name of the command's own flag.</param>
    /// <param name="shapeKeys">Flags that fix the models' shape and may not vary.</param>
    public static IReadOnlyList<GridModel> Parse(Args a, ulong seed, IReadOnlyList<string> keys, IReadOnlyList<string> shapeKeys)
    {
        if (a.Has("seeds") && a.Has("seed"))
            throw new UsageException("give --seed or --seeds, not both");
        if (a.Has("resume"))
            throw new UsageException("--resume takes the models and settings from the folder it continues (a grid's folder resumes the whole grid): leave out --seeds and --grid");
        ulong[] seeds = a.Get("seeds") is string s ? ParseSeeds(s) : [seed];
        var axes = a.Get("grid") is string g ? ParseGrid(g, keys, shapeKeys) : [];
        foreach (var (key, _) in axes)
        {
            if (a.Declares(key) && a.Has(key))
                throw new UsageException($"--{key} and --grid {key}=... both set {key}; give it in one place");
        }
        long count = seeds.Length;
        foreach (var (_, values) in axes)
            count *= values.Length;
        if (count > ModelGrid.MaxModels)
            throw new UsageException($"--seeds and --grid make {count} models; a grid trains at most {ModelGrid.MaxModels}: split it into several runs");
        var models = new List<GridModel>((int)count);
        var index = new int[axes.Count];
        foreach (ulong sd in seeds)
        {
            Array.Clear(index);
            while (true)
            {
                var settings = new KeyValuePair<string, double>[axes.Count];
                for (int i = 0; i < axes.Count; i++)
                    settings[i] = new(axes[i].Key, axes[i].Values[index[i]]);
                models.Add(new GridModel(sd, settings, FolderName(sd, settings)));
                int d = axes.Count - 1;
                while (d >= 0 && ++index[d] == axes[d].Values.Length)
                    index[d--] = 0;
                if (d < 0)
                    break;
            }
        }
        return models;
    }

    /// <summary>A list of seeds: items separated by commas, each a seed or a range A-B (A &lt;= B), no seed twice.</summary>
    public static ulong[] ParseSeeds(string text)
    {
        var seeds = new List<ulong>();
        var seen = new HashSet<ulong>();
        foreach (string raw in text.Split(','))
        {
            string item = raw.Trim();
            int dash = item.IndexOf('-', 1 < item.Length ? 1 : 0);
            string lo = dash > 0 ? item[..dash] : item, hi = dash > 0 ? item[(dash + 1)..] : item;
            if (!ulong.TryParse(lo, NumberStyles.None, CultureInfo.InvariantCulture, out ulong a) || !ulong.TryParse(hi, NumberStyles.None, CultureInfo.InvariantCulture, out ulong b) || a > int.MaxValue || b > int.MaxValue)
                throw new UsageException($"--seeds: '{item}' is not a seed (0 to {int.MaxValue}) or a range A-B; give e.g. 1-8 or 1,3,10-12");
            if (a > b)
                throw new UsageException($"--seeds: the range '{item}' runs backwards; give A-B with A <= B");
            if (b - a + 1 > (ulong)ModelGrid.MaxModels || seeds.Count + (int)(b - a + 1) > ModelGrid.MaxModels)
                throw new UsageException($"--seeds '{text}' makes more than {ModelGrid.MaxModels} models, the most a grid trains; split it into several runs");
            for (ulong v = a; v <= b; v++)
            {
                if (!seen.Add(v))
                    throw new UsageException($"--seeds: seed {v} is listed twice; give each seed once");
                seeds.Add(v);
            }
        }
        return [.. seeds];
    }

    private static List<(string Key, double[] Values)> ParseGrid(string text, IReadOnlyList<string> keys, IReadOnlyList<string> shapeKeys)
    {
        var axes = new List<(string Key, double[] Values)>();
        foreach (string raw in text.Split(';'))
        {
            string part = raw.Trim();
            if (part.Length == 0)
                continue;
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new UsageException($"--grid: '{part}' is not KEY=V1,V2; give e.g. \"lr=0.01,0.1;weight-decay=0,1e-4\"");
            string key = part[..eq].Trim();
            if (shapeKeys.Contains(key))
                throw new UsageException($"--grid: {key} cannot vary in a grid, whose models share their shape ({string.Join(", ", shapeKeys)}); run one grid per {key}");
            if (key == "seed")
                throw new UsageException("--grid: give the seeds with --seeds (e.g. --seeds 1-8), not in --grid");
            if (!keys.Contains(key))
                throw new UsageException($"--grid: unknown key '{key}'; the keys are {string.Join(", ", keys)}");
            if (axes.Any(x => x.Key == key))
                throw new UsageException($"--grid: {key} is given twice; list all its values once, e.g. {key}=0.01,0.1");
            double[] values = Args.ParseList("grid " + key, part[(eq + 1)..]);
            if (values.Distinct().Count() != values.Length)
                throw new UsageException($"--grid: {key} lists a value twice; give each value once");
            axes.Add((key, values));
        }
        if (axes.Count == 0)
            throw new UsageException("--grid needs at least one KEY=V1,V2 setting, e.g. \"lr=0.01,0.1\"");
        return axes;
    }

    /// <summary>The folder of a model: seed-S, then _KEY-VALUE for each setting of the grid (values round-trip).</summary>
    public static string FolderName(ulong seed, IReadOnlyList<KeyValuePair<string, double>> settings) =>
        string.Concat(settings.Select(kv => $"_{kv.Key}-{kv.Value.ToString("R", CultureInfo.InvariantCulture)}").Prepend(string.Create(CultureInfo.InvariantCulture, $"seed-{seed}")));

    /// <summary>Refuses a folder that already holds a grid's index, unless <c>--overwrite</c> is given.</summary>
    public static void CheckIndex(Args a, string outDir)
    {
        string index = Path.Combine(outDir, IndexFile);
        if (File.Exists(outDir))
            throw new InfoGpuException($"{outDir} is a file, not a folder; give a folder for the grid's models");
        if (File.Exists(Path.Combine(outDir, TrainingSession.CheckpointFile)))
            throw new InfoGpuException($"{outDir} holds a single run ({TrainingSession.CheckpointFile}); give the grid another output folder");
        if (File.Exists(index) && !a.Has("overwrite"))
            throw new InfoGpuException($"{outDir} already holds a grid ({IndexFile}); choose another output folder, or pass --overwrite to replace it");
    }

    /// <summary>
    /// The grid's index: the shared configuration, whether the models are stepped in one set of
    /// launches (<c>fused</c>), and per model its settings, folder, checkpoint and last epoch's figures.
    /// </summary>
    public static JsonObject Index<TMetrics>(string command, string outDir, JsonObject config, IReadOnlyList<GridModel> models, IReadOnlyList<TrainingSession<TMetrics>> sessions, bool fused)
        where TMetrics : IEpochMetrics<TMetrics>
    {
        var list = new JsonArray();
        var names = TMetrics.ColumnNames;
        for (int i = 0; i < models.Count; i++)
        {
            var m = models[i];
            var settings = new JsonObject { ["seed"] = m.Seed };
            foreach (var (k, v) in m.Settings)
                settings[k] = Json.Number(v);
            JsonObject? final = null;
            if (sessions[i].History.Count > 0)
            {
                final = [];
                double[] cols = sessions[i].History[^1].ToColumns();
                for (int c = 0; c < names.Count && c < cols.Length; c++)
                    final[names[c]] = c == 0 ? (int)cols[c] : Json.Number(cols[c]);
            }
            list.Add(new JsonObject
            {
                ["folder"] = m.Folder,
                ["settings"] = settings,
                ["model"] = sessions[i].CheckpointPath,
                ["epochs_done"] = sessions[i].Trainer.Epoch,
                ["final"] = final,
            });
        }
        return new JsonObject
        {
            ["command"] = command,
            ["out"] = outDir,
            ["count"] = models.Count,
            ["fused"] = fused,
            ["config"] = config.DeepClone(),
            ["models"] = list,
        };
    }

    /// <summary>The note line that says whether the grid's models share one set of launches per step, or why not.</summary>
    /// <param name="fused">Whether this process steps its models in one set of launches.</param>
    /// <param name="reason">Why not, when not.</param>
    /// <param name="count">The models this process steps.</param>
    public static string FusionNote(bool fused, string? reason, int count) =>
        fused ? $"fused: one set of launches for {count} models" : $"not fused: {reason}; the models are stepped one after another";

    /// <summary>True when <paramref name="dir"/> is a grid's folder: it holds grid.json and no checkpoint of its own.</summary>
    public static bool IsGrid(string dir) =>
        Directory.Exists(dir) && File.Exists(Path.Combine(dir, IndexFile)) && !File.Exists(Path.Combine(dir, TrainingSession.CheckpointFile));

    /// <summary>
    /// Reads a grid's index for <c>--resume</c>: its shared configuration and its models (seed,
    /// settings, folder). One-line errors for an index that is not JSON, of another command, or
    /// whose models are incomplete.
    /// </summary>
    public static (JsonObject Config, List<GridModel> Models) ReadIndex(string dir, string command)
    {
        string path = Path.Combine(dir, IndexFile);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InfoGpuException($"{path}: not a grid index (a JSON object); give the --out folder of an earlier '{command} --seeds/--grid'");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InfoGpuException($"{path}: not valid JSON ({e.Message.Split('\n')[0]}); give the --out folder of an earlier '{command} --seeds/--grid'");
        }
        catch (IOException e)
        {
            throw new InfoGpuException($"{path}: cannot be read ({e.Message})");
        }
        string Bad(string what) => $"{path}: {what}; it was not written by '{command} --seeds/--grid' (or was edited)";
        try
        {
            if ((string?)root["command"] != command)
                throw new InfoGpuException(Bad($"its command is '{(string?)root["command"]}', not '{command}'"));
            var config = root["config"] as JsonObject ?? throw new InfoGpuException(Bad("it has no config"));
            var list = root["models"] as JsonArray ?? throw new InfoGpuException(Bad("it has no models"));
            if (list.Count == 0 || list.Count > ModelGrid.MaxModels)
                throw new InfoGpuException(Bad($"it lists {list.Count} models"));
            var models = new List<GridModel>(list.Count);
            foreach (var node in list)
            {
                var m = node as JsonObject ?? throw new InfoGpuException(Bad("a model is not an object"));
                string folder = (string?)m["folder"] ?? throw new InfoGpuException(Bad("a model has no folder"));
                if (folder.Length == 0 || folder != Path.GetFileName(folder) || folder is "." or "..")
                    throw new InfoGpuException(Bad($"model folder '{folder}' is not a plain folder name"));
                var settings = m["settings"] as JsonObject ?? throw new InfoGpuException(Bad($"model {folder} has no settings"));
                ulong seed = (ulong?)settings["seed"] ?? throw new InfoGpuException(Bad($"model {folder} has no seed"));
                var values = settings.Where(kv => kv.Key != "seed").Select(kv => new KeyValuePair<string, double>(kv.Key, (double?)kv.Value ?? double.NaN)).ToList();
                models.Add(new GridModel(seed, values, folder));
            }
            return ((JsonObject)config.DeepClone(), models);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw new InfoGpuException(Bad($"a value has the wrong type ({e.Message})"));
        }
    }

    /// <summary>Writes the index to DIR/grid.json (through a temporary file, so that a reader never sees half of it).</summary>
    public static void WriteIndex(string outDir, JsonObject index)
    {
        Directory.CreateDirectory(outDir);
        string path = Path.Combine(outDir, IndexFile), tmp = path + ".tmp";
        using (var w = new StreamWriter(tmp))
            Json.Write(w, index);
        File.Move(tmp, path, overwrite: true);
    }
}
