using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using InfoGpu.Boltzmann;
using InfoGpu.Checkpoints;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Training;
using static System.FormattableString;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu bm train</c> and <c>infogpu bm sample</c>: the general Boltzmann machine on bars-and-stripes.</summary>
internal static class BmCommands
{
    public static IReadOnlyList<ICommand> All { get; } = [new Train(), new SampleCommand()];

    private sealed class Train : IDistributedCommand
    {
        private static readonly BoltzmannTrainingOptions D = new();

        public CommandSpec Spec { get; } = new(
            "bm train",
            "train a general Boltzmann machine (hidden-hidden links) on bars-and-stripes by Gibbs sampling",
            Invariant($"[--size 3] [--hidden 4] [--epochs {D.Epochs}] [--batch B] [--lr {D.LearningRate}] [--burn-in {D.BurnIn}] [--samples {D.Samples}] [--chains {D.NegativeChains}] [--fresh] [--weight-decay {D.WeightDecay}] [--seed {D.Seed}] [--out DIR [--overwrite]] [--resume DIR] [--checkpoint-every N] [--shards N] [--accelerator KIND] [--json]"),
            [
                OptionSpec.Int("size", "N", "bars-and-stripes patterns of N x N pixels (2 to 5; default 3)", 3),
                OptionSpec.Int("hidden", "H", "hidden units (default 4)", 4),
                OptionSpec.Int("epochs", "E", Invariant($"passes over all patterns (default {D.Epochs}; with --resume: the total to reach)"), D.Epochs),
                OptionSpec.Int("batch", "B", "patterns per learning update, in a seeded order per epoch (default: all, one update per epoch)"),
                OptionSpec.Double("lr", "R", Invariant($"learning rate (default {D.LearningRate})"), D.LearningRate),
                OptionSpec.Int("burn-in", "B", Invariant($"Gibbs sweeps discarded before collecting statistics (default {D.BurnIn})"), D.BurnIn),
                OptionSpec.Int("samples", "S", Invariant($"sweeps collected per phase (default {D.Samples})"), D.Samples),
                OptionSpec.Int("chains", "C", Invariant($"free-running chains of the negative phase (default {D.NegativeChains})"), D.NegativeChains),
                OptionSpec.Flag("fresh", "fresh negative chains with burn-in at every update (default: persistent chains)"),
                OptionSpec.Double("weight-decay", "D", Invariant($"L2 penalty on the weights (default {D.WeightDecay})"), D.WeightDecay),
                OptionSpec.Int("seed", "S", Invariant($"Philox seed (default {D.Seed})"), (int)D.Seed),
                OptionSpec.File("out", "DIR", "write DIR/bm.json (the machine), DIR/metrics.csv and the checkpoint DIR/model.safetensors (with --resume: that folder)"),
                OptionSpec.File("resume", "DIR", "continue the run whose checkpoint is DIR/model.safetensors, with its settings"),
                OptionSpec.Flag("overwrite", "replace the run already in the --out folder (default: refuse, and say how to resume it)"),
                OptionSpec.Int("checkpoint-every", "N", "also write the checkpoint every N learning updates (default: only at the end of every epoch and on Ctrl-C)"),
                OptionSpec.Int("shards", "N", "split the chains of every update into N shards whose statistics are added in shard order, as N MPI ranks do (default 1; under mpirun: the number of ranks)"),
                CommandSpec.Accelerator,
            ],
            ["infogpu bm train --size 3 --hidden 4 --epochs 300 --out out/bm", "infogpu bm train --size 2 --hidden 2 --json", "infogpu bm train --size 4 --batch 5 --checkpoint-every 50 --out out/bm4", "infogpu bm train --resume out/bm4 --epochs 600"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            string? resume = a.Get("resume");
            int epochs = a.Has("epochs") ? a.GetInt("epochs") : 0;
            int checkpointEvery = a.GetInt("checkpoint-every", 0);
            if (checkpointEvery < 0 || (a.Has("epochs") && epochs < 1))
                throw new UsageException("--checkpoint-every must be >= 0 and --epochs >= 1");
            string? outDir = a.Get("out") ?? resume;
            if (checkpointEvery > 0 && outDir is null)
                throw new UsageException("--checkpoint-every needs --out DIR (or --resume DIR): the folder the checkpoint goes to");
            var checkpoint = resume is null ? null : TrainingSession.ReadCheckpoint(resume, BoltzmannCheckpoint.Format, "a Boltzmann-machine", "infogpu bm train");
            double? newLr = checkpoint is null ? null : SessionRunner.CheckResumeFlags(context, ["size", "hidden", "batch", "burn-in", "samples", "chains", "fresh", "weight-decay", "seed"]);
            int size = checkpoint is not null ? MetadataInt(checkpoint, "size") : a.GetInt("size", 3);
            if (size is < 2 or > 5)
                throw new UsageException($"--size must be 2 to 5 (got {size})");
            var parallel = DataParallelOption.Parse(context, checkpoint);
            var data = BarsAndStripes.Generate(size);
            double patterns = data.Length / (size * size);
            using var device = DeviceOption.Open(context);
            BoltzmannTrainer trainer;
            if (checkpoint is not null)
            {
                if (BoltzmannCheckpoint.LoadMachine(checkpoint).Visible != size * size)
                    throw new InfoGpuException($"--resume: the checkpoint's machine does not have the {size * size} visible units of {size}x{size} patterns");
                trainer = BoltzmannTrainer.Resume(device, checkpoint, data, parallel);
                SessionRunner.ApplyLearningRate(context, newLr, trainer);
                context.Note($"resumed from {resume} at epoch {trainer.Epoch}, step {trainer.StepInEpoch} of the epoch ({trainer.Step} updates done)");
            }
            else
            {
                int hidden = a.GetInt("hidden", 4), seed = a.GetInt("seed", (int)D.Seed), batch = a.GetInt("batch", D.BatchSize);
                if (hidden < 0 || seed < 0 || (a.Has("batch") && batch < 1))
                    throw new UsageException("--batch must be >= 1, --hidden and --seed >= 0");
                var options = D with
                {
                    LearningRate = a.GetDouble("lr", D.LearningRate),
                    BurnIn = a.GetInt("burn-in", D.BurnIn),
                    Samples = a.GetInt("samples", D.Samples),
                    NegativeChains = a.GetInt("chains", D.NegativeChains),
                    Persistent = !a.Has("fresh"),
                    WeightDecay = a.GetDouble("weight-decay", D.WeightDecay),
                    Seed = (ulong)seed,
                    BatchSize = batch,
                    Epochs = epochs > 0 ? epochs : D.Epochs,
                };
                try
                {
                    options.Validate();
                }
                catch (InfoGpuException e)
                {
                    throw new UsageException(e.Message);
                }
                var machine = new BoltzmannMachine(size * size, hidden);
                machine.InitializeRandom(options.Seed, 0.01);
                trainer = new BoltzmannTrainer(device, machine, data, options, parallel);
            }
            using (trainer)
            {
                var o = trainer.Options;
                var machine = trainer.Machine;
                context.Note(Invariant($"bars-and-stripes {size}x{size}: {patterns} patterns; {machine.Visible} visible, {machine.Hidden} hidden; seed {o.Seed}"));
                context.Note(Invariant($"{trainer.StepsPerEpoch} updates per epoch, lr {o.LearningRate}, burn-in {o.BurnIn}, samples {o.Samples}, {o.NegativeChains} {(o.Persistent ? "persistent" : "fresh")} chains"));
                DataParallelOption.Note(context, parallel);
                var metadata = DataParallelOption.Record(new Dictionary<string, string> { ["size"] = size.ToString(CultureInfo.InvariantCulture) }, parallel);
                var session = new TrainingSession<BoltzmannEpochMetrics>(trainer, SessionRunner.Options(context, epochs, outDir, checkpointEvery, metadata), checkpoint);
                int target = trainer.Epochs;
                session.EpochCompleted += e =>
                {
                    if ((e.Epoch % Math.Max(1, target / 10) == 0 || e.Epoch == target) && e.ExactLogLikelihood is double l)
                        context.Note(Invariant($"epoch {e.Epoch,5}: exact log-likelihood {l:F4} nats"));
                };
                int code = SessionRunner.Run(context, session, "bm train", outDir);
                if (code != 0)
                    return code;
                if (outDir is not null && context.Cluster.IsRoot)
                {
                        Plots.SaveAtomically(Path.Combine(outDir, "bm.json"), tmp => File.WriteAllText(tmp, ToJson(machine).ToJsonString()));
                }
                var history = session.History;
                double? last = history.Count > 0 ? history[^1].ExactLogLikelihood : null;
                if (a.Json)
                {
                    var epochsJson = new JsonArray();
                    foreach (var r in history)
                        epochsJson.Add(new JsonObject { ["epoch"] = r.Epoch, ["seconds"] = Json.Number(r.Seconds), ["exact_log_likelihood"] = r.ExactLogLikelihood is double ll ? Json.Number(ll) : null });
                    Json.Write(context.Out, new JsonObject
                    {
                        ["config"] = new JsonObject { ["size"] = size, ["visible"] = machine.Visible, ["hidden"] = machine.Hidden, ["epochs"] = target, ["lr"] = o.LearningRate, ["burn_in"] = o.BurnIn, ["samples"] = o.Samples, ["chains"] = o.NegativeChains, ["persistent"] = o.Persistent, ["seed"] = o.Seed, ["batch"] = trainer.BatchSize, ["weight_decay"] = o.WeightDecay },
                        ["epochs"] = epochsJson,
                        ["best_possible_log_likelihood"] = Json.Number(-Math.Log(patterns)),
                        ["model"] = outDir is null ? null : Path.Combine(outDir, "bm.json"),
                        ["checkpoint"] = session.CheckpointPath,
                    });
                }
                else
                {
                    string ll = last is double v ? Invariant($"{Json.Number(v)} nats per pattern") : "not computed (more than 20 units)";
                    context.Out.WriteLine(Invariant($"exact log-likelihood after {target} epochs ({trainer.Step} updates): {ll} (best possible -ln {patterns} = {-Math.Log(patterns):F4})"));
                }
            }
            return 0;
        }

        private static int MetadataInt(TensorSet set, string key)
        {
            string v = set.GetMetadata(key);
            return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
                ? n
                : throw new InfoGpuException($"{set.Source}: metadata '{key}' is '{v}', not an integer");
        }
    }

