using InfoGpu.LinearAlgebra;

namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>C[cOffset..] (m x n) = epilogue(op(A[aOffset..]) op(B[bOffset..])) with inner dimension k.</summary>
    void Gemm(GemmLayout layout, DeviceBuffer<float> a, long aOffset, DeviceBuffer<float> b, long bOffset, DeviceBuffer<float> c, long cOffset, int m, int n, int k, in GemmEpilogue epilogue);
}
