using ILGPU;
using ILGPU.Runtime;

namespace InfoGpu.Kernels.Gpu;

/// <summary>
/// The VAE's row and column kernels for a grid of M models in one launch: the model index is the
/// grid's second dimension, and each model runs the single-model kernel of <see cref="VaeKernels"/>
/// on the views of its block (model z's block of a stacked buffer starts z times its stride
/// after model 0's), so every element gets the single-model kernel's arithmetic and, for the
/// reductions, its summation order.
/// </summary>
internal static class VaeGridKernels
{
    /// <summary>The view from <paramref name="offset"/> to the end.</summary>
    private static ArrayView<float> From(ArrayView<float> x, long offset) => x.SubView(offset, x.Length - offset);

    /// <summary><see cref="VaeKernels.ReparameterizeKernel"/> (repeat 1) of model index.Y, keyed by seeds[index.Y].</summary>
    public static void ReparameterizeBatchedKernel(Index2D index, ArrayView<float> stats, long statsStride, ArrayView<float> eps, ArrayView<float> z, long zStride, int latent, ArrayView<ulong> seeds, ulong stream, long offset)
    {
        long m = index.Y;
        VaeKernels.ReparameterizeKernel(new Index1D(index.X), From(stats, m * statsStride), From(eps, m * zStride), From(z, m * zStride), latent, 1, seeds[m], stream, offset);
    }

    /// <summary><see cref="VaeKernels.ReparameterizeBackwardKernel"/> of model index.Y with beta = betas[index.Y].</summary>
    public static void ReparameterizeBackwardBatchedKernel(Index2D index, ArrayView<float> stats, long statsStride, ArrayView<float> eps, ArrayView<float> dz, long zStride, ArrayView<float> dstats, int latent, ArrayView<float> betas)
    {
        long m = index.Y;
        VaeKernels.ReparameterizeBackwardKernel(new Index1D(index.X), From(stats, m * statsStride), From(eps, m * zStride), From(dz, m * zStride), From(dstats, m * statsStride), latent, betas[m]);
    }

    /// <summary><see cref="VaeKernels.KlKernel"/> of model Grid.IdxY, its KL from klOffset + z klStride.</summary>
    public static void KlBatchedKernel(ArrayView<float> stats, long statsStride, ArrayView<float> kl, long klOffset, long klStride, int rows, int latent, int lanes)
    {
        long m = Grid.IdxY;
        VaeKernels.KlKernel(From(stats, m * statsStride), From(kl, klOffset + (m * klStride)), rows, latent, lanes);
    }

    /// <summary><see cref="VaeKernels.CrossEntropyKernel"/> (repeat 1, with the gradient) of model Grid.IdxY, its losses from lossOffset + z lossStride.</summary>
    public static void CrossEntropyBatchedKernel(ArrayView<float> logits, ArrayView<float> x, long stride, ArrayView<float> losses, long lossOffset, long lossStride, int rows, int cols, int lanes)
    {
        long m = Grid.IdxY;
        VaeKernels.CrossEntropyKernel(From(logits, m * stride), From(x, m * stride), From(losses, lossOffset + (m * lossStride)), rows, cols, 1, 1, lanes);
    }

    /// <summary><see cref="VaeKernels.ReluBackwardKernel"/> of model Grid.IdxY (sums at z cols).</summary>
    public static void ReluBackwardBatchedKernel(ArrayView<float> dy, ArrayView<float> y, long stride, ArrayView<float> sums, int rows, int cols, int lanes)
    {
        long m = Grid.IdxY;
        VaeKernels.ReluBackwardKernel(From(dy, m * stride), From(y, m * stride), From(sums, m * cols), rows, cols, lanes);
    }

    /// <summary><see cref="VaeKernels.ColumnSumsKernel"/> of model Grid.IdxY (sums at z cols).</summary>
    public static void ColumnSumsBatchedKernel(ArrayView<float> x, long stride, ArrayView<float> sums, int rows, int cols, int lanes)
    {
        long m = Grid.IdxY;
        VaeKernels.ColumnSumsKernel(From(x, m * stride), From(sums, m * cols), rows, cols, lanes);
    }

    /// <summary>
    /// <see cref="VaeKernels.AdamKernel"/> over stacked tensors: slot k holds the M blocks of one
    /// tensor, each (End_k - End_{k-1}) / M long; an element of model z's block steps with
    /// StepSize = stepSizes[offset + z stride] and the rest of <paramref name="a"/>.
    /// </summary>
    public static void AdamBatchedKernel(Index1D index, AdamTensors t, AdamArgs a, ArrayView<float> stepSizes, long offset, long stride, int models)
    {
        long i = index.X;
        if (i < t.End0)
            At(t.P0, t.G0, t.M0, t.V0, i, t.End0, a, stepSizes, offset, stride, models);
        else if (i < t.End1)
            At(t.P1, t.G1, t.M1, t.V1, i - t.End0, t.End1 - t.End0, a, stepSizes, offset, stride, models);
        else if (i < t.End2)
            At(t.P2, t.G2, t.M2, t.V2, i - t.End1, t.End2 - t.End1, a, stepSizes, offset, stride, models);
        else if (i < t.End3)
            At(t.P3, t.G3, t.M3, t.V3, i - t.End2, t.End3 - t.End2, a, stepSizes, offset, stride, models);
        else if (i < t.End4)
            At(t.P4, t.G4, t.M4, t.V4, i - t.End3, t.End4 - t.End3, a, stepSizes, offset, stride, models);
        else if (i < t.End5)
            At(t.P5, t.G5, t.M5, t.V5, i - t.End4, t.End5 - t.End4, a, stepSizes, offset, stride, models);
        else if (i < t.End6)
            At(t.P6, t.G6, t.M6, t.V6, i - t.End5, t.End6 - t.End5, a, stepSizes, offset, stride, models);
        else if (i < t.End7)
            At(t.P7, t.G7, t.M7, t.V7, i - t.End6, t.End7 - t.End6, a, stepSizes, offset, stride, models);
    }

    private static void At(ArrayView<float> p, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v, long k, long length, AdamArgs a, ArrayView<float> stepSizes, long offset, long stride, int models)
    {
        long z = k / (length / models);
        var args = a;
        args.StepSize = stepSizes[offset + (z * stride)];
        VaeKernels.AdamAt(p, g, m, v, k, args);
    }
}
