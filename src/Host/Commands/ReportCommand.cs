using System.Diagnostics;
using System.Text.Json.Nodes;
using InfoGpu.Data;
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
            OptionSpec.File("data", "DIR", "IDX folder (Fashion-MNIST layout) for the RBM and VAE sections; default: Debian's /usr/share/datasets/fashion-mnist when installed, else the embedded subset"),
            OptionSpec.File("out", "DIR", "output folder", Path.Combine("out", "report")),
            OptionSpec.Flag("quick", "smaller runs (about a minute on 2 cores)"),
            CommandSpec.Accelerator,
        ],
        ["infogpu report", "infogpu report --quick --out /tmp/report", "infogpu report --data ~/mnist --json --accelerator cuda"]);

    public int Run(CommandContext context)
    {
        string dir = Path.GetFullPath(context.Args.GetOrDefault("out")!);
        // The images first: a missing or broken --data folder is an error before any work.
        string? dataDir = context.Args.Get("data");
        var images = FashionMnist.Load(dataDir);
        string source = dataDir is not null ? Path.GetFullPath(dataDir)
            : FashionMnist.DebianInstalled ? $"Debian's Fashion-MNIST ({FashionMnist.DebianDirectory})"
            : "the Fashion-MNIST subset embedded in InfoGpu";
        Directory.CreateDirectory(dir);
        using var device = DeviceOption.Open(context);
        var settings = new ReportSettings(dir, dataDir, context.Args.Has("quick"), context) { Images = images, ImageSource = source };
        context.Note($"images: {source}: {images.Train.Count} training, {images.Test.Count} test");
        var report = new ReportDocument("InfoGpu: information theory, Boltzmann machines and VAEs");
        report.Meta["version"] = BuildInfo.Version;
        report.Meta["commit"] = BuildInfo.Commit ?? "unknown";
        report.Meta["device"] = $"{device.Info.Kind} ({device.Info.Name})";
        report.Meta["mode"] = settings.Quick ? "quick" : "full";
        report.Meta["images"] = source;
        report.Meta["images_train"] = images.Train.Count;
        report.Meta["images_test"] = images.Test.Count;
        report.Meta["generated"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        var total = Stopwatch.StartNew();
        using (var bar = StagedBar.For(context, "report", ReportSections.All.Count))
        {
            settings = settings with { Bar = bar };
            for (int i = 0; i < ReportSections.All.Count; i++)
            {
                var (name, section) = ReportSections.All[i];
                bar?.Begin(i, name);
                context.Note($"[{total.Elapsed:mm\\:ss}] {name} ...");
                section(device, settings, report);
            }
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
/// <param name="Directory">The output folder.</param>
/// <param name="DataDirectory">The <c>--data</c> folder, or null for the default (Debian's data set when installed, else the embedded subset).</param>
/// <param name="Quick">Smaller runs.</param>
/// <param name="Context">The console context (notes, options).</param>
internal sealed record ReportSettings(string Directory, string? DataDirectory, bool Quick, CommandContext Context)
{
    /// <summary>The images of the RBM and VAE sections, loaded from <see cref="DataDirectory"/> before any work (each section takes the first images it needs).</summary>
    public required Dataset Images { get; init; }

    /// <summary>Where <see cref="Images"/> came from, in words.</summary>
    public required string ImageSource { get; init; }

    /// <summary>The live bar of the report (the section under way is its stage), or null when none is drawn; sections report their training into it.</summary>
    public StagedBar? Bar { get; init; }
}
