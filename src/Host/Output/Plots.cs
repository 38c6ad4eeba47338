namespace InfoGpu.Host.Output;

/// <summary>PNG line plots (ScottPlot, rendered headless).</summary>
internal static class Plots
{
    public const int Width = 800;
    public const int Height = 500;

    /// <summary>Writes a line plot of one or more series to <paramref name="path"/> (through a temp file, then renamed).</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, params (string Label, double[] X, double[] Y)[] series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (label, x, y) in series)
        {
            var s = plot.Add.Scatter(x, y);
            s.LegendText = label;
            s.MarkerSize = 0;
            s.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (series.Length > 1)
            plot.ShowLegend(ScottPlot.Edge.Right); // beside the data, so no curve hides behind it
        SaveAtomically(path, tmp => plot.SavePng(tmp, Width, Height));
    }

    /// <summary>Runs <paramref name="write"/> on a temp path beside <paramref name="path"/>, then renames it into place.</summary>
    public static void SaveAtomically(string path, Action<string> write)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp{Path.GetExtension(path)}");
        try
        {
            write(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
                File.Delete(tmp);
        }
    }
}
