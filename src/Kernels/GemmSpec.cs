using System.Runtime.CompilerServices;

namespace InfoGpu.Kernels;

/// <summary>
/// Which operands are transposed in C = op(A) op(B) (row-major storage): the kernels' codes.
/// The engine's public <c>InfoGpu.LinearAlgebra.GemmLayout</c> maps onto them.
/// </summary>
internal enum GemmLayoutCode
{
    /// <summary>C (m x n) = A (m x k) B (k x n).</summary>
    NN = 0,

    /// <summary>C (m x n) = A (m x k) B^T, B stored n x k.</summary>
    NT = 1,

    /// <summary>C (m x n) = A^T B, A stored k x m, B stored k x n.</summary>
    TN = 2,
}

/// <summary>
/// The activation applied by a GEMM epilogue: the kernels' codes. The engine's public
/// <c>InfoGpu.LinearAlgebra.GemmActivation</c> maps onto them.
/// </summary>
internal enum GemmActivationCode
{
    /// <summary>No activation: the result is the scaled sum itself.</summary>
    None = 0,

    /// <summary>ReLU, max(x, 0).</summary>
    Relu = 1,

    /// <summary>The logistic sigmoid 1 / (1 + exp(-x)).</summary>
    Sigmoid = 2,
}

/// <summary>
/// The scalar form of the fused GEMM epilogue, shared by every backend:
/// x = alpha acc + beta c_old + s1 bias1[col] + s2 bias2[col], then the activation; with
/// sampling, s = 1 if Philox uniform (seed, stream, offset + row n + col) &lt; x, else 0.
/// </summary>
internal static class GemmMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Activate(float x, int activation)
    {
        if (activation == (int)GemmActivationCode.Relu)
            return x > 0f ? x : 0f;
        if (activation == (int)GemmActivationCode.Sigmoid)
            return ScalarMath.Sigmoid(x);
        return x;
    }

    /// <summary>The Bernoulli draw of element (row, col) of an m x n result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sample(float p, ulong seed, ulong stream, long offset, int row, int col, int n) =>
        Philox.Uniform(seed, stream, (ulong)(offset + (long)row * n + col)) < p ? 1f : 0f;
}