    private sealed class SampleCommand : ICommand
    {
        /// <summary>The engine's diagnostics defaults, which the options declare.</summary>
        private static readonly GibbsDiagnosticsOptions G = new();

        public CommandSpec Spec { get; } = new(
            "bm sample",
            "draw patterns from a trained Boltzmann machine by Gibbs sampling with burn-in; --diagnostics measures burn-in and mixing against the exact distribution",
            "--model FILE [--count 16] [--burn-in 100] [--seed 1] [--diagnostics [--chains 1000] [--sweeps 300] [--max-lag 50] [--tv-over visible|all]] [--accelerator KIND] [--json]",
            [
                OptionSpec.File("model", "FILE", "a bm.json or model.safetensors written by 'infogpu bm train --out DIR' (or DIR itself: its bm.json)"),
                OptionSpec.Int("count", "K", "samples (default 16)", 16),
                OptionSpec.Int("burn-in", "B", "sweeps per chain before its sample (default 100); with --diagnostics also the sweeps discarded before the energy autocorrelation", 100),
                OptionSpec.Int("seed", "S", "Philox seed (default 1)", 1),
                OptionSpec.Flag("diagnostics", Invariant($"also run --chains chains for --sweeps sweeps (a sweep: as many single-site updates as units, at random sites) and print the total-variation distance of their states from the exact distribution after each sweep, the floor an exact sampler with as many chains shows, the energy autocorrelation after the burn-in, the integrated autocorrelation time (Sokal's window, c = 5) and the effective sample size; machines of at most {GibbsDiagnostics.MaxUnits} units")),
                OptionSpec.Int("chains", "C", Invariant($"independent chains of --diagnostics (default {G.Chains})"), G.Chains),
                OptionSpec.Int("sweeps", "S", Invariant($"sweeps of --diagnostics, the burn-in included (default {G.Sweeps})"), G.Sweeps),
                OptionSpec.Int("max-lag", "L", Invariant($"largest lag of the energy autocorrelation printed (default {G.MaxLag})"), G.MaxLag),
                OptionSpec.Choice("tv-over", "the states TV compares: the visible units against the exact p(v), hidden units summed out, or all units against the exact joint p(s)", ["visible", "all"], "visible"),
                CommandSpec.Accelerator,
            ],
            ["infogpu bm sample --model out/bm/bm.json --count 8", "infogpu bm sample --model out/bm --diagnostics --chains 2000 --sweeps 400 --json"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            string model = a.Require("model");
            if (Directory.Exists(model))
                model = Path.Combine(model, "bm.json");
            var machine = model.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
                ? BoltzmannCheckpoint.LoadMachine(BoltzmannCheckpoint.Read(model))
                : FromJson(model);
            int count = a.GetInt("count", 16), burnIn = a.GetInt("burn-in", 100), seed = a.GetInt("seed", 1);
            if (count < 1)
                throw new UsageException("--count must be >= 1");
            if (burnIn < 0 || seed < 0)
                throw new UsageException("--burn-in and --seed must be >= 0");
            bool diagnose = a.Has("diagnostics");
            GibbsDiagnosticsOptions? diagnosticsOptions = null;
            if (diagnose)
            {
                if (machine.Units > GibbsDiagnostics.MaxUnits)
                    throw new InfoGpuException($"--diagnostics enumerates all 2^units states: at most {GibbsDiagnostics.MaxUnits} units, and this machine has {machine.Units}");
                diagnosticsOptions = new GibbsDiagnosticsOptions
                {
                    Chains = a.GetInt("chains"),
                    Sweeps = a.GetInt("sweeps"),
                    BurnIn = burnIn,
                    MaxLag = a.GetInt("max-lag"),
                    Seed = (ulong)seed,
                    Over = a.GetOrDefault("tv-over") switch
                    {
                        "visible" => TotalVariationUnits.Visible,
                        "all" => TotalVariationUnits.All,
                        var v => throw new UsageException($"--tv-over '{v}' is not visible or all"),
                    },
                };
                try
                {
                    diagnosticsOptions.Validate();
                }
                catch (InfoGpuException e)
                {
                    throw new UsageException($"{e.Message} (--chains, --sweeps, --burn-in, --max-lag)");
                }
            }
            else
            {
                var stray = new[] { "chains", "sweeps", "max-lag", "tv-over" }.Where(a.Has).Select(f => "--" + f).ToList();
                if (stray.Count > 0)
                    throw new UsageException($"{string.Join(", ", stray)} only apply with --diagnostics");
            }
            using var device = DeviceOption.Open(context);
            var s = BoltzmannTrainer.Sample(device, machine, count, burnIn, (ulong)seed);
            int side = (int)Math.Round(Math.Sqrt(machine.Visible));
            var rows = new JsonArray();
            for (int k = 0; k < count; k++)
            {
                var v = s.AsSpan(k * machine.Units, machine.Visible).ToArray();
                rows.Add(new JsonArray(v.Select(x => (JsonNode?)JsonValue.Create((int)x)).ToArray()));
                if (!a.Json)
                {
                    for (int r = 0; r * side < machine.Visible; r++)
                        context.Out.WriteLine(string.Concat(v.Skip(r * side).Take(side).Select(x => x > 0 ? '#' : '.')));
                    context.Out.WriteLine();
                }
            }
            GibbsDiagnosticsResult? diagnostics = null;
            if (diagnosticsOptions is not null)
            {
                context.Note(Invariant($"diagnostics: {diagnosticsOptions.Chains} chains x {diagnosticsOptions.Sweeps} sweeps of {machine.Units} units, burn-in {burnIn}, seed {seed}"));
                diagnostics = GibbsDiagnostics.Run(device, machine, diagnosticsOptions);
                if (!a.Json)
                    PrintDiagnostics(context.Out, diagnostics);
            }
            if (a.Json)
            {
                var doc = new JsonObject { ["samples"] = rows, ["visible"] = machine.Visible };
                if (diagnostics is not null)
                    doc["diagnostics"] = DiagnosticsJson(diagnostics);
                Json.Write(context.Out, doc);
            }
            return 0;
        }
    }

