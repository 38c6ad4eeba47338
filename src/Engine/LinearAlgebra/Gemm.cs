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

    private static void CheckRange(MatrixView v, string name)
    {
        if (v.Offset < 0 || v.Offset + v.Length > v.Buffer.Length)
            throw new InfoGpuException($"{name}: a {v.Rows}x{v.Cols} matrix at offset {v.Offset} does not fit a buffer of {v.Buffer.Length} values");
    }
}
