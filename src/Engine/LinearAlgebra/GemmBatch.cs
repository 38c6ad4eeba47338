using InfoGpu.Devices;

namespace InfoGpu.LinearAlgebra;

/// <summary>
/// How the models of <see cref="Gemm.MultiplyBatched"/> lie in their stacked buffers: model z's
/// A, B, C, biases and samples start z times these strides (in elements) after model 0's, and
/// its draws are keyed by <see cref="Seeds"/>[z]. A stride of 0 shares that operand.
/// </summary>
public readonly record struct GemmBatch
{
    /// <summary>Models, at least 1.</summary>
    public int Count { get; init; }

    /// <summary>Elements between the A of consecutive models (0: one A for all).</summary>
    public long AStride { get; init; }

    /// <summary>Elements between the B of consecutive models (0: one B for all).</summary>
    public long BStride { get; init; }

    /// <summary>Elements between the C of consecutive models (at least m x n when there are several).</summary>
    public long CStride { get; init; }

    /// <summary>Elements between the <see cref="GemmEpilogue.Bias"/> of consecutive models.</summary>
    public long BiasStride { get; init; }

    /// <summary>Elements between the <see cref="GemmEpilogue.Bias2"/> of consecutive models.</summary>
    public long Bias2Stride { get; init; }

    /// <summary>Elements between the <see cref="GemmEpilogue.Samples"/> of consecutive models (at least m x n when there are several).</summary>
    public long SamplesStride { get; init; }

    /// <summary>One Philox seed per model for the draws (null: the epilogue's <see cref="GemmEpilogue.Seed"/> for all).</summary>
    public DeviceBuffer<ulong>? Seeds { get; init; }
}
