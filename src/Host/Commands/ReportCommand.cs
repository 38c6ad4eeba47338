using System.Diagnostics;
using System.Text.Json.Nodes;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;
using InfoGpu.Host.Report;
using InfoGpu.Measures;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu report</c>: the whole chapter computed and drawn into one HTML file.</summary>
internal sealed class ReportCommand : ICommand
{
    public CommandSpec Spec { get; } = new(
        "report",
        "run the chapter end to end and write report.html (self-contained), report.json and the figures",
        "[--data DIR] [--out DIR] [--quick] [--accelerator KIND] [--json]",
        [
            new("data", "DIR", "IDX folder (Fashion-MNIST layout); default: the Debian dataset, else the embedded subset"),
            new("out", "DIR", "output folder (default: out/report)"),
            new("quick", null, "smaller runs (about a minute on 2 cores)"),
            CommandSpec.Accelerator,
        ],
        ["infogpu report", "infogpu report --quick --out /tmp/report", "infogpu report --json --accelerator cuda"]);

    public int Run(CommandContext context)
    {
        string dir = Path.GetFullPath(context.Args.Get("out") ?? Path.Combine("out", "report"));
        Directory.CreateDirectory(dir);
        using var device = DeviceOption.Open(context);
        var settings = new ReportSettings(dir, context.Args.Get("data"), context.Args.Has("quick"), context);
        var report = new ReportDocument("InfoGpu: information theory, Boltzmann machines and VAEs");
        report.Meta["device"] = $"{device.Info.Kind} ({device.Info.Name})";
        report.Meta["mode"] = settings.Quick ? "quick" : "full";
        report.Meta["generated"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        var total = Stopwatch.StartNew();
        foreach (var (name, section) in ReportSections.All)
        {
            context.Note($"[{total.Elapsed:mm\\:ss}] {name} ...");
            section(device, settings, report);
        }
        report.Meta["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
        report.Write(dir);
        context.Note($"[{total.Elapsed:mm\\:ss}] wrote {Path.Combine(dir, "report.html")}");
        if (context.Args.Json)
        {
            var json = report.ToJson();
            json["html"] = Path.Combine(dir, "report.html");
            Json.Write(context.Out, json);
        }
        else
        {
            context.Out.WriteLine(Path.Combine(dir, "report.html"));
        }
        return 0;
    }
}

/// <summary>What every report section gets.</summary>
internal sealed record ReportSettings(string Directory, string? DataDirectory, bool Quick, CommandContext Context);
