using System.Text.Json.Nodes;
using InfoGpu.Data;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Output;
using InfoGpu.Selection;

namespace InfoGpu.Host.Report;

internal static partial class ReportSections
{
    private static void MutualInformation(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        var data = MakeClassification.LoadEmbedded();
        var selector = new MutualInformationSelector(device);
        var noisy = selector.Select(data.Features, data.Rows, data.Names.Length, data.Target, new MutualInformationOptions(Top: 5));
        var clean = selector.Select(data.Features, data.Rows, data.Names.Length, data.Target, new MutualInformationOptions(Top: 5, Noise: false));
        double[]? reference = SklearnReference();

        var s = report.Add("mutual-information", "Mutual-information feature selection");
        s.Paragraphs.Add(FormattableString.Invariant($"scikit-learn's mutual_info_classif estimator (Ross 2014, k = 3 nearest neighbours, columns scaled by their standard deviation, 1e-10 tie-breaking noise, seed 42) on make_classification data: {data.Rows} rows, {data.Names.Length} features, 5 of them informative and 5 redundant. Neighbour search: {noisy.Method}, {noisy.Seconds * 1000:F1} ms on {device.Info.Kind}."));
        s.Paragraphs.Add(reference is null
            ? "scikit-learn's scores are missing from this build; only InfoGpu's scores are shown."
            : "The scikit-learn column is scikit-learn 1.2.1's mutual_info_classif(X, y, n_neighbors=3, random_state=42) on the same data (Debian's python3-sklearn, float64), computed once and shipped with InfoGpu. Its noise is drawn by numpy, InfoGpu's by Philox; without noise on both sides the estimates agree to float64 rounding.");
        var headers = reference is null
            ? new[] { "feature", "MI (nats)", "MI without noise", "rank" }
            : new[] { "feature", "MI (nats)", "MI without noise", "scikit-learn", "|difference|", "rank" };
        var table = new ReportTable("Scores per feature", headers, []);
        var rank = new int[noisy.Scores.Length];
        for (int r = 0; r < noisy.Ranking.Length; r++)
            rank[noisy.Ranking[r]] = r + 1;
        double maxDiff = 0;
        for (int f = 0; f < noisy.Scores.Length; f++)
        {
            if (reference is null)
            {
                table.Rows.Add([data.Names[f], noisy.Scores[f], clean.Scores[f], rank[f]]);
            }
            else
            {
                double diff = Math.Abs(noisy.Scores[f] - reference[f]);
                maxDiff = Math.Max(maxDiff, diff);
                table.Rows.Add([data.Names[f], noisy.Scores[f], clean.Scores[f], reference[f], diff, rank[f]]);
            }
        }
        s.Tables.Add(table);
        s.Tables.Add(new ReportTable("Selected features (best first)", ["rank", "feature", "MI (nats)"],
            noisy.Selected.Select((f, r) => new object?[] { r + 1, data.Names[f], noisy.Scores[f] }).ToList()));
        MiPlots.Scores(Path.Combine(settings.Directory, "mutual_information.png"), data.Names, noisy.Scores, noisy.Selected, "Mutual information with the label y");
        s.Figures.Add(new ReportFigure("mutual_information.png", "Left: MI of each feature with the label, the 5 selected in red. Right: the same scores by rank."));
        s.Json["scores"] = Json.Array(noisy.Scores);
        s.Json["noise_free_scores"] = Json.Array(clean.Scores);
        s.Json["selected"] = new JsonArray(noisy.Selected.Select(i => (JsonNode)i).ToArray());
        s.Json["method"] = noisy.Method;
        s.Json["seconds"] = Json.Number(noisy.Seconds);
        if (reference is not null)
            s.Json["max_abs_difference_vs_sklearn"] = Json.Number(maxDiff);
    }

    /// <summary>The name under which the console embeds data/make-classification/mutual_info_classif.json.</summary>
    internal const string SklearnScoresResource = "InfoGpu.Host.Data.mutual_info_classif.json";

    /// <summary>scikit-learn 1.2.1's mutual_info_classif scores on the embedded make_classification data (random_state 42), embedded in the console.</summary>
    internal static double[]? SklearnReference()
    {
        using var stream = typeof(ReportSections).Assembly.GetManifestResourceStream(SklearnScoresResource);
        if (stream is null)
            return null;
        return JsonNode.Parse(stream)?["sklearn_mutual_info_classif_random_state_42_nats"]?.AsArray().Select(v => v!.GetValue<double>()).ToArray();
    }
}
