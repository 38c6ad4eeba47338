using System.Globalization;
using System.Text;

namespace InfoGpu.Host.Output;

/// <summary>A plain-text table with aligned columns (numbers right-aligned).</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> rows = [];

    public Table Add(params object?[] cells)
    {
        rows.Add(cells.Select(Format).ToArray());
        return this;
    }

    public static string Format(object? v) => v switch
    {
        null => "",
        double d => Num(d),
        float f => Num(f),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    public static string Num(double d) =>
        double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf" : double.IsNaN(d) ? "nan" : d.ToString("G10", CultureInfo.InvariantCulture);

    public override string ToString()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in rows)
        {
            var cells = r.Select((c, i) => IsNumeric(c) ? c.PadLeft(widths[i]) : c.PadRight(widths[i]));
            sb.AppendLine(string.Join("  ", cells).TrimEnd());
        }
        return sb.ToString();
    }

    private static bool IsNumeric(string s) =>
        s is "inf" or "-inf" or "nan" || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
