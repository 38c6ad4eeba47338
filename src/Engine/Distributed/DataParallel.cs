namespace InfoGpu.Distributed;

/// <summary>
/// How a trainer splits every global mini-batch: into <see cref="Shards"/> contiguous shards
/// (<see cref="Cluster.ShareOf"/>), each giving a partial gradient; the partials are added in
/// shard order (<see cref="Cluster.AddInOrder"/>) before the update. On an MPI cluster of N ranks
/// there are N shards and rank r computes shard r; in one process the shards are computed in turn.
/// Either way the same float operations happen, so a single process with N shards and an N-rank
/// job give the same parameters bit for bit.
/// </summary>
/// <param name="Cluster">The ranks that share the work (<see cref="Cluster.Single"/> for one process).</param>
/// <param name="Shards">Shards per global mini-batch: the cluster's size when it is distributed, any number >= 1 in one process.</param>
public sealed record DataParallel(Cluster Cluster, int Shards)
{
    /// <summary>One process, one shard: a trainer's ordinary path.</summary>
    public static DataParallel None { get; } = new(Cluster.Single, 1);

    /// <summary>One shard per rank of <paramref name="cluster"/>.</summary>
    public static DataParallel Across(Cluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return new(cluster, cluster.Size);
    }

    /// <summary>The shards this process computes: its rank's alone on a distributed cluster, all of them in one process.</summary>
    public IReadOnlyList<int> LocalShards => Cluster.IsDistributed ? [Cluster.Rank] : Enumerable.Range(0, Shards).ToArray();

    /// <summary>Whether the batch is split at all (more than one shard).</summary>
    public bool IsSharded => Shards > 1;

    /// <summary>Throws <see cref="InfoGpuException"/> when the shards do not fit the cluster.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Cluster);
        if (Shards < 1)
            throw new InfoGpuException($"data parallel: the shard count must be >= 1 (got {Shards})");
        if (Cluster.IsDistributed && Shards != Cluster.Size)
            throw new InfoGpuException($"data parallel: {Shards} shards on {Cluster.Size} MPI ranks; under MPI every rank takes one shard (give --shards {Cluster.Size} or leave it out)");
    }
}
