using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using InfoGpu.Boltzmann;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu bm train</c> and <c>infogpu bm sample</c>: the general Boltzmann machine on bars-and-stripes.</summary>
internal static class BmCommands
{
    public static IReadOnlyList<ICommand> All { get; } = [new Train(), new SampleCommand()];

    private sealed class Train : ICommand
    {
        public CommandSpec Spec { get; } = new(
            "bm train",
            "train a general Boltzmann machine (hidden-hidden links) on bars-and-stripes by Gibbs sampling",
            "[--size 3] [--hidden 4] [--epochs 300] [--lr 0.1] [--burn-in 10] [--samples 10] [--chains 200] [--fresh] [--seed 1] [--out DIR]",
            [
                new("size", "N", "bars-and-stripes patterns of N x N pixels (2 to 5; default 3)"),
                new("hidden", "H", "hidden units (default 4)"),
                new("epochs", "E", "learning updates, each from all patterns (default 300)"),
                new("lr", "R", "learning rate (default 0.1)"),
                new("burn-in", "B", "Gibbs sweeps discarded before collecting statistics (default 10)"),
                new("samples", "S", "sweeps collected per phase (default 10)"),
                new("chains", "C", "free-running chains of the negative phase (default 200)"),
                new("fresh", null, "fresh negative chains with burn-in at every update (default: persistent chains)"),
                new("weight-decay", "D", "L2 penalty on the weights (default 0)"),
                new("seed", "S", "Philox seed (default 1)"),
                new("out", "DIR", "write DIR/bm.json (the machine) and DIR/metrics.csv"),
                CommandSpec.Accelerator,
            ],
            ["infogpu bm train --size 3 --hidden 4 --epochs 300 --out out/bm", "infogpu bm train --size 2 --hidden 2 --json"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            int size = a.GetInt("size", 3), hidden = a.GetInt("hidden", 4), epochs = a.GetInt("epochs", 300);
            if (epochs < 1 || hidden < 0)
                throw new UsageException("--epochs must be >= 1 and --hidden >= 0");
            var options = new BoltzmannTrainingOptions(
                a.GetDouble("lr", 0.1), a.GetInt("burn-in", 10), a.GetInt("samples", 10), 4, a.GetInt("chains", 200),
                !a.Has("fresh"), a.GetDouble("weight-decay", 0), (ulong)a.GetInt("seed", 1));
            var data = BarsAndStripes.Generate(size);
            var machine = new BoltzmannMachine(size * size, hidden);
            machine.InitializeRandom(options.Seed, 0.01);
            using var device = DeviceOption.Open(context);
            context.Note($"bars-and-stripes {size}x{size}: {data.Length / (size * size)} patterns; {machine.Visible} visible, {hidden} hidden; seed {options.Seed}");
            var epochsJson = new JsonArray();
            var csv = new List<string> { "epoch,seconds,exact_log_likelihood" };
            using (var trainer = new BoltzmannTrainer(device, machine, data, options))
            {
                for (int e = 0; e < epochs; e++)
                {
                    var r = trainer.TrainEpoch();
                    epochsJson.Add(new JsonObject { ["epoch"] = r.Epoch, ["seconds"] = Json.Number(r.Seconds), ["exact_log_likelihood"] = r.ExactLogLikelihood is double ll ? Json.Number(ll) : null });
                    csv.Add(FormattableString.Invariant($"{r.Epoch},{r.Seconds:R},{r.ExactLogLikelihood?.ToString("R", CultureInfo.InvariantCulture) ?? ""}"));
                    if ((r.Epoch % Math.Max(1, epochs / 10) == 0 || r.Epoch == epochs) && r.ExactLogLikelihood is double l)
                        context.Note(FormattableString.Invariant($"epoch {r.Epoch,5}: exact log-likelihood {l:F4} nats"));
                }
            }
            double patterns = data.Length / (size * size);
            string? outDir = a.Get("out");
            if (outDir is not null)
            {
                Directory.CreateDirectory(outDir);
                Plots.SaveAtomically(Path.Combine(outDir, "bm.json"), tmp => File.WriteAllText(tmp, ToJson(machine).ToJsonString()));
                Plots.SaveAtomically(Path.Combine(outDir, "metrics.csv"), tmp => File.WriteAllLines(tmp, csv));
            }
            var last = epochsJson[^1]!["exact_log_likelihood"];
            if (a.Json)
            {
                Json.Write(context.Out, new JsonObject
                {
                    ["config"] = new JsonObject { ["size"] = size, ["visible"] = machine.Visible, ["hidden"] = hidden, ["epochs"] = epochs, ["lr"] = options.LearningRate, ["burn_in"] = options.BurnIn, ["samples"] = options.Samples, ["chains"] = options.NegativeChains, ["persistent"] = options.Persistent, ["seed"] = options.Seed },
                    ["epochs"] = epochsJson,
                    ["best_possible_log_likelihood"] = Json.Number(-Math.Log(patterns)),
                    ["model"] = outDir is null ? null : Path.Combine(outDir, "bm.json"),
                });
            }
            else
            {
                context.Out.WriteLine(FormattableString.Invariant($"exact log-likelihood after {epochs} updates: {last} nats per pattern (best possible -ln {patterns} = {-Math.Log(patterns):F4})"));
            }
            return 0;
        }
    }

    private sealed class SampleCommand : ICommand
    {
        public CommandSpec Spec { get; } = new(
            "bm sample",
            "draw patterns from a trained Boltzmann machine by Gibbs sampling with burn-in",
            "--model FILE [--count 16] [--burn-in 100] [--seed 1]",
            [new("model", "FILE", "a bm.json written by 'infogpu bm train --out DIR'"), new("count", "K", "samples (default 16)"), new("burn-in", "B", "sweeps per chain before its sample (default 100)"), new("seed", "S", "Philox seed (default 1)"), CommandSpec.Accelerator],
            ["infogpu bm sample --model out/bm/bm.json --count 8"]);

        public int Run(CommandContext context)
        {
            var a = context.Args;
            var machine = FromJson(a.Require("model"));
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
