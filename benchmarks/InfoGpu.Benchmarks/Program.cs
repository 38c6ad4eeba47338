using BenchmarkDotNet.Running;
using InfoGpu.Benchmarks;

// "memory [SWEEPS] [ACCELERATOR]": the long-PCD resident-memory probe; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "memory")
    return MemoryProbe.Run(args);
BenchmarkSwitcher.FromAssembly(typeof(MemoryProbe).Assembly).Run(args);
return 0;
