using InfoGpu.Devices;
using InfoGpu.Kernels;

namespace InfoGpu.LinearAlgebra;

/// <summary>
/// What a GEMM does with each result: x = Alpha acc + Beta c_old + BiasScale bias[col] +
/// Bias2Scale bias2[col], then the activation; with <see cref="Samples"/>, also a Bernoulli
/// draw of x from Philox (Seed, Stream, SampleOffset + row n + col) into Samples.
/// </summary>
public readonly record struct GemmEpilogue
{
    public GemmEpilogue()
    {
    }

    public float Alpha { get; init; } = 1f;

    public float Beta { get; init; }

    public DeviceBuffer<float>? Bias { get; init; }

    public float BiasScale { get; init; } = 1f;

    public DeviceBuffer<float>? Bias2 { get; init; }

    public float Bias2Scale { get; init; } = 1f;

    public GemmActivation Activation { get; init; }

    public DeviceBuffer<float>? Samples { get; init; }

    public ulong Seed { get; init; }

    public ulong Stream { get; init; }

    public long SampleOffset { get; init; }

    public static GemmEpilogue None => new();
}
