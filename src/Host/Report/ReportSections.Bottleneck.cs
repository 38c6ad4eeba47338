using System.Text.Json.Nodes;
using InfoGpu.Bottleneck;
using InfoGpu.Host.Commands;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Report;

internal static partial class ReportSections
{
    /// <summary>
    /// The report's small discrete problem: 8 values of X in 4 groups of 2 whose p(y|x) nearly agree,
    /// 4 values of Y. The IB should find the groups: 4 clusters keep almost all of I(X;Y).
    /// </summary>
    internal static readonly double[] BottleneckTable = MakeBottleneckTable();

    private static double[] MakeBottleneckTable()
    {
        double[][] groups = [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.4, 0.4], [0.25, 0.25, 0.25, 0.25]];
        var t = new double[8 * 4];
        for (int x = 0; x < 8; x++)
        {
            for (int y = 0; y < 4; y++)
                t[x * 4 + y] = (1.0 / 8) * (groups[x / 2][y] + (x % 2 == 0 ? 0.02 : -0.02) * (y == 0 ? 1 : y == 1 ? -1 : 0));
        }
        return t;
    }

    /// <summary>
    /// The information bottleneck of <see cref="BottleneckTable"/> for |T| = 2, 3 and 8 (float64), the
    /// float32 device lanes against it, and the VAE section's beta sweep (rate against distortion)
    /// beside the IB curve. Runs after the VAE section and reads its sweep from the report.
    /// </summary>
    internal static void Bottleneck(InfoGpu.Devices.ComputeDevice device, ReportSettings settings, ReportDocument report)
    {
        const int nx = 8, ny = 4;
        var betas = IbCommand.ParseBetas(InfoGpu.Host.Cli.Args.Parse(new IbCommand().Spec, ["--beta-range", settings.Quick ? "0.5:300:30" : "0.5:300:60"]));
        var s = report.Add("bottleneck", "The information bottleneck and the beta-VAE");
        var curves = new List<(string Label, double[] X, double[] Y)>();
        InformationBottleneckResult? full = null;
        var curvesJson = new JsonObject();
        foreach (int clusters in new[] { 2, 3, nx })
        {
            var r = InformationBottleneck.Solve(BottleneckTable, nx, ny, new InformationBottleneckOptions { Betas = betas, Clusters = clusters });
            curves.Add(($"|T| = {clusters}", r.Points.Select(p => p.InformationXT).ToArray(), r.Points.Select(p => p.InformationTY).ToArray()));
            curvesJson[clusters.ToString(System.Globalization.CultureInfo.InvariantCulture)] = PointsJson(r.Points);
            if (clusters == nx)
                full = r;
        }
        var ib = full!;
        curves.Reverse(); // the largest |T| first, so that the smaller ones, which follow it up to their cap, are drawn over it
        double right = Math.Max(ib.EntropyX, ib.Points.Max(p => p.InformationXT));
        curves.Add(("I(X;Y)", [0, right], [ib.InformationXY, ib.InformationXY]));
        Plots.Lines(Path.Combine(settings.Directory, "ib_curve.png"), "Information bottleneck curve (8 x 4 table)", "I(X;T), nats (rate)", "I(T;Y), nats (relevance)", [.. curves]);

        // The device lanes (float32, every beta advanced per launch) against the float64 path.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var single = InformationBottleneck.Solve(device, BottleneckTable, nx, ny, new InformationBottleneckOptions { Betas = betas, Clusters = nx });
        double deviceSeconds = stopwatch.Elapsed.TotalSeconds;
        double gap = 0;
        for (int i = 0; i < ib.Points.Count; i++)
            gap = Math.Max(gap, Math.Max(Math.Abs(ib.Points[i].InformationXT - single.Points[i].InformationXT), Math.Abs(ib.Points[i].InformationTY - single.Points[i].InformationTY)));

        s.Paragraphs.Add(FormattableString.Invariant($"The information bottleneck (Tishby, Pereira and Bialek 1999) compresses X into a variable T, through an encoder p(t|x), keeping what X says about Y: min I(X;T) - beta I(T;Y). Here p(x, y) is a small table: 8 values of X in 4 groups whose p(y|x) nearly agree, 4 values of Y; I(X;Y) = {ib.InformationXY:F4} nats, H(X) = {ib.EntropyX:F4} nats. The self-consistent equations are iterated with deterministic annealing: from one cluster near beta = 0, each rung of a geometric beta ladder splits the clusters with a seeded perturbation, iterates to convergence (max |change of p(t|x)| <= 1e-10, at most 2000 iterations) and merges clusters whose p(y|t) coincide. Clusters split apart as beta passes critical values: {string.Join(", ", FirstBetas(ib))}."));
        s.Paragraphs.Add("How to read the two figures. In the IB curve the horizontal axis is the rate I(X;T), the nats of X that the bottleneck keeps, and the vertical axis the relevance I(T;Y), the nats about Y that survive; the curve rises, concave, from (0, 0) toward the ceiling I(X;Y), its slope at each point is 1/beta, and a smaller |T| caps it lower. The beta-VAE beside it comes from the VAE section's sweep: its horizontal axis is also a rate, the KL term E_x KL(q(z|x) || p(z)), which is an upper bound on the information I(X;Z) that the code carries about the image; its vertical axis is the distortion, the reconstruction term -E log p(x|z). Raising the VAE's beta, like lowering the IB's, buys a smaller rate with a worse second coordinate: less relevance in the IB, more distortion in the VAE. The VAE's beta weights the rate, the IB's weights the relevance, so the two betas run in opposite directions.");

        var table = new ReportTable($"IB solutions, |T| = {nx} (float64; every {(settings.Quick ? 3 : 6)}th beta)", ["beta", "I(X;T) (nats)", "I(T;Y) (nats)", "clusters used", "iterations"], []);
        for (int i = 0; i < ib.Points.Count; i += settings.Quick ? 3 : 6)
        {
            var p = ib.Points[i];
            table.Rows.Add([p.Beta, p.InformationXT, p.InformationTY, p.ClustersUsed, p.Iterations]);
        }
        s.Tables.Add(table);
        s.Tables.Add(new ReportTable("The device path (float32 lanes, one per beta) against float64", ["device", "betas", "seconds", "largest |difference| of I(X;T) or I(T;Y) (nats)"],
            [[device.Info.Kind, betas.Length, deviceSeconds, gap]]));
        s.Figures.Add(new ReportFigure("ib_curve.png", "IB curve: relevance I(T;Y) against rate I(X;T), for |T| = 2, 3 and 8"));

        var sweep = report.Sections.FirstOrDefault(x => x.Id == "vae")?.Json["beta_sweep"] as JsonArray;
        if (sweep is { Count: > 0 } && File.Exists(Path.Combine(settings.Directory, "vae_rate_distortion.png")))
        {
            var vt = new ReportTable("beta-VAE sweep from the VAE section (test set, nats per image)", ["beta", "rate: KL (>= I(X;Z))", "distortion: reconstruction"], []);
            foreach (var p in sweep)
                vt.Rows.Add([p!["beta"]!.GetValue<double>(), p["rate"]!.GetValue<double>(), p["distortion"]!.GetValue<double>()]);
            s.Tables.Add(vt);
            s.Figures.Add(new ReportFigure("vae_rate_distortion.png", "beta-VAE: distortion against rate (the KL term, an upper bound on I(X;Z))"));
            s.Json["vae_beta_sweep"] = sweep.DeepClone();
        }
        else
        {
            s.Paragraphs.Add("The VAE section's beta sweep is not in this report, so its rate-distortion curve is not shown.");
        }
        s.Json["i_xy"] = Json.Number(ib.InformationXY);
        s.Json["h_x"] = Json.Number(ib.EntropyX);
        s.Json["points"] = PointsJson(ib.Points);
        s.Json["curves"] = curvesJson;
        s.Json["device"] = device.Info.Kind;
        s.Json["device_seconds"] = Json.Number(deviceSeconds);
        s.Json["device_max_difference"] = Json.Number(gap);
    }

    private static JsonArray PointsJson(IReadOnlyList<InformationBottleneckPoint> points)
    {
        var a = new JsonArray();
        foreach (var p in points)
            a.Add(new JsonObject { ["beta"] = Json.Number(p.Beta), ["i_xt"] = Json.Number(p.InformationXT), ["i_ty"] = Json.Number(p.InformationTY), ["clusters_used"] = p.ClustersUsed });
        return a;
    }

    /// <summary>"k clusters from beta b" for each new cluster count along the path.</summary>
    private static IEnumerable<string> FirstBetas(InformationBottleneckResult r)
    {
        int last = 1;
        foreach (var p in r.Points)
        {
            if (p.ClustersUsed > last)
            {
                last = p.ClustersUsed;
                yield return FormattableString.Invariant($"{p.ClustersUsed} clusters by beta = {p.Beta:G3}");
            }
        }
    }
}
