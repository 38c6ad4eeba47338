using System.Diagnostics;
using System.Globalization;
using InfoGpu.Devices;
using InfoGpu.Host.Bench;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary>
/// <c>infogpu check-device</c>: every operation on the checked device and on cpu with the same
/// inputs, compared with named tolerances, plus the timings of the GPU goals; one JSON document.
/// benchmarks/gpu-check.sh runs it on the GPU machine.
/// </summary>
internal sealed class CheckDeviceCommand : ICommand
{
    public CommandSpec Spec { get; } = new(
        "check-device",
        "compare every operation on a device with cpu (same inputs, named tolerances) and time the GPU goals' steps",
        "[--accelerator cuda] [--against cpu] [--checks gemm,measures,mi,rbm,vae] [--quick] [--no-timings] [--out FILE [--overwrite]] [--json]",
        [
            OptionSpec.Text("checks", "LIST", "which agreement checks, comma-separated: gemm, measures, mi, rbm, vae (default all)"),
            OptionSpec.Choice("against", "the reference device", Kinds, "cpu"),
            OptionSpec.Flag("quick", "small shapes for the checks and the timings (for ilgpu-cpu, which simulates every GPU thread)"),
            OptionSpec.Flag("no-timings", "run the agreement checks only"),
            OptionSpec.File("out", "FILE", "also write the JSON document to FILE (refused if FILE exists, unless --overwrite)"),
            OptionSpec.Flag("overwrite", "replace an existing --out FILE"),
            OptionSpec.Choice("accelerator", "the device to check (default: $INFOGPU_CHECK_DEVICE, else cuda)", Kinds),
        ],
        ["infogpu check-device --accelerator cuda --out gpu-check.json", "infogpu check-device --accelerator ilgpu-cpu --quick --json"]);

    /// <summary>The kinds a check may name (every kind but auto).</summary>
    private static string[] Kinds => [.. DeviceKinds.Names.Where(n => n != "auto")];

    public int Run(CommandContext context)
    {
        var args = context.Args;
        string? fromEnvironment = Environment.GetEnvironmentVariable("INFOGPU_CHECK_DEVICE");
        string kind = args.Get("accelerator") ?? (string.IsNullOrEmpty(fromEnvironment) ? "cuda" : fromEnvironment);
        string against = args.GetOrDefault("against")!;
        foreach (var (option, value) in new[] { ("accelerator", kind), ("against", against) })
        {
            if (!DeviceKinds.TryParse(value, out var parsed) || parsed == DeviceKind.Auto)
                throw new UsageException($"--{option} '{value}' is not a device kind: use one of {string.Join(", ", DeviceKinds.Names.Where(n => n != "auto"))}");
        }
        if (kind == against)
            throw new UsageException($"--accelerator and --against are both '{kind}': check a device against a different one");
        string? outPath = args.Get("out") is string o ? Path.GetFullPath(o) : null;
        if (outPath is not null)
        {
            if (Directory.Exists(outPath))
                throw new UsageException($"--out '{outPath}' is a folder: give a file name, e.g. {Path.Combine(outPath, "gpu-check.json")}");
            if (File.Exists(outPath) && !args.Has("overwrite"))
                throw new InfoGpuException($"{outPath} exists: pass --overwrite to replace it, or choose another --out");
            string? dir = Path.GetDirectoryName(outPath);
            if (dir is not null && !Directory.Exists(dir))
                throw new InfoGpuException($"the folder of --out {outPath} does not exist: create it first");
        }
        var only = new HashSet<string>(StringComparer.Ordinal);
        if (args.Get("checks") is string list)
        {
            foreach (string part in list.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!DeviceCheck.Groups.Contains(part))
                    throw new UsageException($"--checks '{part}' is not one of {string.Join(", ", DeviceCheck.Groups)}");
                only.Add(part);
            }
        }
        if (args.Has("overwrite") && outPath is null)
            throw new UsageException("--overwrite needs --out FILE");

        long start = Stopwatch.GetTimestamp();
        using var device = ComputeDevice.Open(DeviceKinds.Parse(kind));
        using var reference = ComputeDevice.Open(DeviceKinds.Parse(against));
        context.Note($"device: {device.Info.Kind} ({device.Info.Name}); gemm: {device.Info.Gemm}; against {reference.Info.Kind}");
        var checks = DeviceCheck.Agreement(device, reference, args.Has("quick"), only, context.Note);
        var timings = args.Has("no-timings") ? [] : DeviceCheck.Timings(device, args.Has("quick"), context.Note);
        var doc = DeviceCheck.Document(device, reference, checks, timings, DeviceCheck.Since(start));
        if (outPath is not null)
        {
            string tmp = outPath + ".tmp";
            using (var w = new StreamWriter(tmp))
                Json.Write(w, doc);
            File.Move(tmp, outPath, overwrite: true);
        }
        if (args.Json)
        {
            Json.Write(context.Out, doc);
        }
        else
        {
            var t = new Table("check", "value", "tolerance", "ok");
            foreach (var c in checks)
                t.Add(c.Name, c.Value.ToString("G3", CultureInfo.InvariantCulture), $"{c.Tolerance.ToString("G3", CultureInfo.InvariantCulture)} ({c.ToleranceName})", c.Passed ? "ok" : "FAILED");
            context.Out.Write(t.ToString());
            if (timings.Count > 0)
            {
                var tt = new Table("timing", "ms", "rate");
                foreach (var x in timings)
                    tt.Add(x.Name, (x.Seconds * 1e3).ToString("F3", CultureInfo.InvariantCulture), x.RateValue is double v ? $"{v.ToString("G4", CultureInfo.InvariantCulture)} {x.Rate}" : "");
                context.Out.Write(tt.ToString());
            }
        }
        int failed = checks.Count(c => !c.Passed);
        if (failed > 0)
        {
            context.Err.WriteLine($"error: {failed} of {checks.Count} checks of {device.Info.Kind} against {reference.Info.Kind} failed: {string.Join("; ", checks.Where(c => !c.Passed).Take(3).Select(c => c.Name))}");
            return 1;
        }
        return 0;
    }
}
