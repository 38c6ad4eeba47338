using InfoGpu.Devices;

namespace InfoGpu.LinearAlgebra;

/// <summary>
/// What a GEMM does with each result: x = Alpha acc + Beta c_old + BiasScale bias[col] +
/// Bias2Scale bias2[col], then the activation; with <see cref="Samples"/>, also a Bernoulli
/// draw of x from Philox (Seed, Stream, SampleOffset + row n + col) into Samples.
/// </summary>
public readonly record struct GemmEpilogue
{
    /// <summary>The identity epilogue: Alpha 1, Beta 0, no biases (scales 1), no activation, no sampling.</summary>
    public GemmEpilogue()
    {
    }

    /// <summary>Scale of the accumulated product op(A) op(B) (default 1).</summary>
    public float Alpha { get; init; } = 1f;

    /// <summary>Scale of the old contents of C added to the result (default 0: C is overwritten and its old contents are not read).</summary>
    public float Beta { get; init; }

    /// <summary>
    /// A row vector added to every row of C: bias[col] for columns 0 .. n - 1, read from the start
    /// of the buffer (at least n values, n = columns of C); null for none.
    /// </summary>
    public DeviceBuffer<float>? Bias { get; init; }

    /// <summary>Multiplier of <see cref="Bias"/> (default 1; -1 subtracts it).</summary>
    public float BiasScale { get; init; } = 1f;

    /// <summary>A second row vector added like <see cref="Bias"/> (at least n values); null for none.</summary>
    public DeviceBuffer<float>? Bias2 { get; init; }

    /// <summary>Multiplier of <see cref="Bias2"/> (default 1).</summary>
    public float Bias2Scale { get; init; } = 1f;

    /// <summary>Applied last, after the scaled terms: none (default), ReLU max(x, 0) or the logistic sigmoid 1 / (1 + exp(-x)).</summary>
    public GemmActivation Activation { get; init; }

    /// <summary>
    /// When set, also writes a Bernoulli draw of each result x: 1 if the Philox uniform
    /// (<see cref="Seed"/>, <see cref="Stream"/>, <see cref="SampleOffset"/> + row n + col) is
    /// below x, else 0, into this buffer as an m x n row-major matrix from its first element (C
    /// still receives x). Meant for sigmoid outputs; needs at least m x n values. Null: no sampling.
    /// </summary>
    public DeviceBuffer<float>? Samples { get; init; }

    /// <summary>Philox key of the <see cref="Samples"/> draws.</summary>
    public ulong Seed { get; init; }

    /// <summary>Philox stream of the <see cref="Samples"/> draws; different streams give independent draws from one seed.</summary>
    public ulong Stream { get; init; }

    /// <summary>Philox counter of element (0, 0) of the <see cref="Samples"/> draws; advance it by m x n between calls for fresh draws.</summary>
    public long SampleOffset { get; init; }

    /// <summary>The identity epilogue: C = op(A) op(B).</summary>
    public static GemmEpilogue None => new();
}
