using InfoGpu.Devices;

namespace InfoGpu.LinearAlgebra;

/// <summary>A row-major matrix view into a device buffer: rows x cols starting at an offset.</summary>
public readonly record struct MatrixView(DeviceBuffer<float> Buffer, int Rows, int Cols, long Offset = 0)
{
    /// <summary>Elements covered, <see cref="Rows"/> x <see cref="Cols"/>, starting at <see cref="Offset"/> of <see cref="Buffer"/>.</summary>
    public long Length => (long)Rows * Cols;

    /// <summary>A rows x cols view at offset 0 of the buffer; the fit is checked by <see cref="Gemm.Multiply(GemmLayout, MatrixView, MatrixView, MatrixView, in GemmEpilogue)"/>.</summary>
    /// <param name="m">The buffer and the matrix shape.</param>
    public static implicit operator MatrixView((DeviceBuffer<float> Buffer, int Rows, int Cols) m) => new(m.Buffer, m.Rows, m.Cols);
}

/// <summary>
/// Single-precision matrix products on a device with a fused epilogue: the building block of
/// the RBM half-sweeps, their gradients, AIS and the VAE's layers.
/// </summary>
/// <remarks>
/// C = epilogue(op(A) op(B)) with op per <see cref="GemmLayout"/>: NN = A B, NT = A B^T,
/// TN = A^T B. The call returns when the work is queued (ILGPU) or done (cpu); copying a
/// result to the host synchronizes.
/// </remarks>
public static class Gemm
{
    /// <summary>Runs C = epilogue(op(A) op(B)); checks the shapes and says which do not fit.</summary>
    /// <remarks>
    /// On <c>cuda</c> with cuBLAS present the product is cublasSgemm on the device's stream and
    /// the epilogue (biases, activation, draw) one more kernel after it; elsewhere, and on
    /// <c>cuda</c> without cuBLAS, the register-blocked ILGPU kernel with the epilogue fused
    /// (see <see cref="DeviceInfo.Gemm"/>).
    /// </remarks>
    public static void Multiply(GemmLayout layout, MatrixView a, MatrixView b, MatrixView c, in GemmEpilogue epilogue) =>
        Multiply(layout, a, b, c, epilogue, GemmRoute.Auto);

    /// <summary>
    /// Runs C = epilogue(op(A) op(B)) by the implementation <paramref name="route"/> names: for
    /// checks and benchmarks that compare cuBLAS, cuBLAS alone and the hand-written kernel on one
    /// device. <see cref="GemmRoute.Vendor"/> throws <see cref="InfoGpuException"/> where cuBLAS
    /// does not run and for an epilogue beyond Alpha and Beta.
    /// </summary>
    public static void Multiply(GemmLayout layout, MatrixView a, MatrixView b, MatrixView c, in GemmEpilogue epilogue, GemmRoute route)
    {
        if (!Enum.IsDefined(route))
            throw new ArgumentOutOfRangeException(nameof(route), route, "not a GEMM route");
        var (m, n, ak) = CheckShape(layout, a, b, c);
        CheckRange(a, "A");
        CheckRange(b, "B");
        CheckRange(c, "C");
        if (epilogue.Bias is { } bias && bias.Length < n)
            throw new InfoGpuException($"bias has {bias.Length} values for {n} columns");
        if (epilogue.Bias2 is { } bias2 && bias2.Length < n)
            throw new InfoGpuException($"second bias has {bias2.Length} values for {n} columns");
        if (epilogue.Samples is { } s && s.Length < (long)m * n)
            throw new InfoGpuException($"sample buffer has {s.Length} values for a {m}x{n} result");
        c.Buffer.Device.Backend.Gemm(layout, a.Buffer, a.Offset, b.Buffer, b.Offset, c.Buffer, c.Offset, m, n, ak, epilogue, route);
    }

