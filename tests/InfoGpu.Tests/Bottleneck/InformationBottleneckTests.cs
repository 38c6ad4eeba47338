using InfoGpu.Bottleneck;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Bottleneck;

/// <summary>
/// The float64 information bottleneck against what must hold of any solution (bounds, limits,
/// monotone and concave curve) and against exhaustive search over deterministic encoders.
/// </summary>
public class InformationBottleneckTests
{
    /// <summary>Float64 sums of a few hundred terms: the information bounds hold up to rounding.</summary>
    private const double Rounding = 1e-12;

    /// <summary>
    /// Converged iterations (p(t|x) moves by at most 1e-10 per step) leave the information a few
    /// 1e-9 nats from the fixed point: how far monotonicity and concavity may be missed.
    /// </summary>
    private const double Convergence = 1e-7;

    /// <summary>
    /// How far below a chord an annealed point may lie. Annealing follows a branch of stationary
    /// points, and where a cluster appears the branch can run on a little past the beta at which
    /// another branch becomes better: on random6x4 the 4-cluster branch at beta 20.6 lies 3.7e-4
    /// nats below the chord of its neighbours (the same with a ladder ratio of 1.02 instead of 1.1).
    /// </summary>
    private const double AnnealingLag = 1e-3;

    /// <summary>
    /// At beta = 200 the optimal encoder is deterministic up to exp(-200 d) terms, d the smallest
    /// KL gap between clusters: the annealed objective and the best deterministic one agree this closely (nats).
    /// </summary>
    private const double DeterministicLimit = 1e-4;

    /// <summary>A structured problem: 8 values of X in 4 groups with nearly equal p(y|x), 4 values of Y.</summary>
    internal static readonly double[] Structured = MakeStructured();

    internal static double[] Betas(double lo, double hi, int count) =>
        Enumerable.Range(0, count).Select(i => lo * Math.Pow(hi / lo, i / (double)(count - 1))).ToArray();

    private static double[] MakeStructured()
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

    /// <summary>A random positive table, seeded.</summary>
    internal static double[] RandomTable(int nx, int ny, int seed)
    {
        var r = new System.Random(seed);
        var t = new double[nx * ny];
        for (int i = 0; i < t.Length; i++)
            t[i] = Math.Pow(r.NextDouble(), 3) + 1e-3;
        double s = t.Sum();
        return t.Select(v => v / s).ToArray();
    }

    public static TheoryData<string> Problems => new() { "structured", "random5x3", "random6x4" };

    internal static (double[] Table, int Nx, int Ny) Problem(string name) => name switch
    {
        "structured" => (Structured, 8, 4),
        "random5x3" => (RandomTable(5, 3, 7), 5, 3),
        "random6x4" => (RandomTable(6, 4, 11), 6, 4),
        _ => throw new ArgumentException(name),
    };

