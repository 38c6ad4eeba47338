using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using InfoGpu.Boltzmann;
using InfoGpu.Checkpoints;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu bm train</c> and <c>infogpu bm sample</c>: the general Boltzmann machine on bars-and-stripes.</summary>
internal static class BmCommands
{
    public static IReadOnlyList<ICommand> All { get; } = [new Train(), new SampleCommand()];

    private const string ModelFile = "model.safetensors";

    private sealed class Train : ICommand
    {
        public CommandSpec Spec { get; } = new(
            "bm train",
            "train a general Boltzmann machine (hidden-hidden links) on bars-and-stripes by Gibbs sampling",
            "[--size 3] [--hidden 4] [--epochs 300] [--batch B] [--lr 0.1] [--burn-in 10] [--samples 10] [--chains 200] [--fresh] [--seed 1] [--out DIR] [--resume DIR] [--checkpoint-every N] [--accelerator KIND] [--json]",
            [
                new("size", "N", "bars-and-stripes patterns of N x N pixels (2 to 5; default 3)"),
                new("hidden", "H", "hidden units (default 4)"),
                new("epochs", "E", "passes over all patterns (default 300; with --resume: the total to reach)"),
                new("batch", "B", "patterns per learning update, in a seeded order per epoch (default: all, one update per epoch)"),
                new("lr", "R", "learning rate (default 0.1)"),
                new("burn-in", "B", "Gibbs sweeps discarded before collecting statistics (default 10)"),
                new("samples", "S", "sweeps collected per phase (default 10)"),
                new("chains", "C", "free-running chains of the negative phase (default 200)"),
                new("fresh", null, "fresh negative chains with burn-in at every update (default: persistent chains)"),
                new("weight-decay", "D", "L2 penalty on the weights (default 0)"),
                new("seed", "S", "Philox seed (default 1)"),
                new("out", "DIR", "write DIR/bm.json (the machine), DIR/metrics.csv and the checkpoint DIR/model.safetensors (with --resume: that folder)"),
                new("resume", "DIR", "continue the run whose checkpoint is DIR/model.safetensors, with its settings"),
                new("checkpoint-every", "N", "also write the checkpoint every N learning updates (default: only at the end of every epoch and on Ctrl-C)"),
                CommandSpec.Accelerator,
            ],
            ["infogpu bm train --size 3 --hidden 4 --epochs 300 --out out/bm", "infogpu bm train --size 2 --hidden 2 --json", "infogpu bm train --size 4 --batch 5 --checkpoint-every 50 --out out/bm4", "infogpu bm train --resume out/bm4 --epochs 600"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            string? resume = a.Get("resume");
            TensorSet? checkpoint = null;
            BoltzmannTrainingOptions options;
            BoltzmannMachine machine;
            int size, epochs;
            if (resume is not null)
            {
                string path = Path.Combine(resume, ModelFile);
                if (!File.Exists(path))
                    throw new InfoGpuException($"--resume {resume}: no {ModelFile} there; give the --out folder of an earlier 'infogpu bm train'");
                checkpoint = BoltzmannCheckpoint.Read(path);
                options = BoltzmannCheckpoint.ReadOptions(checkpoint);
                machine = BoltzmannCheckpoint.LoadMachine(checkpoint);
                size = MetadataInt(checkpoint, "size");
                epochs = a.GetInt("epochs", MetadataInt(checkpoint, "epochs"));
                if (epochs < 1)
                    throw new UsageException("--epochs must be >= 1");
            }
            else
            {
                size = a.GetInt("size", 3);
                int hidden = a.GetInt("hidden", 4);
                epochs = a.GetInt("epochs", 300);
                int seed = a.GetInt("seed", 1), batch = a.GetInt("batch", 0);
                if (epochs < 1 || hidden < 0 || seed < 0 || (a.Has("batch") && batch < 1))
                    throw new UsageException("--epochs and --batch must be >= 1, --hidden and --seed >= 0");
                options = new BoltzmannTrainingOptions(
                    a.GetDouble("lr", 0.1), a.GetInt("burn-in", 10), a.GetInt("samples", 10), 4, a.GetInt("chains", 200),
                    !a.Has("fresh"), a.GetDouble("weight-decay", 0), (ulong)seed, batch);
                machine = new BoltzmannMachine(size * size, hidden);
                machine.InitializeRandom(options.Seed, 0.01);
            }
            int checkpointEvery = a.GetInt("checkpoint-every", 0);
            if (checkpointEvery < 0)
                throw new UsageException("--checkpoint-every must be >= 0");
            string? outDir = a.Get("out") ?? resume;
            if (checkpointEvery > 0 && outDir is null)
                throw new UsageException("--checkpoint-every needs --out DIR (or --resume DIR): the folder the checkpoint goes to");
            var data = BarsAndStripes.Generate(size);
            if (machine.Visible != size * size)
                throw new InfoGpuException($"--resume: the checkpoint has {machine.Visible} visible units but {size}x{size} patterns have {size * size} pixels");
            double patterns = data.Length / (size * size);
            using var device = DeviceOption.Open(context);
            context.Note($"bars-and-stripes {size}x{size}: {patterns} patterns; {machine.Visible} visible, {machine.Hidden} hidden; seed {options.Seed}");
            var metadata = new Dictionary<string, string>
            {
                ["size"] = size.ToString(CultureInfo.InvariantCulture),
                ["epochs"] = epochs.ToString(CultureInfo.InvariantCulture),
            };
            string? modelPath = outDir is null ? null : Path.Combine(outDir, ModelFile);
            var history = new List<BoltzmannEpoch>();
            using var trainer = new BoltzmannTrainer(device, machine, data, options);
            if (checkpoint is not null)
            {
                BoltzmannCheckpoint.Restore(trainer, checkpoint);
                history.AddRange(ReadHistory(checkpoint, trainer.Epoch));
                context.Note($"resumed from {resume} at epoch {trainer.Epoch}, step {trainer.StepInEpoch} of the epoch ({trainer.Step} updates done)");
            }
            context.Note(FormattableString.Invariant($"{trainer.StepsPerEpoch} updates per epoch, lr {options.LearningRate}, burn-in {options.BurnIn}, samples {options.Samples}, {options.NegativeChains} {(options.Persistent ? "persistent" : "fresh")} chains"));

            using var cancel = new CtrlC();
            while (trainer.Epoch < epochs)
            {
                var r = trainer.TrainEpoch(cancel.Token, modelPath is null ? 0 : checkpointEvery);
                if (r is null && !cancel.Token.IsCancellationRequested)
                {
                    // --checkpoint-every N updates: a whole checkpoint mid-epoch, then go on.
                    Save(modelPath!, trainer, metadata, history);
                    continue;
                }
                if (r is not BoltzmannEpoch e)
                {
                    if (modelPath is null)
                    {
                        context.Err.WriteLine($"interrupted in epoch {trainer.Epoch + 1} after update {trainer.Step}; nothing saved (give --out DIR to checkpoint)");
                        return 130;
                    }
                    Save(modelPath, trainer, metadata, history);
                    context.Err.WriteLine($"interrupted in epoch {trainer.Epoch + 1} after step {trainer.StepInEpoch}; checkpoint written to {modelPath}");
                    context.Err.WriteLine($"resume with: infogpu bm train --resume {outDir}");
                    return 130;
                }
                history.Add(e);
                if ((e.Epoch % Math.Max(1, epochs / 10) == 0 || e.Epoch == epochs) && e.ExactLogLikelihood is double l)
                    context.Note(FormattableString.Invariant($"epoch {e.Epoch,5}: exact log-likelihood {l:F4} nats"));
                // The end of every epoch is a checkpoint, with the figures so far.
                if (modelPath is not null)
                    Save(modelPath, trainer, metadata, history);
            }

            var epochsJson = new JsonArray();
            var csv = new List<string> { "epoch,seconds,exact_log_likelihood" };
            foreach (var r in history)
            {
                epochsJson.Add(new JsonObject { ["epoch"] = r.Epoch, ["seconds"] = Json.Number(r.Seconds), ["exact_log_likelihood"] = r.ExactLogLikelihood is double ll ? Json.Number(ll) : null });
                csv.Add(FormattableString.Invariant($"{r.Epoch},{r.Seconds:R},{r.ExactLogLikelihood?.ToString("R", CultureInfo.InvariantCulture) ?? ""}"));
            }
            if (outDir is not null)
            {
                Directory.CreateDirectory(outDir);
                Save(modelPath!, trainer, metadata, history);
                Plots.SaveAtomically(Path.Combine(outDir, "bm.json"), tmp => File.WriteAllText(tmp, ToJson(machine).ToJsonString()));
                Plots.SaveAtomically(Path.Combine(outDir, "metrics.csv"), tmp => File.WriteAllLines(tmp, csv));
            }
            var last = epochsJson.Count > 0 ? epochsJson[^1]!["exact_log_likelihood"] : null;
            if (a.Json)
            {
                Json.Write(context.Out, new JsonObject
                {
                    ["config"] = new JsonObject { ["size"] = size, ["visible"] = machine.Visible, ["hidden"] = machine.Hidden, ["epochs"] = epochs, ["lr"] = options.LearningRate, ["burn_in"] = options.BurnIn, ["samples"] = options.Samples, ["chains"] = options.NegativeChains, ["persistent"] = options.Persistent, ["seed"] = options.Seed, ["batch"] = trainer.BatchSize, ["weight_decay"] = options.WeightDecay },
                    ["epochs"] = epochsJson,
                    ["best_possible_log_likelihood"] = Json.Number(-Math.Log(patterns)),
                    ["model"] = outDir is null ? null : Path.Combine(outDir, "bm.json"),
                    ["checkpoint"] = modelPath,
                });
            }
            else
            {
                string ll = last is null ? "not computed (more than 20 units)" : $"{last} nats per pattern";
                context.Out.WriteLine(FormattableString.Invariant($"exact log-likelihood after {epochs} epochs ({trainer.Step} updates): {ll} (best possible -ln {patterns} = {-Math.Log(patterns):F4})"));
            }
            return 0;
        }

        /// <summary>The checkpoint with the per-epoch figures so far as the tensor "history" [epochs, 3]: epoch, seconds, exact log-likelihood (NaN when not computed).</summary>
        private static void Save(string path, BoltzmannTrainer trainer, Dictionary<string, string> metadata, List<BoltzmannEpoch> history)
        {
            var set = BoltzmannCheckpoint.Capture(trainer);
            foreach (var (k, v) in metadata)
                set.Metadata[k] = v;
            var h = new double[history.Count * 3];
            for (int i = 0; i < history.Count; i++)
            {
                h[3 * i] = history[i].Epoch;
                h[3 * i + 1] = history[i].Seconds;
                h[3 * i + 2] = history[i].ExactLogLikelihood ?? double.NaN;
            }
            set.Add("history", h, history.Count, 3);
            SafeTensors.Write(path, set);
        }

        private static IEnumerable<BoltzmannEpoch> ReadHistory(TensorSet set, int epochsDone)
        {
            if (!set.Contains("history"))
                yield break;
            var h = set.GetDouble("history");
            for (int i = 0; i + 2 < h.Length; i += 3)
            {
                if (h[i] <= epochsDone)
                    yield return new BoltzmannEpoch((int)h[i], h[i + 1], double.IsNaN(h[i + 2]) ? null : h[i + 2]);
            }
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
        public CommandSpec Spec { get; } = new(
            "bm sample",
            "draw patterns from a trained Boltzmann machine by Gibbs sampling with burn-in",
            "--model FILE [--count 16] [--burn-in 100] [--seed 1]",
            [new("model", "FILE", "a bm.json or model.safetensors written by 'infogpu bm train --out DIR' (or DIR itself: its bm.json)"), new("count", "K", "samples (default 16)"), new("burn-in", "B", "sweeps per chain before its sample (default 100)"), new("seed", "S", "Philox seed (default 1)"), CommandSpec.Accelerator],
            ["infogpu bm sample --model out/bm/bm.json --count 8"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            string model = a.Require("model");
            if (Directory.Exists(model))
                model = Path.Combine(model, "bm.json");
            var machine = model.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
                ? BoltzmannCheckpoint.LoadMachine(BoltzmannCheckpoint.Read(model))
                : FromJson(model);
            int count = a.GetInt("count", 16);
            if (count < 1)
                throw new UsageException("--count must be >= 1");
            using var device = DeviceOption.Open(context);
            var s = BoltzmannTrainer.Sample(device, machine, count, a.GetInt("burn-in", 100), (ulong)a.GetInt("seed", 1));
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
            if (a.Json)
                Json.Write(context.Out, new JsonObject { ["samples"] = rows, ["visible"] = machine.Visible });
            return 0;
        }
    }

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
            var root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new InfoGpuException($"{path} is empty");
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