    /// <summary>The sweeps at which the text output shows TV: 0, 1, 2, 5, 10, 20, 50, ... up to the last.</summary>
    internal static IEnumerable<int> TableSweeps(int sweeps)
    {
        int[] steps = [1, 2, 5];
        yield return 0;
        for (long scale = 1; scale <= sweeps; scale *= 10)
        {
            foreach (int k in steps)
            {
                long s = k * scale;
                if (s < sweeps)
                    yield return (int)s;
            }
        }
        yield return sweeps;
    }

    private static void PrintDiagnostics(TextWriter o, GibbsDiagnosticsResult d)
    {
        o.WriteLine(Invariant($"total-variation distance of {d.Chains} chains from the exact distribution ({OverText(d.Over)}); exact-sampler floor {d.TotalVariationFloor:F4} +- {d.TotalVariationFloorStdDev:F4}"));
        o.WriteLine("  sweeps        TV");
        foreach (int s in TableSweeps(d.Sweeps))
            o.WriteLine(Invariant($"{s,8}  {d.TotalVariationBySweep[s],8:F4}"));
        var e = d.Energy;
        if (double.IsNaN(e.Tau))
        {
            o.WriteLine("energy autocorrelation: the energy is constant after the burn-in; no autocorrelation time");
            return;
        }
        var lags = new[] { 1, 2, 5, 10, 20, 50, 100, 200, 500 }.Where(k => k < e.Rho.Length).ToList();
        o.WriteLine(Invariant($"energy autocorrelation after {d.BurnIn} sweeps of burn-in: ") + string.Join(", ", lags.Select(k => Invariant($"lag {k}: {e.Rho[k]:F3}"))));
        o.WriteLine(Invariant($"integrated autocorrelation time {e.Tau:F2} sweeps (Sokal's window M = {e.Window}, c = 5{(e.WindowReached ? "" : "; not reached: run more --sweeps, tau is a lower estimate")}); effective sample size {e.EffectiveSampleSize:F0} of {e.Samples} energies"));
    }

