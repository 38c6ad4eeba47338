using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;

namespace InfoGpu.Restricted;

/// <summary>
/// Block Gibbs chains of an RBM on the device: v -> h -> v, each half-sweep one GEMM with the
/// sigmoid + Bernoulli epilogue, all chains at once.
/// </summary>
public static class RbmSampler
{
    private const ulong Stream = 51;

    /// <summary>
    /// Runs <paramref name="chains"/> chains for <paramref name="steps"/> Gibbs steps from
    /// <paramref name="start"/> (rows of nv binary values; empty: Bernoulli(1/2) visibles) and
    /// returns the last visible probabilities p(v | h), rows of nv values (the mean images).
    /// </summary>
    public static float[] Sample(ComputeDevice device, Rbm rbm, int chains, int steps, ulong seed, ReadOnlySpan<float> start = default) =>
        Run(device, rbm, chains, steps, seed, start).Probabilities;

    /// <summary>As <see cref="Sample"/>, but returns the last binary visible states (to continue the chains later).</summary>
    public static float[] SampleStates(ComputeDevice device, Rbm rbm, int chains, int steps, ulong seed, ReadOnlySpan<float> start = default) =>
        Run(device, rbm, chains, steps, seed, start).States;

    private static (float[] Probabilities, float[] States) Run(ComputeDevice device, Rbm rbm, int chains, int steps, ulong seed, ReadOnlySpan<float> start)
    {
        if (chains < 1 || steps < 1)
            throw new InfoGpuException($"sampling needs at least one chain and one step (got {chains} chains, {steps} steps)");
        int nv = rbm.Visible, nh = rbm.Hidden;
        using var w = device.Allocate<float>(rbm.Weights.Length);
        using var b = device.Allocate<float>(nv);
        using var c = device.Allocate<float>(nh);
        using var v = device.Allocate<float>((long)chains * nv);
        using var pv = device.Allocate<float>((long)chains * nv);
        using var h = device.Allocate<float>((long)chains * nh);
        using var ph = device.Allocate<float>((long)chains * nh);
        w.CopyFrom(rbm.Weights);
        b.CopyFrom(rbm.VisibleBias);
        c.CopyFrom(rbm.HiddenBias);
        var init = new float[chains * nv];
        if (start.IsEmpty)
        {
            for (int k = 0; k < init.Length; k++)
                init[k] = Philox.Uniform(seed, Stream + 1, (ulong)k) < 0.5f ? 1f : 0f;
        }
        else
        {
            if (start.Length != init.Length)
                throw new InfoGpuException($"chain starts: {start.Length} values for {chains} chains of {nv} visible units");
            start.CopyTo(init);
        }
        v.CopyFrom(init);
        long draws = 0;
        long hn = (long)chains * nh, vn = (long)chains * nv;
        for (int t = 0; t < steps; t++)
        {
            RbmHalfSweep.Hidden((v, chains, nv), w, c, (ph, chains, nh), h, seed, Stream, draws);
            draws += hn;
            RbmHalfSweep.Visible((h, chains, nh), w, b, (pv, chains, nv), v, seed, Stream, draws);
            draws += vn;
        }
        return (pv.ToArray(), v.ToArray());
    }
}
