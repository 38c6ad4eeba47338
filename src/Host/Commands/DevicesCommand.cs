using System.Text.Json.Nodes;
using InfoGpu.Devices;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu devices</c>: what is present; under MPI, what each rank sees (gathered on rank 0).</summary>
internal sealed class DevicesCommand : IDistributedCommand
{
    public CommandSpec Spec { get; } = new(
        "devices",
        "list the compute devices present (kind, name, memory, warp and group sizes)",
        "[--json]",
        [],
        ["infogpu devices", "infogpu devices --json"]);

    public int Run(CommandContext context)
    {
        if (context.Cluster.IsDistributed)
            return RunRanks(context);
        var devices = ComputeDevice.Available();
        if (context.Args.Json)
        {
            Json.Write(context.Out, new JsonObject { ["devices"] = List(devices), ["default"] = DeviceKinds.Name(DeviceKinds.Default()) });
            return 0;
        }
        context.Out.Write(Table(devices).ToString());
        return 0;
    }

    /// <summary>Every rank's devices, gathered on rank 0: JSON {"ranks": [{"rank", "host", "devices", "default"}]}, or one table per rank.</summary>
    private static int RunRanks(CommandContext context)
    {
        var cluster = context.Cluster;
        var devices = ComputeDevice.Available();
        var mine = new JsonObject
        {
            ["rank"] = cluster.Rank,
            ["host"] = Environment.MachineName,
            ["devices"] = List(devices),
            ["default"] = DeviceKinds.Name(DeviceKinds.Default()),
        };
        var text = context.Args.Json ? mine.ToJsonString() : $"rank {cluster.Rank} of {cluster.Size} on {Environment.MachineName}:\n{Table(devices)}";
        var parts = cluster.Gather(System.Text.Encoding.UTF8.GetBytes(text));
        if (parts is null)
            return 0;
        var all = parts.Select(p => System.Text.Encoding.UTF8.GetString(p)).ToList();
        if (context.Args.Json)
        {
            var ranks = new JsonArray();
            foreach (var p in all)
                ranks.Add(JsonNode.Parse(p));
            Json.Write(context.Out, new JsonObject { ["ranks"] = ranks, ["size"] = cluster.Size });
        }
        else
        {
            foreach (var p in all)
                context.Out.Write(p);
        }
        return 0;
    }

    private static JsonArray List(IEnumerable<DeviceInfo> devices)
    {
        var list = new JsonArray();
        foreach (var d in devices)
        {
            var o = new JsonObject
            {
                ["kind"] = d.Kind,
                ["name"] = d.Name,
                ["memory_bytes"] = d.MemoryBytes,
                ["warp_size"] = d.WarpSize,
                ["max_group_size"] = d.MaxGroupSize,
            };
            if (d.SimdWidthBits is int simd)
                o["simd_width_bits"] = simd;
            if (d.Cores is int cores)
                o["cores"] = cores;
            if (d.Gemm is string gemm)
                o["gemm"] = gemm;
            list.Add(o);
        }
        return list;
    }

    private static Table Table(IEnumerable<DeviceInfo> devices)
    {
        var table = new Table("kind", "name", "memory", "warp", "max group", "simd bits", "cores", "gemm");
        foreach (var d in devices)
            table.Add(d.Kind, d.Name, $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB", d.WarpSize, d.MaxGroupSize, d.SimdWidthBits, d.Cores, d.Gemm ?? "");
        return table;
    }
}