    private static string OverText(TotalVariationUnits over) => over == TotalVariationUnits.Visible ? "visible units" : "all units";

    /// <summary>The <c>diagnostics</c> object of <c>bm sample --diagnostics --json</c>.</summary>
    internal static JsonObject DiagnosticsJson(GibbsDiagnosticsResult d) => new()
    {
        ["chains"] = d.Chains,
        ["sweeps"] = d.Sweeps,
        ["burn_in"] = d.BurnIn,
        ["tv_over"] = OverText(d.Over),
        ["tv_by_sweep"] = Json.Array(d.TotalVariationBySweep),
        ["tv_floor"] = Json.Number(d.TotalVariationFloor),
        ["tv_floor_stddev"] = Json.Number(d.TotalVariationFloorStdDev),
        ["energy_autocorrelation"] = Json.Array(d.Energy.Rho),
        ["integrated_autocorrelation_time"] = Json.Number(d.Energy.Tau),
        ["autocorrelation_window"] = d.Energy.Window,
        ["autocorrelation_window_reached"] = d.Energy.WindowReached,
        ["effective_sample_size"] = Json.Number(d.Energy.EffectiveSampleSize),
        ["energy_samples"] = d.Energy.Samples,
        ["seconds"] = Json.Number(d.Seconds),
    };

