using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Host.Bench;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu bench</c>: end-to-end timings, peers side by side, fractions of the machine's limits.</summary>
internal sealed class BenchCommand : ICommand
{
    public CommandSpec Spec { get; } = new(
        "bench",
        "time end-to-end cases, optionally against the peer scripts (benchmarks/peers: PyTorch, scikit-learn, numpy), with ratios",
        "[--suite measures|rbm|vae|mi|all] [--peers] [--python PATH] [--quick] [--repeat N] [--threads N] [--json]",
        [
            OptionSpec.Choice("suite", "which cases", [.. Suites.All.Keys, "all"], "all"),
            OptionSpec.Flag("peers", "also run the peer scripts (python3-numpy, -sklearn, -torch) in this run and print ratios"),
            OptionSpec.Flag("quick", "small inputs (the embedded data subset), for a smoke run"),
            OptionSpec.Int("repeat", "N", "timed repetitions per case (median reported; default 5, 3 with --quick; short cases get more, up to a second of them)"),
            OptionSpec.Int("threads", "N", "threads the peers may use (default: this machine's cores)"),
            OptionSpec.File("python", "PATH", "python3 interpreter for the peers (default: python3 on PATH, else /usr/bin/python3)"),
            CommandSpec.Accelerator,
        ],
        ["infogpu bench --suite measures --peers", "infogpu bench --quick --json"]);

    public int Run(CommandContext context)
    {
        var args = context.Args;
        string suite = args.GetOrDefault("suite")!;
        if (suite != "all" && !Suites.All.ContainsKey(suite))
            throw new UsageException($"--suite '{suite}' is not one of {string.Join(", ", Suites.All.Keys)}, all");
        bool quick = args.Has("quick");
        int repeat = args.GetInt("repeat", quick ? 3 : 5);
        if (repeat < 1)
            throw new UsageException("--repeat must be at least 1");
        int threads = args.GetInt("threads", Environment.ProcessorCount);
        if (args.Get("python") is string python)
        {
            var (_, problem) = PeerRunner.ResolvePython(python);
            if (problem is not null)
                throw new UsageException(problem);
        }
        PeerRunner.Python = args.Get("python");
        using var device = DeviceOption.Open(context);

        context.Note("measuring the machine's limits ...");
        double copy = MachineLimits.MeasureCopyBandwidth();
        double? sgemm = SgemmProbe.Measure(device);
        var machine = new MachineLimits(copy, sgemm, Environment.ProcessorCount, MachineLimits.ProcessorName());

        var results = new List<BenchResult>();
        var chosen = Suites.All.Where(kv => suite == "all" || suite == kv.Key).ToList();
        // One stage per suite; within it, case i of n (a suite's cases are made when it starts: they load its data).
        using var bar = StagedBar.For(context, "bench", chosen.Count);
        for (int s = 0; s < chosen.Count; s++)
        {
            var (name, factory) = chosen[s];
            bar?.Begin(s, name);
            var cases = factory(device, quick, repeat).ToList();
            for (int i = 0; i < cases.Count; i++)
            {
                var c = cases[i];
                bar?.Within((double)i / cases.Count, string.Create(CultureInfo.InvariantCulture, $"case {i + 1}/{cases.Count}: {c.Name}"), force: true);
                context.Note($"{c.Name}: InfoGpu ...");
                double seconds = c.RunInfoGpu();
                double? peerSeconds = null;
                string? note = null;
                if (args.Has("peers") && c.Peer is PeerSpec peer)
                {
                    context.Note($"{c.Name}: {peer.Name} ...");
                    var (json, problem) = PeerRunner.Run(peer, threads, TimeSpan.FromMinutes(30));
                    peerSeconds = json is null ? null : peer.Seconds(json);
                    note = problem;
                }
                double? peak = c.Peak == PeakKind.Bandwidth ? copy * 1e9 : sgemm * 1e9;
                double? fraction = peak is double pk && pk > 0 ? c.Work / seconds / pk : null;
                results.Add(new BenchResult(c.Name, seconds, args.Has("peers") ? c.Peer?.Name : null, peerSeconds, fraction, note));
            }
        }
        bar?.Dispose();

        if (args.Json)
        {
            var cases = new JsonArray();
            foreach (var r in results)
            {
                cases.Add(new JsonObject
                {
                    ["name"] = r.Name,
                    ["infogpu_seconds"] = Json.Number(r.InfoGpuSeconds),
                    ["peer"] = r.Peer,
                    ["peer_seconds"] = r.PeerSeconds is double ps ? Json.Number(ps) : null,
                    ["ratio"] = r.Ratio is double ra ? Json.Number(ra) : null,
                    ["fraction_of_peak"] = r.FractionOfPeak is double f ? Json.Number(f) : null,
                    ["note"] = r.Note,
                });
            }
            Json.Write(context.Out, new JsonObject
            {
                ["cases"] = cases,
                ["machine"] = new JsonObject
                {
                    ["processor"] = machine.Processor,
                    ["cores"] = machine.Cores,
                    ["copy_gb_per_s"] = Json.Number(machine.CopyGBPerSecond),
                    ["sgemm_gflops"] = machine.SgemmGFlops is double g ? Json.Number(g) : null,
                    ["device"] = device.Info.Kind,
                    ["device_name"] = device.Info.Name,
                },
                ["quick"] = quick,
                ["repeat"] = repeat,
            });
            return 0;
        }
        var t = new Table("case", "InfoGpu s", "peer", "peer s", "ratio peer/InfoGpu", "fraction of peak");
        foreach (var r in results)
            t.Add(r.Name, r.InfoGpuSeconds, r.Peer ?? "", r.PeerSeconds, r.Ratio is double ra ? ra.ToString("F2", CultureInfo.InvariantCulture) + "x" : r.Note ?? "", r.FractionOfPeak is double f ? f.ToString("P1", CultureInfo.InvariantCulture) : "");
        context.Out.Write(t.ToString());
        context.Out.WriteLine($"machine: {machine.Processor}, {machine.Cores} cores, copy {machine.CopyGBPerSecond:F1} GB/s" +
            (machine.SgemmGFlops is double gf ? $", sgemm {gf:F1} GFLOP/s" : "") + $"; device {device.Info.Kind} ({device.Info.Name})");
        return 0;
    }
}
