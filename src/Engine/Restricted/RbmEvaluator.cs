using InfoGpu.Devices;
using InfoGpu.Kernels;
using InfoGpu.LinearAlgebra;

namespace InfoGpu.Restricted;

/// <summary>The monitors of one data set: means over its images.</summary>
/// <param name="ReconstructionError">Mean of sum_i (v_i - p(v_i | h))^2 with h = p(h | v).</param>
/// <param name="PseudoLogLikelihood">Mean of D log sigmoid(F(v~) - F(v)), v~ = v with one bit flipped (NaN when no flips were given).</param>
/// <param name="MeanFreeEnergy">Mean of F(v).</param>
public readonly record struct RbmScores(double ReconstructionError, double PseudoLogLikelihood, double MeanFreeEnergy);

/// <summary>
/// Per-image monitors of an RBM on the device, in chunks: free energy, reconstruction error and
/// the pseudo-log-likelihood. Buffers are made here; dispose before the device.
/// </summary>
/// <remarks>
/// F(v) = -b.v - sum_j softplus(c_j + (v W)_j) with a stable softplus. The flipped free energy is
/// computed from the same activations term by term: F(v~) - F(v) = -s b_i - sum_j (softplus(a_j +
/// s W_ij) - softplus(a_j)) with s = 1 - 2 v_i, so no second product is needed. Per-image values are
/// float32 on the device and summed in float64 on the host in image order.
/// </remarks>
public sealed class RbmEvaluator : IDisposable
{
    private readonly ComputeDevice device;
    private readonly int nv, nh, chunk;
    private readonly DeviceBuffer<float> v, act, h, pv, energy, error, flipped;
    private readonly DeviceBuffer<int> flips;
    private readonly float[] hostEnergy, hostError, hostFlipped;

    /// <summary>Allocates the buffers for chunks of <paramref name="chunkRows"/> images.</summary>
    public RbmEvaluator(ComputeDevice device, int visible, int hidden, int chunkRows = 1000)
    {
        this.device = device;
        nv = visible;
        nh = hidden;
        chunk = Math.Max(1, chunkRows);
        v = device.Allocate<float>((long)chunk * nv);
        act = device.Allocate<float>((long)chunk * nh);
        h = device.Allocate<float>((long)chunk * nh);
        pv = device.Allocate<float>((long)chunk * nv);
        energy = device.Allocate<float>(chunk);
        error = device.Allocate<float>(chunk);
        flipped = device.Allocate<float>((long)chunk * nv);
        flips = device.Allocate<int>(chunk);
        hostEnergy = new float[chunk];
        hostError = new float[chunk];
        hostFlipped = new float[chunk * nv];
    }

    /// <summary>The monitors of <paramref name="rbm"/> on <paramref name="data"/> (rows of nv values); uploads the parameters first.</summary>
    public RbmScores Evaluate(Rbm rbm, ReadOnlySpan<float> data, ReadOnlySpan<int> flipIndices = default)
    {
        using var w = device.Allocate<float>(rbm.Weights.Length);
        using var b = device.Allocate<float>(nv);
        using var c = device.Allocate<float>(nh);
        w.CopyFrom(rbm.Weights);
        b.CopyFrom(rbm.VisibleBias);
        c.CopyFrom(rbm.HiddenBias);
        return Evaluate(w, b, c, data, flipIndices);
    }

    /// <summary>Mean over images of sum over every bit i of log sigmoid(F(v with bit i flipped) - F(v)): the deterministic pseudo-log-likelihood.</summary>
    public double PseudoLogLikelihoodAllBits(Rbm rbm, ReadOnlySpan<float> data)
    {
        using var w = device.Allocate<float>(rbm.Weights.Length);
        using var b = device.Allocate<float>(nv);
        using var c = device.Allocate<float>(nh);
        w.CopyFrom(rbm.Weights);
        b.CopyFrom(rbm.VisibleBias);
        c.CopyFrom(rbm.HiddenBias);
        return PseudoLogLikelihoodAllBits(w, b, c, data);
    }

