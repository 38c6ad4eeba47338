using BenchmarkDotNet.Running;
using InfoGpu.Benchmarks;

// "memory [SWEEPS] [ACCELERATOR]": the long-PCD resident-memory probe; "shared-device
// [ACCELERATOR] [ROWS] [COLUMNS] [ROUNDS] [CALLS]": lock against per-call scratch on a device shared by
// threads; "batched-gemm [ACCELERATOR] [B] [NV] [NH] [ROUNDS]": a grid's half-sweep as one
// launch against one launch per model; "grid-step" and "vae-grid-step": a grid step of M RBMs or
// VAEs, per-model loop against the fused step; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "memory")
    return MemoryProbe.Run(args);
if (args.Length > 0 && args[0] == "batched-gemm")
    return BatchedGemmProbe.Run(args);
if (args.Length > 0 && args[0] == "grid-step")
    return GridStepProbe.Run(args);
if (args.Length > 0 && args[0] == "vae-grid-step")
    return GridStepProbe.RunVae(args);
if (args.Length > 0 && args[0] == "shared-device")
    return SharedDeviceProbe.Run(args);
BenchmarkSwitcher.FromAssembly(typeof(MemoryProbe).Assembly).Run(args);
return 0;
