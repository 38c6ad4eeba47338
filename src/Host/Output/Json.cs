using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InfoGpu.Host.Output;

/// <summary>JSON documents for <c>--json</c>: one per command, on stdout.</summary>
internal static class Json
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A number node; +-infinity and NaN (not JSON numbers) become the strings "Infinity", "-Infinity", "NaN".</summary>
    public static JsonNode? Number(double v) =>
        double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");

    public static JsonArray Array(IEnumerable<double> values)
    {
        var a = new JsonArray();
        foreach (double v in values)
            a.Add(Number(v));
        return a;
    }

    public static JsonArray Array(IEnumerable<float> values) => Array(values.Select(v => (double)v));

    public static void Write(TextWriter writer, JsonNode node) => writer.WriteLine(node.ToJsonString(Options));
}
