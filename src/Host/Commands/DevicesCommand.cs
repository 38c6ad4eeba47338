using System.Text.Json.Nodes;
using InfoGpu.Devices;
using InfoGpu.Host.Cli;
using InfoGpu.Host.Output;

namespace InfoGpu.Host.Commands;

/// <summary><c>infogpu devices</c>: what is present.</summary>
internal sealed class DevicesCommand : ICommand
{
    public CommandSpec Spec { get; } = new(
        "devices",
        "list the compute devices present (kind, name, memory, warp and group sizes)",
        "[--json]",
        [],
        ["infogpu devices", "infogpu devices --json"]);

    public int Run(CommandContext context)
    {
        var devices = ComputeDevice.Available();
        if (context.Args.Json)
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
            Json.Write(context.Out, new JsonObject { ["devices"] = list, ["default"] = DeviceKinds.Name(DeviceKinds.Default()) });
            return 0;
        }
        var table = new Table("kind", "name", "memory", "warp", "max group", "simd bits", "cores", "gemm");
        foreach (var d in devices)
            table.Add(d.Kind, d.Name, $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB", d.WarpSize, d.MaxGroupSize, d.SimdWidthBits, d.Cores, d.Gemm ?? "");
        context.Out.Write(table.ToString());
        return 0;
    }
}
