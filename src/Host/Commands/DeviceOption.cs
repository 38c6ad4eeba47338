using InfoGpu.Devices;
using InfoGpu.Host.Cli;

namespace InfoGpu.Host.Commands;

/// <summary>Opens the device a command's <c>--accelerator</c> names and says which it is.</summary>
internal static class DeviceOption
{
    public static ComputeDevice Open(CommandContext context)
    {
        string? name = context.Args.Get("accelerator");
        if (name is not null && !DeviceKinds.TryParse(name, out _))
            throw new UsageException($"--accelerator '{name}' is not a kind: use one of {string.Join(", ", DeviceKinds.Names)}");
        var device = ComputeDevice.Open(name);
        if (device.FallbackNote is string note)
            context.Err.WriteLine($"warning: {note}");
        context.Note($"device: {device.Info.Kind} ({device.Info.Name})");
        return device;
    }
}