    private static InformationBottleneckResult Solve(string name, double[] betas, int? clusters = null)
    {
        var (t, nx, ny) = Problem(name);
        return InformationBottleneck.Solve(t, nx, ny, new InformationBottleneckOptions { Betas = betas, Clusters = clusters });
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void InformationStaysWithinItsBoundsAtEveryBeta(string name)
    {
        var (t, nx, ny) = Problem(name);
        var r = Solve(name, Betas(0.1, 1000, 25));
        var j = InformationMeasures64.Joint(t, nx, ny, LogBase.Nats);
        Tolerance.Close(j.MutualInformation, r.InformationXY, Tolerance.Float64Relative, what: "I(X;Y)");
        Tolerance.Close(j.HX, r.EntropyX, Tolerance.Float64Relative, what: "H(X)");
        foreach (var p in r.Points)
        {
            Assert.True(p.InformationTY <= r.InformationXY + Rounding, $"beta {p.Beta}: I(T;Y) {p.InformationTY} > I(X;Y) {r.InformationXY}");
            Assert.True(p.InformationXT <= r.EntropyX + Rounding, $"beta {p.Beta}: I(X;T) {p.InformationXT} > H(X) {r.EntropyX}");
            // Data processing: T depends on Y only through X.
            Assert.True(p.InformationTY <= p.InformationXT + Rounding, $"beta {p.Beta}: I(T;Y) {p.InformationTY} > I(X;T) {p.InformationXT}");
            // The reported information is that of the reported encoder.
            var (ixt, ity) = InformationBottleneck.Evaluate(t, nx, ny, p.Encoder, r.Clusters);
            Tolerance.Close(ixt, p.InformationXT, 1e-9, 1e-12, $"beta {p.Beta}: I(X;T) of the encoder");
            Tolerance.Close(ity, p.InformationTY, 1e-9, 1e-12, $"beta {p.Beta}: I(T;Y) of the encoder");
        }
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void BothInformationsRiseWithBetaAndTheCurveIsConcave(string name)
    {
        var r = Solve(name, Betas(0.5, 500, 40));
        var pts = r.Points;
        for (int i = 1; i < pts.Count; i++)
        {
            Assert.True(pts[i].InformationXT >= pts[i - 1].InformationXT - Convergence, $"I(X;T) falls from {pts[i - 1].InformationXT} at beta {pts[i - 1].Beta} to {pts[i].InformationXT} at beta {pts[i].Beta}");
            Assert.True(pts[i].InformationTY >= pts[i - 1].InformationTY - Convergence, $"I(T;Y) falls from {pts[i - 1].InformationTY} at beta {pts[i - 1].Beta} to {pts[i].InformationTY} at beta {pts[i].Beta}");
        }
        // Concave: each point lies on or above the chord of its neighbours (points of distinct rate only).
        var curve = pts.Select(p => (X: p.InformationXT, Y: p.InformationTY)).ToList();
        var distinct = new List<(double X, double Y)>();
        foreach (var c in curve)
        {
            if (distinct.Count == 0 || c.X > distinct[^1].X + 1e-6)
                distinct.Add(c);
        }
        Assert.True(distinct.Count >= 4, $"only {distinct.Count} distinct rates along the path");
        for (int i = 1; i + 1 < distinct.Count; i++)
        {
            var (a, b, c) = (distinct[i - 1], distinct[i], distinct[i + 1]);
            double chord = a.Y + (c.Y - a.Y) * (b.X - a.X) / (c.X - a.X);
            Assert.True(b.Y >= chord - AnnealingLag, $"not concave at I(X;T) = {b.X}: I(T;Y) {b.Y} below the chord {chord}");
        }
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void LargeBetaWithEnoughClustersReachesTheMutualInformation(string name)
    {
        var (_, nx, _) = Problem(name);
        var r = Solve(name, [1e4], nx);
        Tolerance.Close(r.InformationXY, r.Points[0].InformationTY, 1e-6, what: "I(T;Y) at beta 1e4 with |T| = |X|");
    }

    [Theory]
    [MemberData(nameof(Problems))]
    public void SmallBetaKeepsNothingOfX(string name)
    {
        var r = Solve(name, [0.01, 0.1, 0.5]);
        foreach (var p in r.Points)
        {
            Assert.True(p.InformationXT <= Rounding, $"beta {p.Beta}: I(X;T) = {p.InformationXT}, expected 0");
            Assert.True(p.InformationTY <= Rounding, $"beta {p.Beta}: I(T;Y) = {p.InformationTY}, expected 0");
            Assert.Equal(1, p.ClustersUsed);
        }
    }

    /// <summary>min over all |T|^|X| deterministic encoders of I(X;T) - beta I(T;Y), computed from p(t, y) with the float64 measures.</summary>
    private static (double Objective, double Ixt, double Ity) BestDeterministic(double[] table, int nx, int ny, int clusters, double beta)
    {
        var best = (Objective: double.PositiveInfinity, Ixt: 0.0, Ity: 0.0);
        var f = new int[nx];
        long count = (long)Math.Pow(clusters, nx);
        var pty = new double[clusters * ny];
        for (long code = 0; code < count; code++)
        {
            long c = code;
            for (int x = 0; x < nx; x++)
            {
                f[x] = (int)(c % clusters);
                c /= clusters;
            }
            Array.Clear(pty);
            for (int x = 0; x < nx; x++)
            {
                for (int y = 0; y < ny; y++)
                    pty[f[x] * ny + y] += table[x * ny + y];
            }
            // A deterministic T is a function of X: I(X;T) = H(T).
            var j = InformationMeasures64.Joint(pty, clusters, ny, LogBase.Nats);
            double objective = j.HX - beta * j.MutualInformation;
            if (objective < best.Objective)
                best = (objective, j.HX, j.MutualInformation);
        }
        return best;
    }

    [Theory]
    [InlineData("random5x3", 2)]
    [InlineData("random5x3", 3)]
    [InlineData("random6x4", 2)]
    [InlineData("random6x4", 3)]
    [InlineData("structured", 3)]
    public void AtLargeBetaTheAnnealedSolutionMatchesExhaustiveSearch(string name, int clusters)
    {
        var (t, nx, ny) = Problem(name);
        const double beta = 200;
        var best = BestDeterministic(t, nx, ny, clusters, beta);
        var r = Solve(name, [beta], clusters);
        var p = r.Points[0];
        Tolerance.Close(best.Objective, p.Objective, 0, DeterministicLimit, $"{name}, |T| = {clusters}: objective against the best deterministic encoder");
        Tolerance.Close(best.Ity, p.InformationTY, 0, DeterministicLimit, "I(T;Y)");
        Tolerance.Close(best.Ixt, p.InformationXT, 0, DeterministicLimit, "I(X;T)");
    }

    [Fact]
    public void TheSameSeedGivesTheSameRunAndEncodersAreDistributions()
    {
        var a = Solve("random6x4", [2, 5, 20], 3);
        var b = Solve("random6x4", [20, 2, 5], 3);
        for (int i = 0; i < a.Points.Count; i++)
        {
            Assert.Equal(a.Points[i].Beta, b.Points[i].Beta);
            Assert.Equal(a.Points[i].Encoder, b.Points[i].Encoder);
            var e = a.Points[i].Encoder;
            for (int x = 0; x < 6; x++)
                Tolerance.Close(1, e.Skip(x * 3).Take(3).Sum(), 1e-12, what: $"row {x} of the encoder at beta {a.Points[i].Beta}");
        }
    }

    [Theory]
    [InlineData(new[] { 0.1, -0.2, 0.5, 0.6 }, 1.0, null, "row 1, column 2")]
    [InlineData(new[] { 0.1, double.NaN, 0.5, 0.4 }, 1.0, null, "row 1, column 2")]
    [InlineData(new[] { 0.0, 0.0, 0.0, 0.0 }, 1.0, null, "every entry is zero")]
    [InlineData(new[] { 0.1, 0.2, 0.3, 0.4 }, 0.0, null, "beta 0")]
    [InlineData(new[] { 0.1, 0.2, 0.3, 0.4 }, -1.0, null, "beta -1")]
    [InlineData(new[] { 0.1, 0.2, 0.3, 0.4 }, 1.0, 0, "0 clusters")]
    [InlineData(new[] { 0.1, 0.2, 0.3, 0.4 }, 1.0, 100000, "100000 clusters")]
    public void BadInputIsRefusedWithAMessage(double[] table, double beta, int? clusters, string mention)
    {
        var e = Assert.Throws<InfoGpuException>(() => InformationBottleneck.Solve(table, 2, 2, new InformationBottleneckOptions { Betas = [beta], Clusters = clusters }));
        Assert.Contains(mention, e.Message);
    }
}
