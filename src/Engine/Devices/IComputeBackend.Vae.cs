using InfoGpu.Kernels;

namespace InfoGpu.Devices;

/// <summary>The VAE's operations besides GEMM (see <see cref="Kernels.Gpu.VaeKernels"/> for the formulas).</summary>
internal partial interface IComputeBackend
{
    /// <summary>eps = Philox normals (offset + i); z = mu + exp(lv / 2) eps with statistics row r / repeat.</summary>
    void VaeReparameterize(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> z, int rows, int latent, int repeat, ulong seed, ulong stream, long offset);

    /// <summary>dstats = gradient of (loss through z) + beta KL with respect to (mu, lv).</summary>
    void VaeReparameterizeBackward(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> dz, DeviceBuffer<float> dstats, int rows, int latent, float beta);

    /// <summary>kl[r] = KL(N(mu, e^lv) || N(0, I)) of row r.</summary>
    void VaeKl(DeviceBuffer<float> stats, DeviceBuffer<float> kl, int rows, int latent);

    /// <summary>result[r] = log N(z; 0, I) - log q(z | x) of row r (statistics row r / repeat).</summary>
    void VaeLatentLogWeight(DeviceBuffer<float> stats, DeviceBuffer<float> eps, DeviceBuffer<float> z, DeviceBuffer<float> result, int rows, int latent, int repeat);

    /// <summary>losses[r] = Bernoulli cross-entropy of target row r / repeat from logit row r; optionally logits := sigmoid(logits) - x.</summary>
    void VaeCrossEntropy(DeviceBuffer<float> logits, DeviceBuffer<float> x, DeviceBuffer<float> losses, int rows, int cols, int repeat, bool gradient);

    /// <summary>dy := dy where y &gt; 0 else 0; sums = column sums of the result.</summary>
    void VaeReluBackward(DeviceBuffer<float> dy, DeviceBuffer<float> y, DeviceBuffer<float> sums, int rows, int cols);

    /// <summary>sums = column sums of x (rows in order).</summary>
    void VaeColumnSums(DeviceBuffer<float> x, DeviceBuffer<float> sums, int rows, int cols);

    /// <summary>
    /// One Adam step of every element of every tensor p[t] (gradient g[t], moments m[t] and v[t]
    /// of the same length): one launch for up to eight tensors on the ILGPU kinds.
    /// </summary>
    void VaeAdam(IReadOnlyList<DeviceBuffer<float>> p, IReadOnlyList<DeviceBuffer<float>> g, IReadOnlyList<DeviceBuffer<float>> m, IReadOnlyList<DeviceBuffer<float>> v, in AdamArgs args);
}