    private static JsonObject ToJson(BoltzmannMachine m) => new()
    {
        ["format"] = "infogpu-boltzmann-machine-1",
        ["visible"] = m.Visible,
        ["hidden"] = m.Hidden,
        ["weights"] = Json.Array(m.Weights),
        ["biases"] = Json.Array(m.Biases),
    };

    private static BoltzmannMachine FromJson(string path)
    {
        try
        {
            // 4,096 units: 16.8 million weights of at most about 25 characters each.
            var root = JsonNode.Parse(BoundedRead.AllBytes(path, 512 << 20, "a Boltzmann machine written by 'infogpu bm train' (bm.json)")) ?? throw new InfoGpuException($"{path} is empty");
            int nv = root["visible"]!.GetValue<int>(), nh = root["hidden"]!.GetValue<int>();
            var m = new BoltzmannMachine(nv, nh);
            var w = root["weights"]!.AsArray();
            var b = root["biases"]!.AsArray();
            if (w.Count != m.Units * m.Units || b.Count != m.Units)
                throw new InfoGpuException($"{path}: weights or biases have the wrong length for {nv} visible and {nh} hidden units");
            for (int k = 0; k < w.Count; k++)
                m.Weights[k] = w[k]!.GetValue<double>();
            for (int k = 0; k < b.Count; k++)
                m.Biases[k] = b[k]!.GetValue<double>();
            m.Validate(path);
            return m;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InfoGpuException($"{path} is not a Boltzmann machine written by 'infogpu bm train': {e.Message.Split('\n')[0]}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InfoGpuException($"cannot read {path}: {e.Message}");
        }
    }
}
