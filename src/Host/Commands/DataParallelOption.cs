using System.Globalization;
using InfoGpu.Checkpoints;
using InfoGpu.Distributed;
using InfoGpu.Host.Cli;

namespace InfoGpu.Host.Commands;

/// <summary>The <c>--shards N</c> of the data-parallel trainers, and the MPI ranks when launched by mpirun.</summary>
internal static class DataParallelOption
{
    /// <summary>The checkpoint metadata key that records how many shards split every batch of a run.</summary>
    public const string MetadataKey = "shards";

    /// <summary>
    /// One shard per rank under MPI (<c>--shards</c>, if given, must equal the number of ranks);
    /// otherwise <c>--shards N</c> in this process (default 1). A resumed run keeps the shards its
    /// checkpoint records (so that it stays bit-identical): <c>--shards</c> may only repeat them,
    /// and under mpirun the number of ranks must equal them.
    /// </summary>
    /// <param name="context">The command's arguments and cluster.</param>
    /// <param name="checkpoint">The checkpoint resumed from (null: a new run).</param>
    public static DataParallel Parse(CommandContext context, TensorSet? checkpoint = null)
    {
        var a = context.Args;
        var cluster = context.Cluster;
        int? stored = Stored(checkpoint);
        string n(int v) => v.ToString(CultureInfo.InvariantCulture);
        if (stored is int s)
        {
            if (a.Has("shards") && a.GetInt("shards", s) != s)
                throw new UsageException($"--shards cannot change on --resume: the run was trained with {n(s)} shards (recorded in its checkpoint); leave --shards out, or start a new run with --out DIR to use other shards");
            if (cluster.IsDistributed && cluster.Size != s)
                throw new UsageException($"the run was trained with {n(s)} shards (recorded in its checkpoint) and {n(cluster.Size)} MPI ranks cannot continue it bit for bit; launch it with mpirun -np {n(s)}, or in one process without mpirun");
            if (!cluster.IsDistributed)
                return s == 1 ? DataParallel.None : new DataParallel(Cluster.Single, s);
        }
        int shards = a.GetInt("shards", cluster.Size);
        if (shards < 1)
            throw new UsageException($"--shards must be >= 1 (got {n(shards)})");
        if (cluster.IsDistributed)
        {
            if (shards != cluster.Size)
                throw new UsageException($"--shards {n(shards)} under mpirun with {n(cluster.Size)} ranks: every rank takes one shard; leave --shards out or give {n(cluster.Size)}");
            return DataParallel.Across(cluster);
        }
        return shards == 1 ? DataParallel.None : new DataParallel(Cluster.Single, shards);
    }

    /// <summary><paramref name="metadata"/> with the run's shard count added under <see cref="MetadataKey"/> (for its checkpoints).</summary>
    public static Dictionary<string, string> Record(Dictionary<string, string> metadata, DataParallel parallel)
    {
        metadata[MetadataKey] = parallel.Shards.ToString(CultureInfo.InvariantCulture);
        return metadata;
    }

    /// <summary>The shard count a checkpoint records (null: none recorded, as in checkpoints written before it was).</summary>
    /// <exception cref="InfoGpuException">The recorded value is not a positive count.</exception>
    public static int? Stored(TensorSet? checkpoint) => SessionRunner.Stored(checkpoint, MetadataKey) switch
    {
        null => null,
        string v when int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int s) && s >= 1 => s,
        string v => throw new InfoGpuException($"{checkpoint!.Source}: its '{MetadataKey}' metadata is '{v}', not a shard count; the checkpoint is damaged"),
    };

    /// <summary>Says how the batches are split, when they are.</summary>
    public static void Note(CommandContext context, DataParallel parallel)
    {
        if (parallel.Cluster.IsDistributed)
            context.Note(string.Create(CultureInfo.InvariantCulture, $"MPI: {parallel.Cluster.Size} ranks, each takes its shard of every batch; gradients added in rank order"));
        else if (parallel.IsSharded)
            context.Note(string.Create(CultureInfo.InvariantCulture, $"{parallel.Shards} shards per batch, gradients added in shard order (as {parallel.Shards} MPI ranks)"));
    }
}
