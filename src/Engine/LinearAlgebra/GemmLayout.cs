using InfoGpu.Kernels;

namespace InfoGpu.LinearAlgebra;

/// <summary>Which operands are transposed in C = op(A) op(B) (row-major storage).</summary>
public enum GemmLayout
{
    /// <summary>C (m x n) = A (m x k) B (k x n).</summary>
    NN = 0,

    /// <summary>C (m x n) = A (m x k) B^T, B stored n x k.</summary>
    NT = 1,

    /// <summary>C (m x n) = A^T B, A stored k x m, B stored k x n.</summary>
    TN = 2,
}

/// <summary>The activation applied by a GEMM epilogue.</summary>
public enum GemmActivation
{
    /// <summary>No activation: the result is the scaled sum itself.</summary>
    None = 0,

    /// <summary>ReLU, max(x, 0).</summary>
    Relu = 1,

    /// <summary>The logistic sigmoid 1 / (1 + exp(-x)).</summary>
    Sigmoid = 2,
}

/// <summary>Which implementation runs a GEMM (see <see cref="Gemm.Multiply(GemmLayout, MatrixView, MatrixView, MatrixView, in GemmEpilogue, GemmRoute)"/>).</summary>
public enum GemmRoute
{
    /// <summary>The device's best: cuBLAS plus the epilogue kernel on <c>cuda</c> when cuBLAS loads, else the device's own GEMM.</summary>
    Auto = 0,

    /// <summary>The hand-written GEMM even where cuBLAS is present (the register-blocked ILGPU kernel; the SIMD GEMM on <c>cpu</c>).</summary>
    HandWritten = 1,

    /// <summary>cuBLAS alone, without an epilogue kernel: only on <c>cuda</c> with cuBLAS, only for an epilogue of Alpha and Beta.</summary>
    Vendor = 2,
}

/// <summary>The kernels' codes of the public GEMM enums.</summary>
internal static class GemmCodes
{
    /// <summary>The kernels' code of <paramref name="layout"/>.</summary>
    public static GemmLayoutCode ToKernel(this GemmLayout layout) => layout switch
    {
        GemmLayout.NN => GemmLayoutCode.NN,
        GemmLayout.NT => GemmLayoutCode.NT,
        GemmLayout.TN => GemmLayoutCode.TN,
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "not a GEMM layout"),
    };

    /// <summary>The kernels' code of <paramref name="activation"/>.</summary>
    public static GemmActivationCode ToKernel(this GemmActivation activation) => activation switch
    {
        GemmActivation.None => GemmActivationCode.None,
        GemmActivation.Relu => GemmActivationCode.Relu,
        GemmActivation.Sigmoid => GemmActivationCode.Sigmoid,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "not a GEMM activation"),
    };
}
