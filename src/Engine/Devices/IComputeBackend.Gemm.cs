using InfoGpu.LinearAlgebra;

namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>C[cOffset..] (m x n) = epilogue(op(A[aOffset..]) op(B[bOffset..])) with inner dimension k, by the implementation <paramref name="route"/> asks for.</summary>
    void Gemm(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue, GemmRoute route);

    /// <summary>
    /// <paramref name="batch"/>.Count products of one shape in one launch: model z's operands, C,
    /// biases and samples moved by z times the batch's strides, its draws keyed by its seed. Each
    /// model's result has the bits of the same <see cref="Gemm"/> alone (hand-written route).
    /// </summary>
    void GemmBatched(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue, in GemmBatch batch);

    /// <summary>What runs a GEMM on this backend, in words (for <c>infogpu devices</c>).</summary>
    string GemmPath { get; }
}
