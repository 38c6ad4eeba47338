using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;

namespace InfoGpu.Restricted;

/// <summary>
/// The half-sweeps of block Gibbs sampling in an RBM with weights W (nv x nh, row-major), each
/// one GEMM with a fused epilogue: training (CD-k, PCD), the sampler and AIS all use these.
/// Draws are Philox numbers (seed, stream) from a running offset, one per unit sampled.
/// </summary>
internal static class RbmHalfSweep
{
    /// <summary>p(h | v) = sigmoid(v W + c) into <paramref name="ph"/>; with <paramref name="samples"/>, h ~ Bernoulli(p(h | v)) into it too.</summary>
    public static void Hidden(MatrixView v, DeviceBuffer<float> w, DeviceBuffer<float> c, MatrixView ph, DeviceBuffer<float>? samples = null, ulong seed = 0, ulong stream = 0, long offset = 0) =>
        Gemm.Multiply(GemmLayout.NN, v, (w, v.Cols, ph.Cols), ph, Sigmoid(c, samples, seed, stream, offset));

    /// <summary>p(v | h) = sigmoid(h W^T + b) into <paramref name="pv"/> (W read transposed, no copy); with <paramref name="samples"/>, v ~ Bernoulli(p(v | h)) into it too.</summary>
    public static void Visible(MatrixView h, DeviceBuffer<float> w, DeviceBuffer<float> b, MatrixView pv, DeviceBuffer<float>? samples = null, ulong seed = 0, ulong stream = 0, long offset = 0) =>
        Gemm.Multiply(GemmLayout.NT, h, (w, pv.Cols, h.Cols), pv, Sigmoid(b, samples, seed, stream, offset));

    /// <summary>The hidden units' input x = v W + c (no activation), as AIS needs for its weights.</summary>
    public static void HiddenInput(MatrixView v, DeviceBuffer<float> w, DeviceBuffer<float> c, MatrixView x) =>
        Gemm.Multiply(GemmLayout.NN, v, (w, v.Cols, x.Cols), x, new GemmEpilogue { Bias = c });

    /// <summary>
    /// The visible half-sweep of an annealed distribution p_k(v | h) = sigmoid(beta (h W^T + b) + (1 - beta) bA)
    /// between the base-rate model bA (beta = 0) and the RBM (beta = 1), with Bernoulli draws into <paramref name="samples"/>.
    /// </summary>
    public static void VisibleAnnealed(MatrixView h, DeviceBuffer<float> w, DeviceBuffer<float> b, DeviceBuffer<float> baseBias, float beta, MatrixView pv, DeviceBuffer<float> samples, ulong seed, ulong stream, long offset) =>
        Gemm.Multiply(GemmLayout.NT, h, (w, pv.Cols, h.Cols), pv, new GemmEpilogue
        {
            Alpha = beta,
            Bias = b,
            BiasScale = beta,
            Bias2 = baseBias,
            Bias2Scale = 1f - beta,
            Activation = GemmActivation.Sigmoid,
            Samples = samples,
            Seed = seed,
            Stream = stream,
            SampleOffset = offset,
        });

    private static GemmEpilogue Sigmoid(DeviceBuffer<float> bias, DeviceBuffer<float>? samples, ulong seed, ulong stream, long offset)
    {
        var e = new GemmEpilogue { Bias = bias, Activation = GemmActivation.Sigmoid };
        return samples is null ? e : e with { Samples = samples, Seed = seed, Stream = stream, SampleOffset = offset };
    }
}
