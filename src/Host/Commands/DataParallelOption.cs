using System.Globalization;
using InfoGpu.Distributed;
using InfoGpu.Host.Cli;

namespace InfoGpu.Host.Commands;

/// <summary>The <c>--shards N</c> of the data-parallel trainers, and the MPI ranks when launched by mpirun.</summary>
internal static class DataParallelOption
{
    /// <summary>
    /// One shard per rank under MPI (<c>--shards</c>, if given, must equal the number of ranks);
    /// otherwise <c>--shards N</c> in this process (default 1).
    /// </summary>
    public static DataParallel Parse(CommandContext context)
    {
        var a = context.Args;
        var cluster = context.Cluster;
        int shards = a.GetInt("shards", cluster.Size);
        if (shards < 1)
            throw new UsageException($"--shards must be >= 1 (got {shards.ToString(CultureInfo.InvariantCulture)})");
        if (cluster.IsDistributed)
        {
            if (shards != cluster.Size)
                throw new UsageException($"--shards {shards.ToString(CultureInfo.InvariantCulture)} under mpirun with {cluster.Size.ToString(CultureInfo.InvariantCulture)} ranks: every rank takes one shard; leave --shards out or give {cluster.Size.ToString(CultureInfo.InvariantCulture)}");
            return DataParallel.Across(cluster);
        }
        return shards == 1 ? DataParallel.None : new DataParallel(Cluster.Single, shards);
    }

    /// <summary>Says how the batches are split, when they are.</summary>
    public static void Note(CommandContext context, DataParallel parallel)
    {
        if (parallel.Cluster.IsDistributed)
            context.Note(string.Create(CultureInfo.InvariantCulture, $"MPI: {parallel.Cluster.Size} ranks, each takes its shard of every batch; gradients added in rank order"));
        else if (parallel.IsSharded)
            context.Note(string.Create(CultureInfo.InvariantCulture, $"{parallel.Shards} shards per batch, gradients added in shard order (as {parallel.Shards} MPI ranks)"));
    }
}
