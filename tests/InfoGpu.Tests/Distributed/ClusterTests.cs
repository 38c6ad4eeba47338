using InfoGpu.Distributed;

namespace InfoGpu.Tests.Distributed;

/// <summary>The single-process side of <see cref="Cluster"/>: detection from the environment, shares, the fixed-order sum.</summary>
public class ClusterTests
{
    [Theory]
    [InlineData(null, null, null, false)]
    [InlineData(null, "2", null, true)]
    [InlineData(null, null, "1", true)]
    [InlineData("1", null, null, true)]
    [InlineData("0", "2", null, false)]
    [InlineData("no", null, "0", false)]
    public void MpiIsRequestedOnlyByALauncherOrTheSwitch(string? infogpuMpi, string? ompiSize, string? pmixRank, bool expected)
    {
        var env = new Dictionary<string, string?>
        {
            [Cluster.EnvironmentSwitch] = infogpuMpi,
            ["OMPI_COMM_WORLD_SIZE"] = ompiSize,
            ["PMIX_RANK"] = pmixRank,
        };
        Assert.Equal(expected, Cluster.Requested(env));
    }

    [Fact]
    public void ThisTestProcessIsNotAnMpiJob()
    {
        // The test host is not launched by mpirun: the shared cluster must be one process and load no MPI.
        Assert.False(Cluster.Requested());
        Assert.False(Cluster.Current.IsDistributed);
        Assert.Equal((0, 1), (Cluster.Current.Rank, Cluster.Current.Size));
        Assert.Equal("single process", Cluster.Current.Description);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 3)]
    [InlineData(7, 3)]
    [InlineData(100, 7)]
    [InlineData(5, 5)]
    public void SharesAreContiguousCoverEverythingAndDifferByAtMostOne(int total, int parts)
    {
        int next = 0;
        var sizes = new List<int>();
        for (int p = 0; p < parts; p++)
        {
            var (start, count) = Cluster.ShareOf(total, parts, p);
            Assert.Equal(next, start);
            next += count;
            sizes.Add(count);
        }
        Assert.Equal(total, next);
        Assert.True(sizes.Max() - sizes.Min() <= 1, $"shares {string.Join(",", sizes)}");
    }

    [Fact]
    public void SharesRejectABadPart()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Cluster.ShareOf(10, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cluster.ShareOf(10, 0, 0));
    }

    [Fact]
    public void AddInOrderIsALeftFoldInFloat32()
    {
        // 1 + 1e8 rounds back to 1e8 in float32, so the grouping of the three slices shows in the result.
        float[] all = [1f, 3f, 1e8f, 5f, -1e8f, 7f];
        var sum = new float[2];
        Cluster.AddInOrder(all, sum, 3);
        Assert.Equal(0f, sum[0]);
        Assert.Equal(15f, sum[1]);
        // The other grouping, 1 + (1e8 - 1e8), gives 1: the fold's order is what makes shards and ranks agree.
        float a = 1f, b = 1e8f, c = -1e8f;
        Assert.Equal(1f, a + (b + c));
        Assert.Throws<ArgumentException>(() => Cluster.AddInOrder(all, new float[4], 3));
    }

    [Fact]
    public void OneProcessCollectivesAreCopies()
    {
        var c = Cluster.Single;
        float[] local = [1, 2, 3];
        var all = new float[3];
        c.AllGather(local, all);
        Assert.Equal(local, all);
        c.SumInRankOrder(local.AsSpan());
        Assert.Equal([1f, 2f, 3f], local);
        Assert.Equal(4, c.Max(4));
        var parts = c.Gather([9, 8]);
        Assert.NotNull(parts);
        Assert.Equal([9, 8], Assert.Single(parts));
        Assert.Throws<ArgumentException>(() => c.AllGather(local, new float[4]));
        Assert.Throws<ArgumentException>(() => c.AllGather(all.AsSpan(0, 3), all.AsSpan()));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Broadcast(new byte[1], root: 1));
    }

    [Fact]
    public void ShardsMustMatchTheRanks()
    {
        Assert.Throws<InfoGpuException>(() => new DataParallel(Cluster.Single, 0).Validate());
        new DataParallel(Cluster.Single, 3).Validate();
        Assert.Equal([0, 1, 2], new DataParallel(Cluster.Single, 3).LocalShards);
        Assert.False(DataParallel.None.IsSharded);
    }
}