    /// <summary>
    /// Runs <paramref name="batch"/>.Count products of one shape in one launch (a grid of models
    /// with stacked parameters): model z computes C_z = epilogue(op(A_z) op(B_z)) where A_z, B_z and
    /// C_z are the views moved by z times the batch's strides, its biases and samples likewise, and
    /// its draws keyed by seeds[z] (or the epilogue's seed for all). Checks that every model's views
    /// fit their buffers.
    /// </summary>
    /// <remarks>
    /// Each model's C has the bits that <see cref="Multiply(GemmLayout, MatrixView, MatrixView, MatrixView, in GemmEpilogue)"/>
    /// gives it alone on <c>cpu</c> (a loop over the models through the same kernel, counted as one
    /// launch) and the bits of the hand-written kernel alone on the ILGPU kinds (one launch whose
    /// grid has a model dimension; on <c>cuda</c> the batched product does not go through cuBLAS).
    /// A stride of 0 shares an operand (e.g. the same data for every model).
    /// </remarks>
    public static void MultiplyBatched(GemmLayout layout, MatrixView a, MatrixView b, MatrixView c, in GemmEpilogue epilogue, in GemmBatch batch)
    {
        if (batch.Count < 1)
            throw new InfoGpuException($"a batched GEMM needs at least one model (got {batch.Count})");
        if (batch.AStride < 0 || batch.BStride < 0 || batch.CStride < 0 || batch.BiasStride < 0 || batch.Bias2Stride < 0 || batch.SamplesStride < 0)
            throw new InfoGpuException("the strides of a batched GEMM must be >= 0");
        var (m, n, ak) = CheckShape(layout, a, b, c);
        long last = batch.Count - 1;
        CheckRange(a, "A");
        CheckRange(b, "B");
        CheckRange(c, "C");
        CheckRange(a with { Offset = a.Offset + (last * batch.AStride) }, "A of the last model");
        CheckRange(b with { Offset = b.Offset + (last * batch.BStride) }, "B of the last model");
        CheckRange(c with { Offset = c.Offset + (last * batch.CStride) }, "C of the last model");
        if (batch.CStride < c.Length && batch.Count > 1)
            throw new InfoGpuException($"the models' results overlap: C stride {batch.CStride} is below the {m}x{n} result; give a stride of at least {c.Length}");
        if (epilogue.Bias is { } bias && bias.Length < (last * batch.BiasStride) + n)
            throw new InfoGpuException($"bias has {bias.Length} values for {batch.Count} models of {n} columns at stride {batch.BiasStride}");
        if (epilogue.Bias2 is { } bias2 && bias2.Length < (last * batch.Bias2Stride) + n)
            throw new InfoGpuException($"second bias has {bias2.Length} values for {batch.Count} models of {n} columns at stride {batch.Bias2Stride}");
        if (epilogue.Samples is { } s && s.Length < (last * batch.SamplesStride) + ((long)m * n))
            throw new InfoGpuException($"sample buffer has {s.Length} values for {batch.Count} models of {m}x{n} at stride {batch.SamplesStride}");
        if (epilogue.Samples is not null && batch.SamplesStride < (long)m * n && batch.Count > 1)
            throw new InfoGpuException($"the models' samples overlap: stride {batch.SamplesStride} is below the {m}x{n} result");
        if (batch.Seeds is { } seeds && seeds.Length < batch.Count)
            throw new InfoGpuException($"{seeds.Length} seeds for {batch.Count} models; give one seed per model");
        c.Buffer.Device.Backend.GemmBatched(layout, a.Buffer, a.Offset, b.Buffer, b.Offset, c.Buffer, c.Offset, m, n, ak, epilogue, batch);
    }

    /// <summary>(m, n, k) of C = op(A) op(B), or an error naming the three shapes when they do not fit together.</summary>
    private static (int M, int N, int K) CheckShape(GemmLayout layout, MatrixView a, MatrixView b, MatrixView c)
    {
        int m = c.Rows, n = c.Cols;
        int am = layout == GemmLayout.TN ? a.Cols : a.Rows;
        int ak = layout == GemmLayout.TN ? a.Rows : a.Cols;
        int bk = layout == GemmLayout.NT ? b.Cols : b.Rows;
        int bn = layout == GemmLayout.NT ? b.Rows : b.Cols;
        if (am != m || bn != n || ak != bk)
        {
            throw new InfoGpuException(
                $"cannot multiply ({layout}): op(A) is {am}x{ak}, op(B) is {bk}x{bn}, C is {m}x{n}; op(A) must be m x k, op(B) k x n and C m x n");
        }
        return (m, n, ak);
    }

    private static void CheckRange(MatrixView v, string name)
    {
        if (v.Offset < 0 || v.Offset + v.Length > v.Buffer.Length)
            throw new InfoGpuException($"{name}: a {v.Rows}x{v.Cols} matrix at offset {v.Offset} does not fit a buffer of {v.Buffer.Length} values");
    }
}
