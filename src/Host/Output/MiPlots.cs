using SkiaSharp;

namespace InfoGpu.Host.Output;

/// <summary>The mutual-information figure: scores per feature with the selected ones highlighted, and scores by rank.</summary>
internal static class MiPlots
{
    /// <summary>Writes the two-panel PNG to <paramref name="path"/> (temp file, then renamed).</summary>
    public static void Scores(string path, IReadOnlyList<string> names, IReadOnlyList<double> scores, IReadOnlyList<int> selected, string title)
    {
        var chosen = selected.ToHashSet();
        var highlight = ScottPlot.Colors.OrangeRed;
        var plain = ScottPlot.Colors.SteelBlue;

        var byColumn = new ScottPlot.Plot();
        var bars = Enumerable.Range(0, scores.Count)
            .Select(f => new ScottPlot.Bar { Position = f, Value = scores[f], FillColor = chosen.Contains(f) ? highlight : plain })
            .ToList();
        byColumn.Add.Bars(bars);
        byColumn.Title(title);
        byColumn.XLabel("feature (selected in red)");
        byColumn.YLabel("mutual information (nats)");
        Ticks(byColumn, names);
        byColumn.Axes.Margins(bottom: 0);

        var ranked = Enumerable.Range(0, scores.Count).OrderByDescending(f => scores[f]).ThenBy(f => f).ToArray();
        var byRank = new ScottPlot.Plot();
        var rankBars = ranked
            .Select((f, r) => new ScottPlot.Bar { Position = r, Value = scores[f], FillColor = chosen.Contains(f) ? highlight : plain })
            .ToList();
        byRank.Add.Bars(rankBars);
        byRank.Title("Scores by rank");
        byRank.XLabel("feature, best first");
        byRank.YLabel("mutual information (nats)");
        Ticks(byRank, ranked.Select(f => names[f]).ToList());
        byRank.Axes.Margins(bottom: 0);

        int w = Plots.Width, h = Plots.Height;
        Plots.SaveAtomically(path, tmp =>
        {
            using var surface = SKSurface.Create(new SKImageInfo(2 * w, h));
            var canvas = surface.Canvas;
            canvas.Clear(SKColors.White);
            // Each panel on its own surface (a plot clears the canvas it renders on), then side by side.
            DrawPanel(canvas, byColumn, 0, w, h);
            DrawPanel(canvas, byRank, w, w, h);
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(tmp);
            data.SaveTo(file);
        });
    }

    private static void DrawPanel(SKCanvas canvas, ScottPlot.Plot plot, int left, int w, int h)
    {
        using var panel = SKSurface.Create(new SKImageInfo(w, h));
        plot.Render(panel.Canvas, w, h);
        using var image = panel.Snapshot();
        canvas.DrawImage(image, left, 0);
    }

    private static void Ticks(ScottPlot.Plot plot, IReadOnlyList<string> labels)
    {
        // Every label while they fit; beyond 30 features every n-th.
        int step = Math.Max(1, (labels.Count + 29) / 30);
        var positions = new List<double>();
        var text = new List<string>();
        for (int i = 0; i < labels.Count; i += step)
        {
            positions.Add(i);
            text.Add(labels[i]);
        }
        plot.Axes.Bottom.SetTicks(positions.ToArray(), text.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = labels.Count > 10 ? -45 : 0;
        plot.Axes.Bottom.TickLabelStyle.Alignment = labels.Count > 10 ? ScottPlot.Alignment.MiddleRight : ScottPlot.Alignment.UpperCenter;
    }
}
