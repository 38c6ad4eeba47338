using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Report;

/// <summary>A figure of the report: a PNG file written beside it.</summary>
internal sealed record ReportFigure(string File, string Caption);

/// <summary>A table of the report.</summary>
internal sealed record ReportTable(string Caption, string[] Headers, List<object?[]> Rows);

/// <summary>One section: text, tables, figures, and the same numbers as JSON.</summary>
internal sealed class ReportSection(string id, string title)
{
    public string Id { get; } = id;

    public string Title { get; } = title;

    public List<string> Paragraphs { get; } = [];

    public List<ReportTable> Tables { get; } = [];

    public List<ReportFigure> Figures { get; } = [];

    public JsonObject Json { get; } = [];
}

/// <summary>
/// The report: sections rendered to one self-contained HTML file (figures embedded as data
/// URIs, no external resources, readable offline) and to JSON. Files are written atomically.
/// </summary>
internal sealed class ReportDocument(string title)
{
    public List<ReportSection> Sections { get; } = [];

    public JsonObject Meta { get; } = [];

    public ReportSection Add(string id, string sectionTitle)
    {
        var s = new ReportSection(id, sectionTitle);
        Sections.Add(s);
        return s;
    }

    public JsonObject ToJson()
    {
        var root = new JsonObject { ["title"] = title, ["meta"] = Meta.DeepClone() };
        foreach (var s in Sections)
        {
            var o = (JsonObject)s.Json.DeepClone();
            o["figures"] = new JsonArray(s.Figures.Select(f => (JsonNode?)JsonValue.Create(f.File)).ToArray());
            root[s.Id] = o;
        }
        return root;
    }

    public string ToHtml(string directory)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append(CultureInvariant($"<title>{E(title)}</title>"));
        sb.Append("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}");
        sb.Append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}td.n{text-align:right;font-family:monospace}");
        sb.Append("th{background:#f0f0f0}figure{display:inline-block;margin:1em}img{max-width:520px;border:1px solid #ddd}");
        sb.Append("nav a{margin-right:1em}caption{font-weight:bold;text-align:left}</style></head><body>\n");
        sb.Append(CultureInvariant($"<h1>{E(title)}</h1>\n<nav>"));
        foreach (var s in Sections)
            sb.Append(CultureInvariant($"<a href=\"#{E(s.Id)}\">{E(s.Title)}</a>"));
        sb.Append("</nav>\n");
        foreach (var (key, value) in Meta)
            sb.Append(CultureInvariant($"<div><b>{E(key)}</b>: {E(value?.ToString() ?? "")}</div>\n"));
        foreach (var s in Sections)
        {
            sb.Append(CultureInvariant($"<section id=\"{E(s.Id)}\"><h2>{E(s.Title)}</h2>\n"));
            foreach (string p in s.Paragraphs)
                sb.Append(CultureInvariant($"<p>{E(p)}</p>\n"));
            foreach (var t in s.Tables)
            {
                sb.Append(CultureInvariant($"<table><caption>{E(t.Caption)}</caption><tr>"));
                foreach (string h in t.Headers)
                    sb.Append(CultureInvariant($"<th>{E(h)}</th>"));
                sb.Append("</tr>\n");
                foreach (var row in t.Rows)
                {
                    sb.Append("<tr>");
                    foreach (var cell in row)
                    {
                        string text = Table.Format(cell);
                        sb.Append(cell is double or float or int or long ? CultureInvariant($"<td class=\"n\">{E(text)}</td>") : CultureInvariant($"<td>{E(text)}</td>"));
                    }
                    sb.Append("</tr>\n");
                }
                sb.Append("</table>\n");
            }
            foreach (var f in s.Figures)
            {
                string data = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(directory, f.File)));
                sb.Append(CultureInvariant($"<figure><img alt=\"{E(f.Caption)}\" src=\"data:image/png;base64,{data}\"><figcaption>{E(f.Caption)}</figcaption></figure>\n"));
            }
            sb.Append("</section>\n");
        }
        // Marks the page when every image has decoded, so a headless browser check can read it.
        sb.Append("<script>window.addEventListener('load',function(){var im=document.images,ok=0;for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}");
        sb.Append("document.body.setAttribute('data-images',ok+'/'+im.length);});</script>\n");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>Writes report.html and report.json into <paramref name="directory"/> (figures must already be there).</summary>
    public void Write(string directory)
    {
        Plots.SaveAtomically(Path.Combine(directory, "report.json"), tmp => File.WriteAllText(tmp, ToJson().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })));
        Plots.SaveAtomically(Path.Combine(directory, "report.html"), tmp => File.WriteAllText(tmp, ToHtml(directory)));
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);
}
