using System.Diagnostics;
using System.Text.RegularExpressions;
using InfoGpu.Tests.Console;
using InfoGpu.Tests.Infrastructure;
using SkiaSharp;

namespace InfoGpu.Tests.Report;

/// <summary>The HTML report in a real browser: Debian's chromium, headless.</summary>
public partial class BrowserTests
{
    private static readonly string? Chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    [SkippableFact]
    public void ReportRendersWithEveryImageLoaded()
    {
        Skip.If(Chromium is null, "chromium is not installed (apt-get install chromium): the report is not rendered");
        string dir = TestPaths.TempDir();
        var (code, output, err) = ConsoleRunner.Run("report", "--quick", "--out", dir, "--accelerator", "cpu", "--quiet");
        Assert.True(code == 0, err);
        string html = Path.Combine(dir, "report.html");
        Assert.Equal(html, output.Trim());
        Assert.DoesNotContain("http://", File.ReadAllText(html));
        Assert.DoesNotContain("https://", File.ReadAllText(html));

        string dom = RunChromium(dir, "--dump-dom", "file://" + html);
        var m = ImagesMarker().Match(dom);
        Assert.True(m.Success, "the page's load script did not run (no data-images attribute)");
        int loaded = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int total = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(total >= 2 && loaded == total, $"{loaded} of {total} images loaded");

        string shot = Path.Combine(dir, "shot.png");
        RunChromium(dir, "--screenshot=" + shot, "--window-size=1200,2000", "file://" + html);
        using var bitmap = SKBitmap.Decode(shot);
        Assert.NotNull(bitmap);
        var colors = new HashSet<uint>();
        for (int y = 0; y < bitmap.Height; y += 7)
        {
            for (int x = 0; x < bitmap.Width; x += 7)
                colors.Add((uint)bitmap.GetPixel(x, y));
        }
        Assert.True(colors.Count > 20, $"the screenshot looks blank ({colors.Count} distinct colours)");
    }

    private static string RunChromium(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo(Chromium!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        foreach (string a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + Path.Combine(dir, "profile") }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish in 120 s");
        }
        return stdout.Result;
    }

    [GeneratedRegex("data-images=\"(\\d+)/(\\d+)\"")]
    private static partial Regex ImagesMarker();
}
