using System.Globalization;
using System.Text;
using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;
using InfoGpu.Measures;
using InfoGpu.Tests.Infrastructure;
using InfoGpu.Tests.Measures;

namespace InfoGpu.Tests.Devices;

/// <summary>
/// Several threads calling into one shared <see cref="ComputeDevice"/> get, bit for bit, what one
/// thread gets. The shapes are small and odd because the CPU accelerator simulates every thread.
/// </summary>
public class ThreadSafetyTests
{
    private const int Threads = 8;
    private const int CallsPerThread = 50;

    /// <summary>Different inputs per thread and call, so that a call that reads another's data shows.</summary>
    private const int InputsPerThread = 3;

    // Odd shapes; few rows and tiles because every launch on ilgpu-cpu simulates its groups
    // thread by thread (13 rows are 13 groups; the 9 x 7 GEMM with k = 5 is 3 x 2 tiles of 4
    // and a partial k tile).
    private const int Rows = 13, Cols = 29;
    private const int GemmM = 9, GemmN = 7, GemmK = 5;

    private sealed record Input(float[] P, float[] Q, float[] A, float[] B);

    private sealed record Output(float[] Entropy, float[] Kl, float[] Gemm);

    [Theory]
    [MemberData(nameof(TestDevices.Kinds), MemberType = typeof(TestDevices))]
    public void ConcurrentCallsOnOneDeviceMatchOneThread(string kind)
    {
        // The shared device, deliberately without TestDevices.Use's lock: the point is that
        // calls on it need none.
        var device = TestDevices.Get(kind);
        var inputs = new Input[Threads * InputsPerThread];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = new Input(
                RowReductionTests.Distributions(Rows, Cols, 100 + i, zeros: true),
                RowReductionTests.Distributions(Rows, Cols, 1000 + i, zeros: false),
                Uniform(GemmM * GemmK, (ulong)(2 * i)),
                Uniform(GemmK * GemmN, (ulong)(2 * i + 1)));
        }

        // Reference: every input once, on this thread alone.
        var want = new Output[inputs.Length];
        using (var single = new Workspace(device))
        {
            for (int i = 0; i < inputs.Length; i++)
                want[i] = single.Run(inputs[i]);
        }

        var got = new Output[Threads, CallsPerThread];
        var errors = new Exception?[Threads];
        using var start = new Barrier(Threads);
        var threads = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int thread = t;
            threads[t] = new Thread(() =>
            {
                try
                {
                    // Each thread its own device buffers; the device and its backend are shared.
                    using var mine = new Workspace(device);
                    start.SignalAndWait();
                    for (int c = 0; c < CallsPerThread; c++)
                        got[thread, c] = mine.Run(inputs[thread * InputsPerThread + c % InputsPerThread]);
                }
                catch (Exception e)
                {
                    errors[thread] = e;
                }
            });
            threads[t].Start();
        }
        foreach (var t in threads)
            t.Join();
        for (int t = 0; t < Threads; t++)
        {
            if (errors[t] is Exception e)
                Assert.Fail($"{kind}: thread {t} threw {e}");
        }

        var report = new StringBuilder();
        int mismatches = 0;
        for (int t = 0; t < Threads; t++)
        {
            for (int c = 0; c < CallsPerThread; c++)
            {
                var w = want[t * InputsPerThread + c % InputsPerThread];
                var g = got[t, c];
                Compare(w.Entropy, g.Entropy, "entropy", t, c, report, ref mismatches);
                Compare(w.Kl, g.Kl, "KL", t, c, report, ref mismatches);
                Compare(w.Gemm, g.Gemm, "GEMM", t, c, report, ref mismatches);
            }
        }
        if (mismatches > 0)
            Assert.Fail($"{kind}: {mismatches} results of {Threads} threads x {CallsPerThread} calls differ from one thread's; first:{report}");
    }

    private static void Compare(float[] want, float[] got, string what, int thread, int call, StringBuilder report, ref int mismatches)
    {
        for (int i = 0; i < want.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(got[i]))
            {
                if (mismatches++ < 8)
                {
                    report.Append(CultureInfo.InvariantCulture,
                        $"\n  thread {thread} call {call} {what}[{i}]: one thread {want[i]:R}, {Threads} threads {got[i]:R}");
                }
            }
        }
    }

    private static float[] Uniform(int n, ulong stream) =>
        Enumerable.Range(0, n).Select(i => 2 * Philox.Uniform(11, stream, (ulong)i) - 1).ToArray();

    /// <summary>One thread's measures object and GEMM buffers on the shared device.</summary>
    private sealed class Workspace(ComputeDevice device) : IDisposable
    {
        private readonly InformationMeasures measures = new(device);
        private readonly DeviceBuffer<float> a = device.Allocate<float>(GemmM * GemmK);
        private readonly DeviceBuffer<float> b = device.Allocate<float>(GemmK * GemmN);
        private readonly DeviceBuffer<float> c = device.Allocate<float>(GemmM * GemmN);

        public Output Run(Input input)
        {
            var entropy = measures.Entropy(input.P, Cols, LogBase.Bits);
            var kl = measures.KlDivergence(input.P, input.Q, Cols, LogBase.Nats);
            a.CopyFrom(input.A);
            b.CopyFrom(input.B);
            InfoGpu.LinearAlgebra.Gemm.Multiply(GemmLayout.NN, (a, GemmM, GemmK), (b, GemmK, GemmN), (c, GemmM, GemmN), GemmEpilogue.None);
            return new Output(entropy, kl, c.ToArray());
        }

        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
            c.Dispose();
        }
    }
}
