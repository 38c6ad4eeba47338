using System.Runtime.CompilerServices;
using InfoGpu.Host.Cli;

namespace InfoGpu.Tests.Console;

/// <summary>
/// Every console run of the test suite reads its options strictly (<see cref="Args.StrictReads"/>):
/// an option read but not declared, read as another type than declared, or read with a fallback
/// other than its declared default fails the test that runs it.
/// </summary>
internal static class StrictReadsSetup
{
#pragma warning disable CA2255 // A test assembly sets up its own process: this is what module initializers are for.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void TurnOn() => Args.StrictReads = true;
}