    internal RbmScores Evaluate(DeviceBuffer<float> w, DeviceBuffer<float> b, DeviceBuffer<float> c, ReadOnlySpan<float> data, ReadOnlySpan<int> flipIndices)
    {
        int rows = data.Length / nv;
        if (rows == 0 || data.Length % nv != 0)
            throw new InfoGpuException($"RBM monitors: {data.Length} values do not make rows of {nv} visible units");
        if (!flipIndices.IsEmpty && flipIndices.Length < rows)
            throw new InfoGpuException($"RBM monitors: {flipIndices.Length} flip indices for {rows} images");
        double sumF = 0, sumErr = 0, sumPll = 0;
        for (int r0 = 0; r0 < rows; r0 += chunk)
        {
            int m = Math.Min(chunk, rows - r0);
            v.CopyFrom(data.Slice(r0 * nv, m * nv));
            Activations(w, c, m);
            device.Backend.RbmFreeEnergy(v, act, b, energy, m, nv, nh);
            Gemm.Multiply(GemmLayout.NN, (v, m, nv), (w, nv, nh), (h, m, nh), new GemmEpilogue { Bias = c, Activation = GemmActivation.Sigmoid });
            Gemm.Multiply(GemmLayout.NT, (h, m, nh), (w, nv, nh), (pv, m, nv), new GemmEpilogue { Bias = b, Activation = GemmActivation.Sigmoid });
            device.Backend.RbmSquaredError(v, pv, error, m, nv);
            energy.CopyTo(hostEnergy.AsSpan(0, m));
            error.CopyTo(hostError.AsSpan(0, m));
            for (int r = 0; r < m; r++)
            {
                sumF += hostEnergy[r];
                sumErr += hostError[r];
            }
            if (!flipIndices.IsEmpty)
            {
                flips.CopyFrom(flipIndices.Slice(r0, m));
                device.Backend.RbmFlipFreeEnergy(v, act, w, b, flips, flipped, m, nv, nh, false);
                flipped.CopyTo(hostFlipped.AsSpan(0, m));
                for (int r = 0; r < m; r++)
                    sumPll += nv * LogSigmoid(hostFlipped[r]);
            }
        }
        return new RbmScores(sumErr / rows, flipIndices.IsEmpty ? double.NaN : sumPll / rows, sumF / rows);
    }

    internal double PseudoLogLikelihoodAllBits(DeviceBuffer<float> w, DeviceBuffer<float> b, DeviceBuffer<float> c, ReadOnlySpan<float> data)
    {
        int rows = data.Length / nv;
        if (rows == 0)
            return double.NaN;
        double sum = 0;
        for (int r0 = 0; r0 < rows; r0 += chunk)
        {
            int m = Math.Min(chunk, rows - r0);
            v.CopyFrom(data.Slice(r0 * nv, m * nv));
            Activations(w, c, m);
            device.Backend.RbmFlipFreeEnergy(v, act, w, b, flips, flipped, m * nv, nv, nh, true);
            flipped.CopyTo(hostFlipped.AsSpan(0, m * nv));
            for (int p = 0; p < m * nv; p++)
                sum += LogSigmoid(hostFlipped[p]);
        }
        return sum / rows;
    }

    private void Activations(DeviceBuffer<float> w, DeviceBuffer<float> c, int m) =>
        Gemm.Multiply(GemmLayout.NN, (v, m, nv), (w, nv, nh), (act, m, nh), new GemmEpilogue { Bias = c });

    /// <summary>log sigmoid(x) in float64, stable.</summary>
    private static double LogSigmoid(double x) => -ScalarMath.Softplus(-x);

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        flips.Dispose();
        flipped.Dispose();
        error.Dispose();
        energy.Dispose();
        pv.Dispose();
        h.Dispose();
        act.Dispose();
        v.Dispose();
    }
}
