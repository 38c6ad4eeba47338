using InfoGpu.Variational;

namespace InfoGpu.Host.Output;

/// <summary>The VAE's figures: reconstructions, samples, latent histograms, rate against distortion.</summary>
internal static class VaePlots
{
    /// <summary>Test images (top row of each pair) above their mean reconstructions (z = mu).</summary>
    public static void Reconstructions(string path, VaeAnalysis analysis, float[] images, int side, int count = 16)
    {
        count = Math.Min(count, analysis.Count);
        var recon = analysis.Reconstruct(count);
        int d = side * side;
        var grid = new float[2 * count * d];
        int perRow = Math.Min(count, 8);
        for (int k = 0; k < count; k++)
        {
            int block = k / perRow, col = k % perRow;
            images.AsSpan(k * d, d).CopyTo(grid.AsSpan((block * 2 * perRow + col) * d));
            recon.AsSpan(k * d, d).CopyTo(grid.AsSpan((block * 2 * perRow + perRow + col) * d));
        }
        int tiles = ((count + perRow - 1) / perRow) * 2 * perRow;
        ImageTiles.Save(path, grid, tiles, side, side, side * side, 1, perRow, normalizeEach: false);
    }

    /// <summary>Decoded mean images of z ~ N(0, I).</summary>
    public static void Samples(string path, VaeAnalysis analysis, int side, int count = 64, ulong seed = 1)
    {
        var s = analysis.Sample(count, seed);
        ImageTiles.Save(path, s, s.Length / (side * side), side, side, side * side, 1, 8, normalizeEach: false);
    }

    /// <summary>Histograms of every mu and every sigma over the images.</summary>
    public static void Latent(string path, VaeLatentStatistics stats)
    {
        var plot = new ScottPlot.Plot();
        AddHistogram(plot, stats.Mu, "mu", ScottPlot.Colors.SteelBlue);
        AddHistogram(plot, stats.Sigma, "sigma", ScottPlot.Colors.OrangeRed);
        plot.Title("Latent posterior q(z|x): mu and sigma over test images and dimensions");
        plot.XLabel("value");
        plot.YLabel("fraction");
        plot.ShowLegend();
        Plots.SaveAtomically(path, tmp => plot.SavePng(tmp, Plots.Width, Plots.Height));
    }

    private static void AddHistogram(ScottPlot.Plot plot, float[] values, string label, ScottPlot.Color color)
    {
        const int bins = 60;
        float lo = values.Min(), hi = values.Max();
        if (!(hi > lo))
            hi = lo + 1e-3f;
        double w = (hi - lo) / bins;
        var counts = new double[bins];
        foreach (float v in values)
            counts[Math.Min(bins - 1, (int)((v - lo) / w))] += 1.0 / values.Length;
        var bars = new List<ScottPlot.Bar>();
        for (int b = 0; b < bins; b++)
            bars.Add(new ScottPlot.Bar { Position = lo + (b + 0.5) * w, Value = counts[b], Size = w, FillColor = color.WithAlpha(0.6), LineWidth = 0 });
        var series = plot.Add.Bars(bars);
        series.LegendText = label;
    }

    /// <summary>Rate (KL) against distortion (reconstruction) for each beta.</summary>
    public static void RateDistortion(string path, IReadOnlyList<VaeBetaPoint> points)
    {
        var plot = new ScottPlot.Plot();
        var s = plot.Add.Scatter(points.Select(p => p.Rate).ToArray(), points.Select(p => p.Distortion).ToArray());
        s.MarkerSize = 8;
        s.LineWidth = 1;
        foreach (var p in points)
        {
            var t = plot.Add.Text(FormattableString.Invariant($"beta {p.Beta:G3}"), p.Rate, p.Distortion);
            t.LabelFontSize = 12;
        }
        // Room for the labels right of the points.
        double lo = points.Min(p => p.Rate), hi = points.Max(p => p.Rate), span = Math.Max(hi - lo, 1e-3);
        double dlo = points.Min(p => p.Distortion), dhi = points.Max(p => p.Distortion), dspan = Math.Max(dhi - dlo, 1e-3);
        plot.Axes.SetLimits(lo - 0.08 * span, hi + 0.2 * span, dlo - 0.1 * dspan, dhi + 0.1 * dspan);
        plot.Title("Rate-distortion of beta-VAEs (test set)");
        plot.XLabel("rate: KL(q(z|x) || p(z)) (nats per image)");
        plot.YLabel("distortion: -E log p(x|z) (nats per image)");
        Plots.SaveAtomically(path, tmp => plot.SavePng(tmp, Plots.Width, Plots.Height));
    }
}
