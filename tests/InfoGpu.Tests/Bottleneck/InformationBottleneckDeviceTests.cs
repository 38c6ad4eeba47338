using InfoGpu.Bottleneck;
using InfoGpu.Tests.Infrastructure;

namespace InfoGpu.Tests.Bottleneck;

/// <summary>
/// The batched float32 device path (one lane per beta, every lane advanced per launch) against
/// the float64 host path, on <c>cpu</c> and on the ILGPU kernels (<c>ilgpu-cpu</c>).
/// </summary>
public class InformationBottleneckDeviceTests
{
    /// <summary>
    /// Float32 lanes stop at |change of p(t|x)| &lt;= 1e-6 (float64: 1e-10): the information of
    /// their encoder lies within a few 1e-6 nats of the float64 fixed point. Betas are chosen away
    /// from the critical betas, where rounding could tip a split decision to another rung.
    /// </summary>
    private const double DeviceAgainstFloat64 = 2e-5;

    /// <summary>The encoders agree entry by entry to the float32 convergence tolerance, amplified by beta near the decision boundaries.</summary>
    private const double EncoderAgainstFloat64 = 1e-3;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in TestDevices.Kinds)
        {
            data.Add(kind, "random5x3");
            data.Add(kind, "structured");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DeviceLanesAgreeWithTheFloat64Path(string kind, string name)
    {
        var (t, nx, ny) = InformationBottleneckTests.Problem(name);
        var options = new InformationBottleneckOptions { Betas = [0.3, 1.5, 6, 40, 300], Clusters = 4 };
        var exact = InformationBottleneck.Solve(t, nx, ny, options);
        var single = TestDevices.Use(kind, d => InformationBottleneck.Solve(d, t, nx, ny, options));
        Assert.Equal("single", single.Precision);
        Tolerance.Close(exact.InformationXY, single.InformationXY, Tolerance.Float64Relative, what: "I(X;Y)");
        Tolerance.AllClose(exact.Points.Select(p => p.InformationXT).ToArray(), single.Points.Select(p => p.InformationXT).ToArray(), 0, DeviceAgainstFloat64, $"{kind} {name}: I(X;T) per beta");
        Tolerance.AllClose(exact.Points.Select(p => p.InformationTY).ToArray(), single.Points.Select(p => p.InformationTY).ToArray(), 0, DeviceAgainstFloat64, $"{kind} {name}: I(T;Y) per beta");
        for (int i = 0; i < exact.Points.Count; i++)
        {
            Assert.Equal(exact.Points[i].Beta, single.Points[i].Beta);
            Assert.Equal(exact.Points[i].ClustersUsed, single.Points[i].ClustersUsed);
            Assert.True(single.Points[i].Converged, $"{kind} {name}: beta {single.Points[i].Beta} not converged");
            // Cluster labels are arbitrary: the encoders agree up to a relabelling of T.
            double gap = PermutedGap(exact.Points[i].Encoder, single.Points[i].Encoder, nx, exact.Clusters);
            Assert.True(gap <= EncoderAgainstFloat64, $"{kind} {name}: encoder at beta {exact.Points[i].Beta} differs by {gap} under the best relabelling of T");
        }
    }

    /// <summary>min over permutations pi of T of max_x,t |a(t|x) - b(pi(t)|x)|.</summary>
    private static double PermutedGap(double[] a, double[] b, int nx, int n)
    {
        double best = double.PositiveInfinity;
        foreach (var pi in Permutations(Enumerable.Range(0, n).ToArray(), 0))
        {
            double gap = 0;
            for (int x = 0; x < nx; x++)
            {
                for (int t = 0; t < n; t++)
                    gap = Math.Max(gap, Math.Abs(a[x * n + t] - b[x * n + pi[t]]));
            }
            best = Math.Min(best, gap);
        }
        return best;
    }

    private static IEnumerable<int[]> Permutations(int[] items, int from)
    {
        if (from == items.Length)
        {
            yield return (int[])items.Clone();
            yield break;
        }
        for (int i = from; i < items.Length; i++)
        {
            (items[from], items[i]) = (items[i], items[from]);
            foreach (var p in Permutations(items, from + 1))
                yield return p;
            (items[from], items[i]) = (items[i], items[from]);
        }
    }

    [Fact]
    public void AllBetasShareTheLaunchesOfOneRun()
    {
        var (t, nx, ny) = InformationBottleneckTests.Problem("random5x3");
        double[] betas = [0.7, 3, 9, 30, 120];
        TestDevices.Use("cpu", d =>
        {
            var before = d.Counters;
            InformationBottleneck.Solve(d, t, nx, ny, new InformationBottleneckOptions { Betas = betas, Clusters = 3 });
            long together = (d.Counters - before).Launches;
            long separate = 0;
            foreach (double b in betas)
            {
                before = d.Counters;
                InformationBottleneck.Solve(d, t, nx, ny, new InformationBottleneckOptions { Betas = [b], Clusters = 3 });
                separate += (d.Counters - before).Launches;
            }
            // The ladder up to the largest beta is walked once by every lane at once; one run per beta walks it again for each.
            Assert.True(together < separate, $"{together} launches for all betas at once, {separate} for one run per beta");
            var lastOnly = d.Counters;
            InformationBottleneck.Solve(d, t, nx, ny, new InformationBottleneckOptions { Betas = [betas[^1]], Clusters = 3 });
            long largest = (d.Counters - lastOnly).Launches;
            Assert.True(together <= 2 * largest, $"{together} launches for all betas, {largest} for the largest beta alone");
            return 0;
        });
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ConcurrentRunsOnOneDeviceGiveTheSameEncoders(string kind)
    {
        var (t, nx, ny) = InformationBottleneckTests.Problem("random6x4");
        var options = new InformationBottleneckOptions { Betas = [1.5, 8, 60], Clusters = 3 };
        var device = TestDevices.Get(kind);
        var alone = InformationBottleneck.Solve(device, t, nx, ny, options);
        var together = new InformationBottleneckResult[3];
        Parallel.For(0, together.Length, i => together[i] = InformationBottleneck.Solve(device, t, nx, ny, options));
        foreach (var r in together)
        {
            for (int i = 0; i < alone.Points.Count; i++)
                Assert.Equal(alone.Points[i].Encoder, r.Points[i].Encoder);
        }
    }

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ARunAllocatesOnceAndCopiesEachBranchOnTheDevice(string kind)
    {
        var (t, nx, ny) = InformationBottleneckTests.Problem("random5x3");
        double[] betas = [0.7, 3, 9, 30];
        var options = new InformationBottleneckOptions { Betas = betas, Clusters = 3 };
        var c = TestDevices.Use(kind, d =>
        {
            var before = d.Counters;
            InformationBottleneck.Solve(d, t, nx, ny, options);
            return d.Counters - before;
        });
        // The rungs up to the largest beta, and the stage that finishes it.
        int stages = 1 + (int)Math.Ceiling(Math.Log(betas[^1] / options.AnnealingStart) / Math.Log(options.AnnealingRatio));
        Assert.Equal(1, c.Allocations);
        Assert.Equal(betas.Length, c.DeviceCopies);
        // Per stage: a split, at least one update, a merge; the betas and flags go up once per stage.
        Assert.InRange(c.Launches, 3 * stages, stages * (2 + options.MaxIterations));
        Assert.InRange(c.Uploads, 0, 2 + 2 * stages);
    }
}
