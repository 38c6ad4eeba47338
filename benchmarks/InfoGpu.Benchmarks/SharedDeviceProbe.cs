using System.Diagnostics;
using System.Globalization;
using ILGPU;
using ILGPU.Runtime;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.Kernels.Cpu;
using InfoGpu.Kernels.Gpu;
using InfoGpu.Measures;

namespace InfoGpu.Benchmarks;

/// <summary>
/// What keeping a shared ILGPU device safe costs, two ways, for batched entropy from host rows:
/// <list type="bullet">
/// <item><b>lock</b>: the engine's way, <see cref="InformationMeasures.Entropy(ReadOnlySpan{float}, int, Span{float}, LogBase, DistributionOptions?)"/>:
/// one lock per device queue held from upload to download, scratch buffers reused from call to call.</item>
/// <item><b>per-call scratch</b>: the same host check, uploads, kernel and download, but into
/// buffers allocated and freed by each call and with no lock (what the engine would do instead).</item>
/// </list>
/// Rounds alternate the two (so a load that changes during the run hits both alike) and the
/// median microseconds per call over the rounds are printed, for 1, 2 and 8 threads sharing the
/// device. Then the part that differs, alone on one thread: everything but the host check and
/// the kernel (taking the lock and copying through reused buffers, against allocating, copying
/// through and freeing new ones).
/// Usage: <c>dotnet run -c Release --project benchmarks/InfoGpu.Benchmarks -- shared-device [ACCELERATOR] [ROWS] [COLUMNS] [ROUNDS] [CALLS]</c>
/// (CALLS: calls per timing of whole calls, split among the threads; 0 times the scratch handling only).
/// </summary>
internal static class SharedDeviceProbe
{
    public static int Run(string[] args)
    {
        string kind = args.Length > 1 ? args[1] : "ilgpu-cpu";
        int rows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 37;
        int cols = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 29;
        int rounds = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 7;
        int calls = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 64;
        using var device = ComputeDevice.Open(kind);
        if (device.Backend is not IlgpuBackend backend)
            throw new InvalidOperationException("the cpu backend has no scratch buffers: name an ILGPU kind");
        var measures = new InformationMeasures(device);
        var p = new float[rows * cols];
        var rng = new System.Random(1);
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < cols; j++)
                sum += p[r * cols + j] = (float)(rng.NextDouble() + 1e-3);
            for (int j = 0; j < cols; j++)
                p[r * cols + j] = (float)(p[r * cols + j] / sum);
        }
        var kernel = backend.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, EntropyTerm>(RowKernels.RowReduceKernel);
        var config = new KernelConfig(new Index1D(rows), new Index1D(backend.RowGroupSize), SharedMemoryConfig.RequestDynamic<float>(backend.RowGroupSize));

        void Locked(float[] result) => measures.Entropy(p, cols, result, LogBase.Nats);

        unsafe void PerCall(float[] result)
        {
            if (!CpuRowKernels.AllRowsValid(p, cols, DistributionOptions.Float32Tolerance))
                throw new InvalidOperationException("rows are not distributions");
            var accelerator = backend.Accelerator;
            accelerator.Bind();
            using var dp = accelerator.Allocate1D<float>(p.Length);
            using var dq = accelerator.Allocate1D<float>(p.Length);
            using var dr = accelerator.Allocate1D<float>(rows);
            fixed (float* host = p)
            {
                dp.View.CopyFromCPU(ref *host, p.Length);
                dq.View.CopyFromCPU(ref *host, p.Length);
            }
            kernel(config, dp.View, dq.View, dr.View, cols, (float)LogBase.Nats.Scale, default);
            accelerator.Synchronize();
            fixed (float* host = result)
                dr.View.CopyToCPU(ref *host, rows);
        }

        // Both ways give the same bits; check once, and warm both up.
        var a = new float[rows];
        var b = new float[rows];
        Locked(a);
        PerCall(b);
        if (!a.AsSpan().SequenceEqual(b))
            throw new InvalidOperationException("the two ways disagree");

        // The scratch handling alone: the same copies as above, without the check and the kernel.
        var held = new Lock();
        var accel = backend.Accelerator;
        using var sp = accel.Allocate1D<float>(p.Length);
        using var sq = accel.Allocate1D<float>(p.Length);
        using var sr = accel.Allocate1D<float>(rows);

        unsafe void LockedCopies(float[] result)
        {
            using (held.EnterScope())
            {
                accel.Bind();
                fixed (float* host = p)
                {
                    sp.View.CopyFromCPU(ref *host, p.Length);
                    sq.View.CopyFromCPU(ref *host, p.Length);
                }
                accel.Synchronize();
                fixed (float* host = result)
                    sr.View.CopyToCPU(ref *host, rows);
            }
        }

        unsafe void PerCallCopies(float[] result)
        {
            accel.Bind();
            using var dp = accel.Allocate1D<float>(p.Length);
            using var dq = accel.Allocate1D<float>(p.Length);
            using var dr = accel.Allocate1D<float>(rows);
            fixed (float* host = p)
            {
                dp.View.CopyFromCPU(ref *host, p.Length);
                dq.View.CopyFromCPU(ref *host, p.Length);
            }
            accel.Synchronize();
            fixed (float* host = result)
                dr.View.CopyToCPU(ref *host, rows);
        }

        Console.WriteLine(FormattableString.Invariant($"entropy of {rows} x {cols} float32 rows from the host on {device.Info.Kind} ({device.Info.Name}), {Environment.ProcessorCount} cores, {rounds} rounds"));
        Console.WriteLine("| threads | lock: us per call | per-call scratch: us per call | per-call / lock |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (int threads in calls > 0 ? new[] { 1, 2, 8 } : [])
        {
            int callsPerThread = Math.Max(1, calls / threads);
            var locked = new List<double>();
            var perCall = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                locked.Add(Time(threads, callsPerThread, rows, Locked));
                perCall.Add(Time(threads, callsPerThread, rows, PerCall));
            }
            double l = Median(locked), s = Median(perCall);
            Console.WriteLine(FormattableString.Invariant($"| {threads} | {l:F1} | {s:F1} | {s / l:F2} |"));
        }
        int copies = Math.Max(20, (int)Math.Min(2000, 20_000_000L / p.Length));
        var lockedAlone = new List<double>();
        var perCallAlone = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            lockedAlone.Add(Time(1, copies, rows, LockedCopies));
            perCallAlone.Add(Time(1, copies, rows, PerCallCopies));
        }
        double la = Median(lockedAlone), pa = Median(perCallAlone);
        Console.WriteLine(FormattableString.Invariant($"| 1, scratch handling alone (no check, no kernel) | {la:F2} | {pa:F2} | {pa / la:F2} |"));
        return 0;
    }

    /// <summary>Microseconds per call with <paramref name="threads"/> threads each making <paramref name="calls"/> calls at once.</summary>
    private static double Time(int threads, int calls, int rows, Action<float[]> call)
    {
        using var start = new Barrier(threads + 1);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                var result = new float[rows];
                start.SignalAndWait();
                for (int c = 0; c < calls; c++)
                    call(result);
            });
            workers[t].Start();
        }
        start.SignalAndWait();
        var watch = Stopwatch.StartNew();
        foreach (var w in workers)
            w.Join();
        return watch.Elapsed.TotalMicroseconds / (threads * calls);
    }

    private static double Median(List<double> xs)
    {
        var sorted = xs.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
