using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using InfoGpu.Distributed;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary>
/// <c>infogpu mpi bench</c>: under mpirun, the time to sum one model's gradient over the ranks, by
/// MPI_Allreduce and by the fixed-order sum the trainers use (all-gather, then add in rank order).
/// </summary>
internal sealed class MpiBenchCommand : IDistributedCommand
{
    /// <summary>The RBM's exchange per step: W (784 x 500), and the visible and hidden column sums (data and model).</summary>
    private const int RbmFloats = 784 * 500 + 2 * 784 + 2 * 500;

    /// <summary>The chapter's VAE (784-400-20): fc1 400x784+400, fc2 40x400+40, fc3 400x20+400, fc4 784x400+784.</summary>
    private const int VaeFloats = 400 * 784 + 400 + 40 * 400 + 40 + 400 * 20 + 400 + 784 * 400 + 784;

    public CommandSpec Spec { get; } = new(
        "mpi bench",
        "under mpirun: time the sum over ranks of one RBM (784x500) and one VAE (784-400-20) gradient, by MPI_Allreduce and by the trainers' fixed-order sum",
        "[--repeat 30] [--json]",
        [OptionSpec.Int("repeat", "N", "timed repetitions per case after 3 warm-up ones; the median and the fastest are reported (default 30)", 30)],
        ["mpirun -np 2 infogpu mpi bench", "mpirun --allow-run-as-root --oversubscribe -np 2 infogpu mpi bench --json"]);

    public int Run(CommandContext context)
    {
        var cluster = context.Cluster;
        int repeat = context.Args.GetInt("repeat", 30);
        if (repeat < 1)
            throw new UsageException("--repeat must be at least 1");
        if (!cluster.IsDistributed || cluster.Size < 2)
            throw new UsageException("mpi bench measures communication between ranks: run it under mpirun with -np 2 or more");
        var rows = new JsonArray();
        var table = new Table("gradient", "floats", "MB", "allreduce ms", "fixed-order ms", "allreduce GB/s");
        foreach (var (name, floats) in new[] { ("rbm 784x500", RbmFloats), ("vae 784-400-20", VaeFloats) })
        {
            var data = new float[floats];
            for (int i = 0; i < floats; i++)
                data[i] = (i % 97) * 0.01f + cluster.Rank;
            var (allreduce, allreduceMin) = Time(cluster, repeat, () => cluster.AllReduceSum(data));
            var (ordered, orderedMin) = Time(cluster, repeat, () => cluster.SumInRankOrder(data.AsSpan()));
            double mb = floats * 4.0 / 1e6;
            rows.Add(new JsonObject
            {
                ["gradient"] = name,
                ["floats"] = floats,
                ["bytes"] = floats * 4L,
                ["allreduce_seconds"] = Json.Number(allreduce),
                ["fixed_order_seconds"] = Json.Number(ordered),
                ["allreduce_min_seconds"] = Json.Number(allreduceMin),
                ["fixed_order_min_seconds"] = Json.Number(orderedMin),
            });
            table.Add(name, floats, mb.ToString("F2", CultureInfo.InvariantCulture), (allreduce * 1e3).ToString("F3", CultureInfo.InvariantCulture), (ordered * 1e3).ToString("F3", CultureInfo.InvariantCulture), (mb / 1e3 / allreduce).ToString("F2", CultureInfo.InvariantCulture));
        }
        if (context.Args.Json)
            Json.Write(context.Out, new JsonObject { ["ranks"] = cluster.Size, ["repeat"] = repeat, ["host"] = Environment.MachineName, ["cases"] = rows });
        else
            context.Out.Write(table.ToString());
        return 0;
    }

    /// <summary>The median and the fastest of <paramref name="repeat"/> timings, each started after a barrier and taken as the slowest rank's time.</summary>
    private static (double Median, double Min) Time(Cluster cluster, int repeat, Action body)
    {
        for (int w = 0; w < 3; w++)
            body();
        var times = new double[repeat];
        var one = new double[1];
        for (int r = 0; r < repeat; r++)
        {
            cluster.Barrier();
            long t0 = Stopwatch.GetTimestamp();
            body();
            one[0] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            var all = new double[cluster.Size];
            cluster.AllGather(one, all);
            times[r] = all.Max();
        }
        Array.Sort(times);
        return (times[repeat / 2], times[0]);
    }
}
